//! `sts serve` and `sts init`.

use super::AnyError;
use crate::config::Config;

/// Reads the configuration again (SIGHUP).
pub(super) type Reload = Box<dyn Fn() -> Result<Config, AnyError> + Send + Sync>;

pub(super) fn serve(cfg: Config, reload: Reload) -> Result<(), AnyError> {
    crate::logging::init(&cfg.log, cfg.log_format)?;
    crate::identity::set_hash_concurrency(cfg.cpu_threads());
    let rt = tokio::runtime::Builder::new_multi_thread()
        // Blocking threads sign, hash, wait for durable commits and for plug-ins; waiting
        // must not idle the CPUs, so there are more of them than CPUs. Hashing has its own
        // bound (memory).
        .max_blocking_threads(cfg.cpu_threads() * 4)
        .enable_all()
        .build()?;
    // SIGHUP's default action ends the process: the handler is installed before anything
    // else, and a SIGHUP that comes while the server starts is acted on once it is up.
    let hup = {
        let _in = rt.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
    };
    rt.block_on(async move {
        // Bind first: with the address taken, nothing is created and no password printed
        // (it would never be shown again).
        let listener = crate::http::bind(cfg.listen).await?;
        let boot = bootstrap(&cfg)?;
        print_bootstrap(&boot, secrets_channel(&cfg));
        let running_cfg = cfg.clone();
        let running = crate::app::builder::ServerBuilder::new(cfg)
            .start_on(listener)
            .await?;
        let state = running.state().clone();
        let shutdown = crate::app::builder::shutdown_signal();
        let wildcard =
            running_cfg.public_base_url.is_none() && running_cfg.listen.ip().is_unspecified();
        if let Some(master) = &state.console.keys.master {
            note_master_key_ids(master, "master key ids at start");
        }
        on_hangup(running_cfg, reload, state.clone(), hup);
        if wildcard {
            tracing::warn!(
                base_url = %running.base_url(),
                "public_base_url is not set and the listener is a wildcard address: WSDLs, \
                 metadata and issuer URLs name it; set public_base_url (STS_PUBLIC_BASE_URL)"
            );
        }
        // Before "listening on", which scripts wait for.
        if let Some(at) = running.metrics_addr() {
            say!("metrics and health on http://{at}");
        }
        say!(
            "sts {} listening on {}",
            env!("CARGO_PKG_VERSION"),
            running.base_url()
        );
        // Store reads block: off the runtime's threads.
        let st = state.clone();
        let (soap, rest) = tokio::task::spawn_blocking(move || {
            Ok::<_, crate::instance::registry::PublishError>((
                st.publisher.list(crate::instance::Kind::Soap)?,
                st.publisher.list(crate::instance::Kind::Rest)?,
            ))
        })
        .await??;
        for p in soap {
            say!("SOAP STS instance: {}/sts/{}", state.base_url, p.id);
            say!("  WSDL: {}/sts/{}?wsdl", state.base_url, p.id);
        }
        for p in rest {
            say!("REST STS instance: {}/rest-sts/{}", state.base_url, p.id);
        }
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        let audit = state.engine.audit_trail().clone();
        drop(state);
        running.serve(shutdown).await;
        // Events of the last requests may still be queued: written before the process exits.
        let flushed =
            tokio::task::spawn_blocking(move || audit.flush(std::time::Duration::from_secs(5)))
                .await
                .unwrap_or(false);
        if !flushed {
            tracing::error!("audit events still queued at exit were not all written");
        }
        tracing::info!("stopped");
        Ok::<(), AnyError>(())
    })
}

/// On SIGHUP: the `log` filter is read again and applied, the audit file reopened (after
/// logrotate moved it), and the master key file read again ([`reload_master_key`]). Every
/// other setting needs a restart: a change to one is logged.
fn on_hangup(
    running: Config,
    reload: Reload,
    state: std::sync::Arc<crate::app::AppState>,
    hup: std::io::Result<tokio::signal::unix::Signal>,
) {
    let audit = state.engine.audit_trail().clone();
    let mut hup = match hup {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot handle SIGHUP; reloading needs a restart");
            return;
        }
    };
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            match reload() {
                Err(e) => {
                    tracing::error!(error = %e, "SIGHUP: the configuration cannot be read; nothing changed");
                }
                Ok(new) => {
                    match crate::logging::set_filter(&new.log) {
                        Ok(()) => tracing::info!(log = %new.log, "SIGHUP: log filter applied"),
                        Err(e) => {
                            tracing::error!(error = %e, "SIGHUP: the log filter is invalid; kept the old one")
                        }
                    }
                    let mut same = new.clone();
                    same.log.clone_from(&running.log);
                    if format!("{same:?}") != format!("{running:?}") {
                        tracing::warn!(
                            "SIGHUP: settings other than `log` changed; they apply at the next restart"
                        );
                    }
                }
            }
            audit.reopen();
            if let Some(path) = running.master_key_file.clone() {
                let st = state.clone();
                if let Err(e) =
                    tokio::task::spawn_blocking(move || reload_master_key(&st, &path)).await
                {
                    tracing::error!(error = %e, "SIGHUP: reading the master key file failed");
                }
            }
        }
    });
}

