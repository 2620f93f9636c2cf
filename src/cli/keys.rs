//! `sts keys`: list, rotate and import keys under `keys/`.

use std::path::PathBuf;

use clap::Subcommand;

use super::AnyError;
use crate::config::Config;

#[derive(Subcommand)]
pub(super) enum KeysCommand {
    /// List key pairs and certificates: alias, kind, role, certificate SHA-256 fingerprint.
    List,
    /// Replace a key pair with a new one of the same kind. Its old certificate is kept as
    /// `<alias>.previous.crt.pem`: tokens it signed still validate and its JWK stays
    /// published until the next rotation.
    Rotate { alias: String },
    /// Add a relying party's certificate (PEM) under ALIAS, to encrypt assertions to it
    /// (`saml2-encryption-key-alias`).
    Import { alias: String, certificate: PathBuf },
}

pub(super) fn keys(cfg: &Config, command: KeysCommand) -> Result<(), AnyError> {
    use crate::keyring::Keyring;
    match command {
        KeysCommand::List => {
            let ring = Keyring::load(&cfg.data_dir)?;
            let mut aliases: Vec<&String> = ring.certificates.keys().collect();
            aliases.sort();
            for (alias, cert) in aliases
                .into_iter()
                .filter_map(|a| ring.certificates.get(a).map(|c| (a, c)))
            {
                let role = match ring.signing.get(alias) {
                    Some(k) if k.previous().is_some() => "key pair (rotated)",
                    Some(_) => "key pair",
                    None => "certificate",
                };
                say!(
                    "{alias}\t{:?}\t{role}\t{}",
                    cert.kind(),
                    crate::crypto::fingerprint(cert.der())
                );
            }
        }
        KeysCommand::Rotate { alias } => {
            let kind = crate::keyring::rotate(
                &cfg.data_dir,
                &alias,
                crate::clock::Clock::now(&crate::clock::SystemClock),
            )?;
            say!(
                "rotated {alias} ({kind:?}); the previous certificate is keys/{alias}.previous.crt.pem"
            );
        }
        KeysCommand::Import { alias, certificate } => {
            let pem = std::fs::read(&certificate)
                .map_err(|e| format!("{}: {e}", certificate.display()))?;
            crate::keyring::import_certificate(&cfg.data_dir, &alias, &pem)?;
            say!("imported {alias} as keys/{alias}.crt.pem");
        }
    }
    Ok(())
}
