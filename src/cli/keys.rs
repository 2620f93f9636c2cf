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
    /// Create or inspect the master key that wraps private keys in a shared (PostgreSQL)
    /// store; every node reads it from STS_MASTER_KEY_FILE.
    MasterKey {
        #[command(subcommand)]
        command: MasterKeyCommand,
    },
}

#[derive(Subcommand)]
pub(super) enum MasterKeyCommand {
    /// Write a new random master key to FILE (mode 0600; an existing file is never replaced).
    Generate { file: PathBuf },
    /// Print the key id of the master key in FILE (the id wrapped blobs name; not secret).
    Id { file: PathBuf },
}

fn master_key(command: MasterKeyCommand) -> Result<(), AnyError> {
    use crate::crypto::MasterKey;
    match command {
        MasterKeyCommand::Generate { file } => {
            use std::io::Write as _;
            use std::os::unix::fs::OpenOptionsExt as _;
            let key = MasterKey::generate()?;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&file)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            f.write_all(key.to_file_content().expose().as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(|e| format!("{}: {e}", file.display()))?;
            say!(
                "wrote master key {} to {}; give every node the same file (STS_MASTER_KEY_FILE) \
                 and keep a copy offline: without it the keys in the store cannot be read",
                key.id_hex(),
                file.display()
            );
        }
        MasterKeyCommand::Id { file } => {
            say!("{}", MasterKey::load(&file)?.id_hex());
        }
    }
    Ok(())
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
        KeysCommand::MasterKey { command } => return master_key(command),
        KeysCommand::Import { alias, certificate } => {
            let pem = std::fs::read(&certificate)
                .map_err(|e| format!("{}: {e}", certificate.display()))?;
            crate::keyring::import_certificate(&cfg.data_dir, &alias, &pem)?;
            say!("imported {alias} as keys/{alias}.crt.pem");
        }
    }
    Ok(())
}