/// Reads the master key file (the path the node started with) again and puts its keys in
/// place of the ones in use, if they differ: the new current key wraps what this node writes
/// from then on, and previous keys still unwrap. A file that does not load, or whose keys do
/// not open every private key in the store (as a start requires), changes nothing and is
/// logged. A node started without a master key needs a restart to get one.
fn reload_master_key(state: &crate::app::AppState, path: &std::path::Path) {
    let admin = &state.console.keys;
    let Some(master) = &admin.master else {
        return;
    };
    match crate::datadir::store_keys::reload_master_key(master, path, admin.store.as_ref()) {
        Ok(false) => note_master_key_ids(master, "SIGHUP: master key file read again, unchanged"),
        Ok(true) => {
            note_master_key_ids(master, "SIGHUP: master key file read again, new keys taken");
            // Keys a rotation wrapped with a key this node lacked until now load at once.
            if let Err(e) = state.publisher.reload_keys() {
                tracing::warn!(error = %e, "reloading keys after the master key change failed");
            }
        }
        Err(e) => {
            let (current, previous) = split_ids(master);
            tracing::error!(
                error = %e,
                current = %current,
                previous = %previous.join(","),
                "SIGHUP: the master key file was not taken; the master keys in use stay"
            );
        }
    }
}

fn split_ids(master: &crate::crypto::MasterKey) -> (String, Vec<String>) {
    let mut ids = master.ids_hex().into_iter();
    (ids.next().unwrap_or_default(), ids.collect())
}

/// Logs the master key ids this node wraps (current) and unwraps (previous) with, and shows
/// them as `sts_master_key_info`: an operator checks every node holds a new key before
/// `sts keys master-key rewrap`. Ids only, never key material.
fn note_master_key_ids(master: &crate::crypto::MasterKey, message: &'static str) {
    let (current, previous) = split_ids(master);
    crate::metrics::set_master_key_ids(&current, &previous);
    tracing::info!(current = %current, previous = %previous.join(","), "{message}");
}

/// Creates what the data directory lacks, and records what was created on the audit trail
/// (users and keys; the actor is the local operator, see `audited`).
pub(super) fn bootstrap(cfg: &Config) -> Result<crate::datadir::Bootstrap, AnyError> {
    let boot = bootstrap_only(cfg)?;
    if let Err(e) = record_bootstrap(cfg, &boot) {
        // The users exist now: a failed trail (audit_required) must not lose the only copy
        // of their generated passwords, so they are printed before the error ends the start.
        print_bootstrap(&boot, secrets_channel(cfg));
        return Err(e);
    }
    Ok(boot)
}

fn record_bootstrap(cfg: &Config, boot: &crate::datadir::Bootstrap) -> Result<(), AnyError> {
    for user in &boot.created_users {
        let admin = if *user == "amadmin" { "true" } else { "false" };
        super::audited::record(
            cfg,
            "user.created",
            &[
                ("realm", "/"),
                ("user", user),
                ("admin", admin),
                ("via", "bootstrap"),
            ],
        )?;
    }
    if boot.created_keys {
        for alias in ["sts-signing", "sts-signing-ec"] {
            super::audited::record(
                cfg,
                "key.created",
                &[("alias", alias), ("where", "keys/"), ("via", "bootstrap")],
            )?;
        }
    }
    Ok(())
}

fn bootstrap_only(cfg: &Config) -> Result<crate::datadir::Bootstrap, AnyError> {
    Ok(crate::datadir::bootstrap_with(
        &cfg.data_dir,
        std::env::var("STS_DEMO_PASSWORD").ok(),
        std::env::var("STS_ADMIN_PASSWORD").ok(),
        crate::clock::Clock::now(&crate::clock::SystemClock),
        // A shared store keeps the keys (made there at the first start).
        !crate::store::is_shared(&cfg.store_url()),
    )?)
}

/// Where generated passwords are printed: the operator's terminal. That is stdout, unless
/// the audit trail is written there (`audit_log = "stdout"`): then stderr, so that no
/// password ever enters the audit stream a collector keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SecretsTo {
    Stdout,
    Stderr,
}

pub(super) fn secrets_channel(cfg: &Config) -> SecretsTo {
    if cfg.audit_log.as_deref() == Some("stdout") {
        SecretsTo::Stderr
    } else {
        SecretsTo::Stdout
    }
}

pub(super) fn print_bootstrap(boot: &crate::datadir::Bootstrap, secrets: SecretsTo) {
    let secret_line = |line: String| match secrets {
        SecretsTo::Stdout => say!("{line}"),
        SecretsTo::Stderr => eprintln!("{line}"),
    };
    if boot.created_keys {
        say!("created signing keys (RSA `sts-signing`, EC P-256 `sts-signing-ec`)");
    }
    if let Some(p) = &boot.admin_password {
        // Printed once, on purpose: the only way to learn a generated administrator password.
        secret_line(format!(
            "created administrator `amadmin` with password: {}",
            p.expose()
        ));
    }
    if let Some(p) = &boot.demo_password {
        // Printed once, on purpose: this is how the operator learns the generated password.
        secret_line(format!("created user `demo` with password: {}", p.expose()));
    }
    if boot.created_instance {
        say!("created SOAP STS instance `soap-username-transformer`");
    }
}
