//! `sts serve` and `sts init`.

use super::AnyError;
use crate::config::Config;

pub(super) fn serve(cfg: Config) -> Result<(), AnyError> {
    crate::logging::init(&cfg.log)?;
    crate::identity::set_hash_concurrency(cfg.cpu_threads());
    let rt = tokio::runtime::Builder::new_multi_thread()
        // Blocking threads sign, hash, wait for durable commits and for plug-ins; waiting
        // must not idle the CPUs, so there are more of them than CPUs. Hashing has its own
        // bound (memory).
        .max_blocking_threads(cfg.cpu_threads() * 4)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        // Bind first: with the address taken, nothing is created and no password printed
        // (it would never be shown again).
        let listener = crate::http::bind(cfg.listen).await?;
        let boot = bootstrap(&cfg)?;
        print_bootstrap(&boot);
        let running = crate::app::builder::ServerBuilder::new(cfg)
            .start_on(listener)
            .await?;
        let state = running.state().clone();
        let shutdown = crate::app::builder::shutdown_signal();
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
        drop(state);
        running.serve(shutdown).await;
        tracing::info!("stopped");
        Ok::<(), AnyError>(())
    })
}

pub(super) fn bootstrap(cfg: &Config) -> Result<crate::datadir::Bootstrap, AnyError> {
    Ok(crate::datadir::bootstrap_with(
        &cfg.data_dir,
        std::env::var("STS_DEMO_PASSWORD").ok(),
        std::env::var("STS_ADMIN_PASSWORD").ok(),
        crate::clock::Clock::now(&crate::clock::SystemClock),
        // A shared store keeps the keys (made there at the first start).
        !crate::store::is_shared(&cfg.store_url()),
    )?)
}

pub(super) fn print_bootstrap(boot: &crate::datadir::Bootstrap) {
    if boot.created_keys {
        say!("created signing keys (RSA `sts-signing`, EC P-256 `sts-signing-ec`)");
    }
    if let Some(p) = &boot.admin_password {
        // Printed once, on purpose: the only way to learn a generated administrator password.
        say!(
            "created administrator `amadmin` with password: {}",
            p.expose()
        );
    }
    if let Some(p) = &boot.demo_password {
        // Printed once, on purpose: this is how the operator learns the generated password.
        say!("created user `demo` with password: {}", p.expose());
    }
    if boot.created_instance {
        say!("created SOAP STS instance `soap-username-transformer`");
    }
}
