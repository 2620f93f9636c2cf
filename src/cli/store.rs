//! `sts store`: the database itself (schema migrations).

use clap::Subcommand;

use super::AnyError;
use crate::config::Config;
use crate::store;

#[derive(Subcommand)]
pub(super) enum StoreCommand {
    /// Apply the schema migrations this `sts` knows to the store (`store_url` /
    /// STS_STORE_URL), then exit. Nodes also migrate when they start; running this first
    /// lets an upgrade change the schema once, before any node of the new version serves.
    Migrate,
}

pub(super) fn store(cfg: &Config, command: StoreCommand) -> Result<(), AnyError> {
    match command {
        StoreCommand::Migrate => {
            let url = cfg.store_url();
            let m = store::migrate(&url, &store::StoreOptions::from_config(cfg)?)?;
            if m.from == m.to {
                say!(
                    "store {}: schema already at version {}",
                    store::redact_url(&url),
                    m.to
                );
            } else {
                say!(
                    "store {}: schema migrated from version {} to {}",
                    store::redact_url(&url),
                    m.from,
                    m.to
                );
            }
            Ok(())
        }
    }
}
