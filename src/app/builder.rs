//! `sts` as a library: the server of the `sts serve` command, with custom token plug-ins
//! registered in Rust. See `examples/custom_token.rs`.

use std::net::SocketAddr;
use std::sync::Arc;

use super::AppState;
use super::build::StartError;
use crate::clock::Clock;
use crate::config::Config;
use crate::plugin::{Limits, Plugins, TokenProvider, TokenValidator};

/// Builds a server: configuration, clock and plug-ins.
pub struct ServerBuilder {
    config: Config,
    clock: Arc<dyn Clock>,
    plugins: Plugins,
    problems: Vec<String>,
}

impl ServerBuilder {
    /// A server as `config` describes it (see [`Config::load`]), on the system clock.
    pub fn new(config: Config) -> ServerBuilder {
        ServerBuilder {
            config,
            clock: Arc::new(crate::clock::SystemClock),
            plugins: Plugins::new(),
            problems: Vec::new(),
        }
    }

    /// Replaces the clock (tests pin time with it).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> ServerBuilder {
        self.clock = clock;
        self
    }

    /// Registers a validator under `name`, the `customOperationClassName` instances give
    /// it, with the default [`Limits`].
    pub fn validator(self, name: &str, validator: impl TokenValidator) -> ServerBuilder {
        self.validator_with_limits(name, validator, Limits::default())
    }

    pub fn validator_with_limits(
        mut self,
        name: &str,
        validator: impl TokenValidator,
        limits: Limits,
    ) -> ServerBuilder {
        if let Err(e) = self
            .plugins
            .add_validator(name, Arc::new(validator), limits)
        {
            self.problems.push(e.to_string());
        }
        self
    }

    /// Registers a provider under `name`, with the default [`Limits`].
    pub fn provider(self, name: &str, provider: impl TokenProvider) -> ServerBuilder {
        self.provider_with_limits(name, provider, Limits::default())
    }

    pub fn provider_with_limits(
        mut self,
        name: &str,
        provider: impl TokenProvider,
        limits: Limits,
    ) -> ServerBuilder {
        if let Err(e) = self.plugins.add_provider(name, Arc::new(provider), limits) {
            self.problems.push(e.to_string());
        }
        self
    }

    /// The server state, without listening (for embedding the routes elsewhere).
    pub fn build_state(self) -> Result<AppState, StartError> {
        if !self.problems.is_empty() {
            return Err(StartError::Plugin(self.problems.join("; ")));
        }
        super::build::build_state_with(&self.config, self.clock, self.plugins)
    }

    /// Binds `listen`, loads the data directory and starts the background tasks (expiry,
    /// instance polling). Call [`Running::serve`] to answer requests. Needs a Tokio runtime.
    pub async fn start(self) -> Result<Running, StartError> {
        let listener = crate::http::bind(self.config.listen).await?;
        self.start_on(listener).await
    }

    /// [`ServerBuilder::start`] on a listener bound already (from `http::bind`):
    /// `sts serve` binds before the first start creates users and prints their passwords.
    pub async fn start_on(
        mut self,
        listener: tokio::net::TcpListener,
    ) -> Result<Running, StartError> {
        self.config.listen = listener.local_addr()?;
        let tls = match (&self.config.tls_cert_file, &self.config.tls_key_file) {
            (Some(cert), Some(key)) => Some(
                crate::http::tls::server_config(cert, key)
                    .map_err(|e| StartError::Tls(e.to_string()))?,
            ),
            _ => None,
        };
        let reap = std::time::Duration::from_secs(self.config.reap_interval_secs);
        let poll = std::time::Duration::from_millis(self.config.instance_poll_millis);
        let addr = self.config.listen;
        let metrics_listener = match self.config.metrics_listen.filter(|_| self.config.metrics) {
            Some(at) => Some(crate::http::bind(at).await?),
            None => None,
        };
        // Off the async workers: a store's blocking client (PostgreSQL's) may not run there.
        let state = Arc::new(
            tokio::task::spawn_blocking(move || self.build_state())
                .await
                .map_err(|e| StartError::Io(std::io::Error::other(e.to_string())))??,
        );
        super::tasks::spawn_reaper(state.clone(), reap);
        super::tasks::spawn_watcher(state.clone(), poll);
        Ok(Running {
            state,
            listener,
            tls,
            addr,
            metrics_listener,
        })
    }

    /// Runs the server on a runtime of its own until SIGINT or SIGTERM, as `sts serve`.
    pub fn run(self) -> Result<(), StartError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            // Blocking threads sign, hash, wait for durable commits and for plug-ins;
            // waiting must not idle the CPUs, so there are more of them than CPUs.
            .max_blocking_threads(self.config.cpu_threads() * 4)
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let running = self.start().await?;
            let shutdown = shutdown_signal();
            // Before "listening on", which tools wait for: the metrics address is known then.
            if let Some(at) = running.metrics_addr() {
                tracing::info!("metrics and health on http://{at}");
            }
            tracing::info!("listening on {}", running.base_url());
            running.serve(shutdown).await;
            Ok(())
        })
    }
}

/// A started server.
pub struct Running {
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    addr: SocketAddr,
    /// `metrics_listen`: `/metrics` and `/health/*` in plain HTTP, apart from the clients.
    metrics_listener: Option<tokio::net::TcpListener>,
}

impl Running {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http(s)://address` of the listener.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The `metrics_listen` listener's address, if metrics have a listener of their own.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Answers requests until `shutdown` resolves, then finishes open requests.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        // The metrics listener stops when the main one has drained (its sender is dropped).
        let (_stop_metrics, stopped) = tokio::sync::oneshot::channel::<()>();
        if let Some(listener) = self.metrics_listener {
            let service = warp::service(super::observe::listener_routes(self.state.clone()));
            let limits = self.state.transport.clone();
            tokio::spawn(crate::http::serve(service, limits, listener, async move {
                let _ = stopped.await;
            }));
        }
        match self.tls {
            Some(config) => super::serve_tls(self.state, self.listener, config, shutdown).await,
            None => super::serve(self.state, self.listener, shutdown).await,
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
///
/// The handlers are installed when this is called, not when the future is first polled: a
/// signal that arrives between the "listening" line and the first poll must stop the server
/// gracefully too. Call it inside the runtime, before announcing the server.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let int = signal(SignalKind::interrupt());
    let term = signal(SignalKind::terminate());
    async move {
        let wait = |s: std::io::Result<tokio::signal::unix::Signal>| async move {
            match s {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = wait(int) => {},
            _ = wait(term) => {},
        }
        tracing::info!("shutdown requested; finishing open requests");
    }
}
