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
    /// Create, inspect or rotate the master key that wraps private keys and digest secrets in
    /// a shared (PostgreSQL) store; every node reads it from STS_MASTER_KEY_FILE.
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
    /// Print the key id of each master key in FILE (the ids wrapped blobs name; not secret):
    /// the current key's (first line) alone on the first line, then each previous key's as
    /// `<id> (previous)`.
    Id { file: PathBuf },
    /// Wrap every private key and user digest secret of the store that is not wrapped with
    /// the current master key (the first line of STS_MASTER_KEY_FILE) again under it. Rows
    /// already current are left alone: a second run rewraps nothing.
    Rewrap,
}

fn master_key(cfg: &Config, command: MasterKeyCommand) -> Result<(), AnyError> {
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
            let ids = MasterKey::load(&file)?.ids_hex();
            let (current, previous) = ids
                .split_first()
                .ok_or("the master key file holds no key")?;
            // The first line stays a bare id, as scripts read it.
            say!("{current}");
            for id in previous {
                say!("{id} (previous)");
            }
        }
        MasterKeyCommand::Rewrap => rewrap(cfg)?,
    }
    Ok(())
}

/// `sts keys master-key rewrap`: see [`MasterKeyCommand::Rewrap`]. Says first which key it
/// wraps with (a wrong file shows at once), then what it did; the audit event comes last,
/// with the counts of what was done, also when a store error stopped it halfway.
fn rewrap(cfg: &Config) -> Result<(), AnyError> {
    use crate::crypto::Rewrapped;
    let master = master(cfg)?;
    let ids = master.ids_hex();
    let previous = ids.get(1..).unwrap_or_default();
    say!(
        "wrapping with master key {} (the current key: the first line of {}); previous keys: {}",
        master.id_hex(),
        cfg.master_key_file
            .as_deref()
            .map_or_else(String::new, |p| p.display().to_string()),
        if previous.is_empty() {
            "none".to_owned()
        } else {
            previous.join(", ")
        }
    );
    let store = crate::store::open_config(cfg)?;
    let mut keys = Rewrapped::default();
    let mut users = Rewrapped::default();
    let done: Result<(), AnyError> =
        store_keys::rewrap_keys(store.as_ref(), &master, now(), &mut keys)
            .map_err(AnyError::from)
            .and_then(|()| {
                crate::identity::stored::rewrap_digest_secrets(store.as_ref(), &master, &mut users)
                    .map_err(AnyError::from)
            });
    say!(
        "private keys: {} rewrapped, {} already current",
        keys.rewrapped,
        keys.current
    );
    say!(
        "user digest secrets: {} rewrapped, {} already current",
        users.rewrapped,
        users.current
    );
    let failed: Vec<&String> = keys.failed.iter().chain(users.failed.iter()).collect();
    for f in &failed {
        eprintln!("sts: not rewrapped (left as it was): {f}");
    }
    let count = |n: usize| n.to_string();
    super::audited::record(
        cfg,
        "master_key.rewrapped",
        &[
            ("master_key_id", &master.id_hex()),
            ("keys_rewrapped", &count(keys.rewrapped)),
            ("keys_current", &count(keys.current)),
            ("users_rewrapped", &count(users.rewrapped)),
            ("users_current", &count(users.current)),
            ("failed", &count(failed.len())),
            ("completed", if done.is_ok() { "true" } else { "false" }),
        ],
    )?;
    if let Err(e) = done {
        return Err(format!(
            "the store failed during the rewrap (the counts above are what was done; rows \
             not reached are as they were): {e}; run it again"
        )
        .into());
    }
    if failed.is_empty() {
        say!(
            "everything is wrapped with master key {}; previous keys can leave every node's \
             master key file",
            master.id_hex()
        );
        return Ok(());
    }
    Err(format!(
        "{} row(s) could not be rewrapped (listed above, each left as it was); the master key \
         file ({}) holds {}: add the key a row names to it (after the first line), then run \
         this again (a row that kept changing needs only the second run)",
        failed.len(),
        cfg.master_key_file
            .as_deref()
            .map_or_else(String::new, |p| p.display().to_string()),
        ids.join(", ")
    )
    .into())
}

pub(super) fn keys(cfg: &Config, command: KeysCommand) -> Result<(), AnyError> {
    if let KeysCommand::MasterKey { command } = command {
        return master_key(cfg, command);
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
        KeysCommand::MasterKey { command } => return master_key(cfg, command),
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
        KeysCommand::MasterKey { command } => return master_key(cfg, command),
    }
    Ok(())
}
