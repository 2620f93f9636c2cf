//! `sts`: a WS-Trust 1.4 Security Token Service with OpenAM-compatible instance configuration.
//!
//! A request flows one way: `http` (bytes, limits, TLS) -> a protocol front end in `frontends`
//! (with the `soap` and `wstrust` codecs) -> the token `engine` (authenticate a credential to a
//! principal, issue or check a token under the instance's policy) -> token formats (`tokens`),
//! signatures (`xmldsig`, the only `unsafe`, in `xmldsig::ffi`) and durable state (`store`).
//! `app` composes it all; `cli` is the `sts` command. ARCHITECTURE.md has the map.
//!
//! # The dependency rule
//!
//! A module names (`crate::x`) only modules of a lower layer; modules of one layer do not name
//! each other; test code may compose anything. `layering.rs` checks it over the source.
//!
//! 0. `secret`, `clock`, `fs`, `xml`, `logging`, `metrics`: leaves.
//! 1. `crypto`, `net`, `audit` (the audit trail: events and where they go).
//! 2. `plugin`, `xmldsig`, `soap`, `wstrust`: codecs know no tokens, engine or HTTP.
//! 3. `config`, `keyring`, `tokens`.
//! 4. `store`. 5. `identity`. 6. `instance`, `oauth`.
//! 7. `engine`: every token rule; no HTTP, no wire names, no data directory.
//! 8. `datadir`. 9. `http`: knows no protocol. 10. `frontends`. 11. `app`. 12. `cli`, `fuzzing`.
//!
//! # Public API
//!
//! [`ServerBuilder`] (with [`plugin`] for custom token types), [`config`], [`clock`] and
//! [`secret`]. Everything else is internal; the `test-util` feature opens it, unstable and
//! hidden from the docs, to this package's own tests, benches and fuzz targets.
#![deny(unsafe_code)]

pub mod clock;
pub mod config;
pub mod plugin;
pub mod secret;

/// Modules that are internal, public (hidden from the docs) only with the `test-util` feature.
macro_rules! internal {
    ($($name:ident),* $(,)?) => {$(
        #[cfg(feature = "test-util")]
        #[doc(hidden)]
        pub mod $name;
        #[cfg(not(feature = "test-util"))]
        mod $name;
    )*};
}

internal!(
    app, audit, crypto, datadir, engine, frontends, fs, http, identity, instance, keyring, logging,
    metrics, net, oauth, soap, store, tokens, wstrust, xml, xmldsig,
);

/// Entry points for the fuzz targets in `fuzz/`.
#[cfg(feature = "test-util")]
#[doc(hidden)]
pub mod fuzzing;

/// The `sts` command line, which `main.rs` runs.
#[doc(hidden)]
pub mod cli;

pub use app::build::StartError;
#[cfg(feature = "test-util")]
#[doc(hidden)]
pub use app::build::{build_state, build_state_with, http_plugins, publisher};
pub use app::builder::{Running, ServerBuilder, shutdown_signal};

#[cfg(test)]
mod layering;
