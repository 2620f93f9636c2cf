//! `sts keys`: list, create, rotate and import keys: under `keys/` on a single SQLite node,
//! in the store (private keys wrapped with the master key) when it is shared or already
//! holds keys (see `datadir::store_keys`).

use std::path::PathBuf;

use clap::Subcommand;

use super::AnyError;
use crate::config::Config;
use crate::crypto::KeyKind;
use crate::datadir::store_keys;

#[derive(Subcommand)]
pub(super) enum KeysCommand {
    /// List key pairs and certificates: alias, kind, role, certificate SHA-256 fingerprint.
    List,
    /// Create a new key pair (a self-signed certificate) under a free ALIAS.
    Create {
        alias: String,
        /// rsa (2048 bits) or ec (P-256).
        #[arg(long, default_value = "rsa", value_parser = parse_kind)]
        kind: KeyKind,
    },
    /// Replace a key pair with a new one of the same kind. Its old certificate is kept as the
    /// previous one (`<alias>.previous.crt.pem`, or in the store): tokens it signed still
    /// validate and its JWK stays published until the next rotation.
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

fn parse_kind(s: &str) -> Result<KeyKind, String> {
    match s.to_ascii_lowercase().as_str() {
        "rsa" => Ok(KeyKind::Rsa),
        "ec" => Ok(KeyKind::Ec),
        _ => Err(format!("`{s}`: expected rsa or ec")),
    }
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
    if let KeysCommand::MasterKey { command } = command {
        return master_key(command);
    }
    let url = cfg.store_url();
    let store = crate::store::open_config(cfg)?;
    if store_keys::keys_in_store(store.as_ref(), crate::store::is_shared(&url))? {
        return in_store(cfg, store.as_ref(), command);
    }
    in_files(cfg, command)
}

fn now() -> chrono::DateTime<chrono::Utc> {
    crate::clock::Clock::now(&crate::clock::SystemClock)
}

fn master(cfg: &Config) -> Result<std::sync::Arc<crate::crypto::MasterKey>, AnyError> {
    store_keys::load_master_key(cfg.master_key_file.as_deref())?.ok_or_else(|| {
        "the store keeps private keys wrapped with the master key: set STS_MASTER_KEY_FILE \
         (or master_key_file) to the file every node shares"
            .into()
    })
}

fn in_store(
    cfg: &Config,
    store: &dyn crate::store::Store,
    command: KeysCommand,
) -> Result<(), AnyError> {
    match command {
        KeysCommand::List => {
            for r in store.list_keys()? {
                let cert = crate::crypto::Certificate::from_pem(&r.alias, &r.cert_pem)?;
                let role = match (&r.wrapped_key, &r.previous_cert_pem) {
                    (Some(_), Some(_)) => "key pair (rotated)",
                    (Some(_), None) => "key pair",
                    (None, _) => "certificate",
                };
                say!(
                    "{}\t{:?}\t{role}\t{}",
                    r.alias,
                    cert.kind(),
                    crate::crypto::fingerprint(cert.der())
                );
            }
        }
        KeysCommand::Create { alias, kind } => {
            if !store_keys::create_pair(store, &*master(cfg)?, &alias, kind, now())? {
                return Err(format!("the alias `{alias}` is taken").into());
            }
            super::audited::record(cfg, "key.created", &[("alias", &alias), ("where", "store")])?;
            say!("created {alias} ({kind:?}) in the store");
        }
        KeysCommand::Rotate { alias } => {
            let kind = store_keys::rotate(store, &*master(cfg)?, &alias, now())?;
            super::audited::record(cfg, "key.rotated", &[("alias", &alias), ("where", "store")])?;
            say!(
                "rotated {alias} ({kind:?}) in the store; every node uses it within its poll \
                 interval, and the previous certificate still validates"
            );
        }
        KeysCommand::Import { alias, certificate } => {
            let pem = std::fs::read(&certificate)
                .map_err(|e| format!("{}: {e}", certificate.display()))?;
            store_keys::import_certificate(store, &alias, &pem, now())?;
            super::audited::record(
                cfg,
                "key.imported",
                &[("alias", &alias), ("where", "store")],
            )?;
            say!("imported {alias} into the store");
        }
        KeysCommand::MasterKey { command } => return master_key(command),
    }
    Ok(())
}

fn in_files(cfg: &Config, command: KeysCommand) -> Result<(), AnyError> {
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
        KeysCommand::Create { alias, kind } => {
            crate::keyring::check_alias(&alias)?;
            if cfg
                .data_dir
                .join("keys")
                .join(format!("{alias}.crt.pem"))
                .exists()
            {
                return Err(format!("the alias `{alias}` is taken").into());
            }
            crate::keyring::create_pair(&cfg.data_dir, &alias, kind, now())?;
            super::audited::record(cfg, "key.created", &[("alias", &alias), ("where", "keys/")])?;
            say!("created {alias} ({kind:?}) as keys/{alias}.key.pem and keys/{alias}.crt.pem");
        }
        KeysCommand::Rotate { alias } => {
            let kind = crate::keyring::rotate(&cfg.data_dir, &alias, now())?;
            super::audited::record(cfg, "key.rotated", &[("alias", &alias), ("where", "keys/")])?;
            say!(
                "rotated {alias} ({kind:?}); the previous certificate is keys/{alias}.previous.crt.pem"
            );
        }
        KeysCommand::Import { alias, certificate } => {
            let pem = std::fs::read(&certificate)
                .map_err(|e| format!("{}: {e}", certificate.display()))?;
            crate::keyring::import_certificate(&cfg.data_dir, &alias, &pem)?;
            super::audited::record(
                cfg,
                "key.imported",
                &[("alias", &alias), ("where", "keys/")],
            )?;
            say!("imported {alias} as keys/{alias}.crt.pem");
        }
        KeysCommand::MasterKey { command } => return master_key(command),
    }
    Ok(())
}
