//! Builds the server state from the configuration: keys, users, store, sessions, lockout,
//! instances, plug-ins and OAuth clients.

use std::sync::Arc;

use crate::frontends::Context;
use crate::http::{Admission, Transport};
use crate::{
    clock, config, datadir, engine, identity, instance, keyring, oauth, plugin, store, xml,
};

use super::AppState;

/// Start-up failures.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    DataDir(#[from] datadir::DataDirError),
    #[error(transparent)]
    Identity(#[from] identity::IdentityError),
    #[error("instance {path}: {message}")]
    Instance { path: String, message: String },
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("custom token plug-in {0}")]
    Plugin(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Listen(#[from] crate::http::ListenError),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("directory {0}")]
    Directory(String),
}

/// Loads keys, users and instances from the data directory into the server state.
#[cfg(any(test, feature = "test-util"))]
pub fn build_state(
    cfg: &config::Config,
    clock: Arc<dyn clock::Clock>,
) -> Result<AppState, StartError> {
    build_state_with(cfg, clock, plugin::Plugins::new())
}

/// The HTTP plug-ins of `cfg`, added to `plugins`.
pub fn http_plugins(
    cfg: &config::Config,
    mut plugins: plugin::Plugins,
) -> Result<plugin::Plugins, StartError> {
    for (providers, table) in [(false, &cfg.http_validators), (true, &cfg.http_providers)] {
        let section = if providers {
            "http_providers"
        } else {
            "http_validators"
        };
        for (name, pc) in table {
            let (p, limits) = plugin::http::HttpPlugin::new(name, pc)
                .map_err(|e| StartError::Plugin(format!("[{section}.{name}]: {e}")))?;
            let p = Arc::new(p);
            let added = if providers {
                plugins.add_provider(name, p, limits)
            } else {
                plugins.add_validator(name, p, limits)
            };
            added.map_err(|e| StartError::Plugin(format!("[{section}.{name}]: {e}")))?;
        }
    }
    Ok(plugins)
}

/// [`build_state`] with custom token plug-ins registered in Rust; the HTTP plug-ins of
/// `cfg` are added to them.
pub fn build_state_with(
    cfg: &config::Config,
    clock: Arc<dyn clock::Clock>,
    plugins: plugin::Plugins,
) -> Result<AppState, StartError> {
    let plugins = Arc::new(http_plugins(cfg, plugins)?);
    crate::metrics::set_enabled(cfg.metrics);
    let freshness = engine::Freshness {
        max_skew: chrono::Duration::seconds(i64::try_from(cfg.clock_skew_secs).unwrap_or(300)),
        window: chrono::Duration::seconds(i64::try_from(cfg.nonce_window_secs).unwrap_or(300)),
    };
    let base_url = cfg.base_url();
    let secs = |s: u64| chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1_000_000));
    let store_url = cfg.store_url();
    let shared = store::is_shared(&store_url);
    let store = store::open_config(cfg)?;
    let master_key = datadir::store_keys::load_master_key(cfg.master_key_file.as_deref())?;
    let started = clock.now();
    // Read per sign-in from the store when shared: a user disabled on one node is disabled on
    // all at once.
    let users = Arc::new(identity::stored::open_users(
        &cfg.data_dir.join("users.json"),
        store.clone(),
        shared,
        master_key.clone(),
    )?);
    // From keys/ or, in a cluster, the store; stamped before reading, so that a change made
    // while the keys load is picked up.
    let keys = datadir::store_keys::open_key_source(
        &cfg.data_dir,
        store.clone(),
        shared,
        master_key.clone(),
        clock.now(),
    )?;
    // A node without the key a user's digest secret names would serve that user without
    // PasswordDigest: refused, as a node that cannot open the signing keys is.
    if let (true, Some(m)) = (shared, master_key.as_deref()) {
        datadir::store_keys::check_digest_secrets(store.as_ref(), m)?;
    }
    let publisher = publisher(cfg, &store, keys.keys, clock.clone(), plugins)?
        .watch_keys(keys.source, keys.stamp);
    let clients_store: Arc<dyn store::ClientStore> = store.clone();
    let changes: Arc<dyn store::ChangeStore> = store.clone();
    let counts: Arc<dyn store::CountStore> = store.clone();
    let clock_ms = clock.clone();
    let sessions = identity::sessions::Sessions::new(
        store.clone(),
        clock.clone(),
        identity::sessions::SessionPolicy {
            idle: secs(cfg.session_idle_secs),
            max: secs(cfg.session_max_secs),
        },
    );
    let lockout = identity::throttle::LockoutPolicy {
        threshold: cfg.lockout_threshold,
        source_threshold: cfg.lockout_source_threshold,
        window: secs(cfg.lockout_window_secs),
        lockout: secs(cfg.lockout_duration_secs),
        max_entries: cfg.lockout_max_entries,
    };
    // Nodes sharing a store count failures together: guesses spread over them still lock.
    let throttle = if shared {
        identity::throttle::Throttle::in_store(lockout, store.clone())
    } else {
        identity::throttle::Throttle::new(lockout)
    };
    let replay: Arc<dyn store::replay::ReplayStore> = store.clone();
    let console_keys = crate::frontends::console::KeyAdmin {
        data_dir: cfg.data_dir.clone(),
        store: store.clone(),
        shared,
        master: master_key,
    };
    // Connects at first use: a directory down at start leaves its realm answering 503.
    let directories =
        identity::ldap::Directories::from_config(&cfg.realms).map_err(StartError::Directory)?;
    directories.check_in_background();
    let audit = match &cfg.audit_log {
        Some(target) => crate::audit::Audit::open(target, cfg.audit_required, clock.clone()),
        None => crate::audit::Audit::off(),
    };
    let mut engine =
        engine::Engine::new(clock, users.clone(), freshness, sessions, throttle, store)
            .with_audit(audit)
            .with_directories(directories)
            .over_tls(base_url.starts_with("https://"));
    if shared {
        // A value accepted on one node must be a replay on every other.
        engine = engine.with_replay_cache(Box::new(engine::StoreReplayCache::new(replay)));
    }
    let ctx = Context {
        engine,
        users,
        cookie_name: cfg.session_cookie_name.clone(),
        publisher,
        rest_sts_caller: cfg.rest_sts_caller,
        trusted_proxies: cfg.trusted_proxies.clone(),
        secure_transport: base_url.starts_with("https://"),
        base_url,
        limits: xml::Limits {
            max_depth: cfg.max_xml_depth,
            ..xml::Limits::default()
        },
        max_body_bytes: cfg.max_body_bytes,
        max_batch: cfg.max_batch_requests,
        adfs: cfg.adfs.clone(),
        clients: oauth::Clients::new(
            clients_store,
            Box::new(move || clock_ms.now().timestamp_millis()),
        ),
    };
    let ctx = Arc::new(ctx);
    let console = Arc::new(crate::frontends::console::Console {
        ctx: ctx.clone(),
        keys: console_keys,
        started,
        rates: crate::frontends::console::Rates::new(started),
        store_backend: if store_url.starts_with("postgres") {
            "postgres"
        } else {
            "sqlite"
        },
    });
    Ok(AppState {
        ctx,
        console,
        admission: Admission {
            in_flight: Arc::new(tokio::sync::Semaphore::new(cfg.max_in_flight)),
            max_body_bytes: cfg.max_body_bytes,
            body_read_timeout: std::time::Duration::from_secs(cfg.body_read_timeout_secs),
            trusted_proxies: cfg.trusted_proxies.clone(),
            cpu: Arc::new(tokio::sync::Semaphore::new(cfg.handler_threads())),
        },
        transport: Transport {
            max_connections: cfg.max_connections,
            header_read_timeout: std::time::Duration::from_secs(cfg.header_read_timeout_secs),
            body_read_timeout: std::time::Duration::from_secs(cfg.body_read_timeout_secs),
        },
        changes,
        counts,
        metrics_on_main: cfg.metrics && cfg.metrics_listen.is_none(),
    })
}

/// The instance registry over `store`, with the data directory's instance files.
pub fn publisher(
    cfg: &config::Config,
    store: &Arc<dyn store::Store>,
    keys: keyring::Keyring,
    clock: Arc<dyn clock::Clock>,
    plugins: Arc<plugin::Plugins>,
) -> Result<instance::registry::Publisher, StartError> {
    let files = datadir::load_instance_files(&cfg.data_dir)?;
    let instances: Arc<dyn store::InstanceStore> = store.clone();
    instance::registry::Publisher::new(
        instances,
        keys,
        instance::DefaultKeys {
            rsa: datadir::DEFAULT_KEY.into(),
            ec: datadir::DEFAULT_EC_KEY.into(),
        },
        plugins,
        instance::resolve::files::InstanceFiles::in_data_dir(&cfg.data_dir),
        files,
        Box::new(move || clock.now().timestamp_millis()),
    )
    .map_err(|(path, message)| StartError::Instance {
        path: path.display().to_string(),
        message,
    })
}
