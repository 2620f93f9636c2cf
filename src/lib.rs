//! `sts`: a WS-Trust 1.4 Security Token Service with OpenAM-compatible instance configuration.
//!
//! Data flows one way: HTTP ([`http`], routes in [`app`]) -> a protocol front end
//! ([`frontends`]) -> SOAP envelope and WS-Security header ([`soap`]) ->
//! WS-Trust messages ([`wstrust`]) -> the token [`engine`] (authenticate a credential to a
//! principal, issue a token) -> token formats ([`tokens`]) and signatures ([`xmldsig`]).
//! Nothing below the engine knows about HTTP, and only `xmldsig::ffi` contains `unsafe`.
#![deny(unsafe_code)]

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod datadir;
pub mod engine;
pub mod frontends;
pub mod fs;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod identity;
pub mod instance;
pub mod keyring;
pub mod logging;
pub mod net;
pub mod oauth;
pub mod plugin;
pub mod secret;
pub mod soap;
pub mod store;
pub mod tokens;
pub mod wstrust;
pub mod xml;
pub mod xmldsig;

use std::sync::Arc;

pub use app::build::{StartError, build_state, build_state_with, http_plugins};
pub use app::builder::{Running, ServerBuilder, shutdown_signal};

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
