//! `sts check-config`: everything `sts serve` resolves before it binds a port, resolved the
//! same way and nothing changed: the configuration parses, the data directory can be read,
//! the plug-in and directory settings are valid, the master key loads, the store answers,
//! the keys load and the instance files resolve against them. It binds no port, creates no
//! file, runs no migration (a store not yet created or migrated is reported, not touched).
//! Beyond what start-up fails on, it also fails on an `audit_log` that cannot be written
//! (the server would start, then lose or refuse every audited action).

use std::sync::Arc;

use super::AnyError;
use crate::config::Config;

/// Runs every check in start-up order; the first failure is the error, worded as at start.
pub(super) fn check(cfg: &Config) -> Result<(), AnyError> {
    // A summary, not the whole: a store URL may hold a password.
    say!("listen: {}", cfg.listen);
    say!("data_dir: {}", cfg.data_dir.display());
    say!("public base URL: {}", cfg.base_url());
    if cfg.public_base_url.is_none() && cfg.listen.ip().is_unspecified() {
        say!(
            "warning: public_base_url is not set and the listener is {}: WSDLs, metadata and \
             issuer URLs will name that address; set public_base_url (STS_PUBLIC_BASE_URL)",
            cfg.listen.ip()
        );
    }
    say!("store: {}", crate::store::redact_url(&cfg.store_url()));

    match std::fs::read_dir(&cfg.data_dir) {
        Ok(_) => say!("data directory: readable"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            say!("data directory: created at the first start")
        }
        Err(e) => return Err(format!("data directory {}: {e}", cfg.data_dir.display()).into()),
    }
    let plugins = crate::app::build::http_plugins(cfg, crate::plugin::Plugins::new())?;
    crate::identity::ldap::Directories::from_config(&cfg.realms)
        .map_err(|e| format!("directory {e}"))?;
    if let (Some(cert), Some(key)) = (&cfg.tls_cert_file, &cfg.tls_key_file) {
        tls(cert, key)?;
        say!("TLS: the certificate and its key load");
    }
    if let Some(target) = &cfg.audit_log {
        say!("audit_log: {}", crate::audit::check_target(target)?);
    }
    let master = crate::datadir::store_keys::load_master_key(cfg.master_key_file.as_deref())?;
    let opts = crate::store::StoreOptions::from_config(cfg)?;
    let found = crate::store::check_reachable(&cfg.store_url(), &opts)?;
    say!("store: {found}");

    let shared = crate::store::is_shared(&cfg.store_url());
    let keys_dir = cfg.data_dir.join("keys");
    let keys = if shared {
        let Some(master) = master else {
            return Err(
                "a shared store keeps the signing keys, wrapped with a master key: \
                        set STS_MASTER_KEY_FILE"
                    .into(),
            );
        };
        shared_keys(cfg, &opts, master)?
    } else if keys_dir.exists() {
        let ring = crate::keyring::Keyring::load(&cfg.data_dir)?;
        say!("keys: {} signing key(s) load", ring.signing.len());
        Some(ring)
    } else {
        say!("keys: created at the first start");
        None
    };
    // The instance files resolve against the keys, as at start (in a scratch registry: the
    // store's own instances are the publish API's, checked when they were published).
    let files = crate::datadir::load_instance_files(&cfg.data_dir)?;
    if let Some(ring) = keys {
        let scratch =
            crate::store::open_with("sqlite://:memory:", &crate::store::StoreOptions::default())?;
        crate::app::build::publisher(
            cfg,
            &scratch,
            ring,
            Arc::new(crate::clock::SystemClock),
            Arc::new(plugins),
        )?;
        say!("instances: {} file(s) resolve", files.len());
    } else {
        say!("instances: {} file(s) parse", files.len());
    }
    say!("configuration ok");
    Ok(())
}

/// The certificate chain and private key of the built-in TLS, parsed as start-up parses them;
/// the error names the setting and its file.
fn tls(cert: &std::path::Path, key: &std::path::Path) -> Result<(), AnyError> {
    crate::http::tls::server_config(cert, key).map_err(|e| {
        let which = match &e {
            crate::http::tls::TlsError::File { path, .. } if path == &key.display().to_string() => {
                "tls_key_file"
            }
            crate::http::tls::TlsError::File { .. } => "tls_cert_file",
            _ => "tls_cert_file and tls_key_file",
        };
        format!("{which}: {e}")
    })?;
    Ok(())
}

/// The keys of a shared store, unwrapped with the master key as a node does at start. A
/// store the first start would still migrate, or one with no keys yet (the first start copies
/// `keys/` there, or creates them), is reported; `keys/` is then what is checked, if any.
fn shared_keys(
    cfg: &Config,
    opts: &crate::store::StoreOptions,
    master: Arc<crate::crypto::MasterKey>,
) -> Result<Option<crate::keyring::Keyring>, AnyError> {
    use crate::keyring::KeySource as _;
    let store = crate::store::open_current(&cfg.store_url(), opts)?;
    let rows = match &store {
        Some(s) => s.list_keys()?.len(),
        None => 0,
    };
    match store {
        Some(store) if rows > 0 => {
            let ring = crate::datadir::store_keys::StoreKeys::new(store, Some(master)).load()?;
            say!(
                "keys: {} signing key(s) in the shared store load with the master key",
                ring.signing.len()
            );
            Ok(Some(ring))
        }
        found => {
            let when = if found.is_some() {
                "the store holds no keys yet"
            } else {
                "the store's schema is migrated at the first start"
            };
            if cfg.data_dir.join("keys").exists() {
                let ring = crate::keyring::Keyring::load(&cfg.data_dir)?;
                say!(
                    "keys: {when}; {} signing key(s) of keys/ load (copied there at the first start)",
                    ring.signing.len()
                );
                Ok(Some(ring))
            } else {
                say!("keys: {when}; created there at the first start (the master key loads)");
                Ok(None)
            }
        }
    }
}
