//! `sts check-config`: everything `sts serve` resolves before it binds a port, resolved the
//! same way and nothing changed: the configuration parses, the data directory can be read,
//! the plug-in and directory settings are valid, the master key loads, the store answers,
//! the keys load and the instance files resolve against them. It binds no port, creates no
//! file, runs no migration (a store not yet created or migrated is reported, not touched).

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
    if let Some(cert) = &cfg.tls_cert_file {
        std::fs::read(cert).map_err(|e| format!("tls_cert_file {}: {e}", cert.display()))?;
    }
    if let Some(key) = &cfg.tls_key_file {
        std::fs::read(key).map_err(|e| format!("tls_key_file {}: {e}", key.display()))?;
    }
    let master = crate::datadir::store_keys::load_master_key(cfg.master_key_file.as_deref())?;
    let opts = crate::store::StoreOptions::from_config(cfg)?;
    let found = crate::store::check_reachable(&cfg.store_url(), &opts)?;
    say!("store: {found}");

    let shared = crate::store::is_shared(&cfg.store_url());
    let keys_dir = cfg.data_dir.join("keys");
    let keys = if shared {
        if master.is_none() {
            return Err(
                "a shared store keeps the signing keys, wrapped with a master key: \
                        set STS_MASTER_KEY_FILE"
                    .into(),
            );
        }
        say!("keys: in the shared store (the master key loads)");
        None
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
