//! `sts client`: the OAuth clients that may call introspection.

use clap::Subcommand;

use super::AnyError;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;

#[derive(Subcommand)]
pub(super) enum ClientCommand {
    /// Register a client; prints its secret once (none for `--method none`).
    Add {
        client_id: String,
        #[arg(long, default_value = "/")]
        realm: String,
        /// client_secret_basic, client_secret_post or none (a public client).
        #[arg(long, default_value = "client_secret_basic")]
        method: String,
    },
    /// List clients: realm, id, method.
    List {
        #[arg(long)]
        realm: Option<String>,
    },
    /// Delete a client.
    Delete {
        client_id: String,
        #[arg(long, default_value = "/")]
        realm: String,
    },
}

pub(super) fn clients(cfg: &Config, command: ClientCommand) -> Result<(), AnyError> {
    use crate::oauth::{AuthMethod, Clients};
    let store = crate::store::open_config(cfg)?;
    let clock = SystemClock;
    let clients = Clients::new(store, Box::new(move || clock.now().timestamp_millis()));
    match command {
        ClientCommand::Add {
            client_id,
            realm,
            method,
        } => {
            let method = AuthMethod::parse(&method).ok_or_else(|| {
                format!(
                    "--method `{method}` is not client_secret_basic, client_secret_post or none"
                )
            })?;
            let users = super::user::open_users(cfg)?;
            let realm = crate::identity::normalize_realm(&realm);
            if !users.realms()?.contains(&realm) {
                return Err(format!("no realm {realm} (sts realm add)").into());
            }
            let (c, secret) = clients.register(&realm, &client_id, method)?;
            super::audited::record(
                cfg,
                "oauth_client.created",
                &[("realm", &c.realm), ("client_id", &c.client_id)],
            )?;
            say!(
                "registered {} in realm {} ({})",
                c.client_id,
                c.realm,
                c.auth_method.as_str()
            );
            if let Some(s) = secret {
                say!("client_secret: {}", s.expose());
                say!("(shown once; only its SHA-256 is stored)");
            }
        }
        ClientCommand::List { realm } => {
            for c in clients.list(realm.as_deref())? {
                say!("{}\t{}\t{}", c.realm, c.client_id, c.auth_method.as_str());
            }
        }
        ClientCommand::Delete { client_id, realm } => {
            if !clients.delete(&realm, &client_id)? {
                return Err(format!("no client {client_id} in realm {realm}").into());
            }
            super::audited::record(
                cfg,
                "oauth_client.deleted",
                &[("realm", &realm), ("client_id", &client_id)],
            )?;
            say!("deleted {client_id}");
        }
    }
    Ok(())
}
