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

pub use app::build::{StartError, build_state, build_state_with, http_plugins, publisher};
pub use app::builder::{Running, ServerBuilder, shutdown_signal};

#[cfg(test)]
mod layering;
