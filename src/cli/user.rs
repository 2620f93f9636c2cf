//! `sts user` and `sts realm`: the file identity store.

use std::io::Read;

use clap::Subcommand;

use super::AnyError;
use crate::config::Config;
use crate::identity::{FileUserStore, User, Users, hash_password, normalize_realm};
use crate::secret::Secret;

#[derive(Subcommand)]
pub(super) enum UserCommand {
    /// Add a user. The password is read from STS_USER_PASSWORD, else asked for without echo
    /// (standard input a terminal), else read from standard input.
    Add {
        username: String,
        /// Realm of the user.
        #[arg(long, default_value = "/")]
        realm: String,
        /// Also keep the password in recoverable form, so the user can authenticate with
        /// WS-Security PasswordDigest (which needs the plain password on the server).
        #[arg(long)]
        digest: bool,
        /// Attribute as name=value (repeatable; repeated names add values).
        #[arg(long = "attr", value_name = "NAME=VALUE")]
        attrs: Vec<String>,
        /// Grant the administrator role.
        #[arg(long)]
        admin: bool,
    },
    /// Set a user's password (from STS_USER_PASSWORD, else a prompt or standard input, as for
    /// `add`). Digest-enabled
    /// users keep their digest secret in step.
    Passwd {
        username: String,
        #[arg(long, default_value = "/")]
        realm: String,
    },
    /// Disable a user: authentication fails and its sessions stop working.
    Disable {
        username: String,
        #[arg(long, default_value = "/")]
        realm: String,
    },
    /// Enable a disabled user.
    Enable {
        username: String,
        #[arg(long, default_value = "/")]
        realm: String,
    },
    /// Delete a user.
    Delete {
        username: String,
        #[arg(long, default_value = "/")]
        realm: String,
    },
    /// List users (never their secrets).
    List {
        /// Only this realm.
        #[arg(long)]
        realm: Option<String>,
    },
}

#[derive(Subcommand)]
pub(super) enum RealmCommand {
    /// Add a realm (e.g. `myRealm`, or `parent/child`).
    Add { name: String },
    /// List realms.
    List,
}

/// The new password of `username`: `STS_USER_PASSWORD`, else a prompt without echo (asked
/// twice) when standard input is a terminal, else all of standard input (less the final
/// newline).
fn read_password(username: &str) -> Result<String, AnyError> {
    use std::io::IsTerminal;
    let password = match std::env::var("STS_USER_PASSWORD") {
        Ok(p) => p,
        Err(_) if std::io::stdin().is_terminal() => {
            let first = rpassword::prompt_password(format!("password for `{username}`: "))?;
            let again = rpassword::prompt_password("again: ")?;
            if first != again {
                return Err("the passwords do not match".into());
            }
            first
        }
        Err(_) => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            s.trim_end_matches(['\n', '\r']).to_owned()
        }
    };
    if password.is_empty() {
        return Err("the password must not be empty".into());
    }
    Ok(password)
}

/// The users this node serves: `users.json`, or the store's when it is shared (PostgreSQL).
pub(super) fn open_users(cfg: &Config) -> Result<Users, AnyError> {
    std::fs::create_dir_all(&cfg.data_dir)?;
    let users_json = cfg.data_dir.join("users.json");
    let url = cfg.store_url();
    if !crate::store::is_shared(&url) {
        return Ok(Users::File(FileUserStore::open(&users_json)?));
    }
    let master = crate::datadir::store_keys::load_master_key(cfg.master_key_file.as_deref())?;
    Ok(crate::identity::stored::open_users(
        &users_json,
        crate::store::open_config(cfg)?,
        true,
        master,
    )?)
}

pub(super) fn user(cfg: &Config, command: UserCommand) -> Result<(), AnyError> {
    let store = open_users(cfg)?;
    match command {
        UserCommand::Add {
            username,
            realm,
            digest,
            attrs,
            admin,
        } => {
            let password = read_password(&username)?;
            let mut attributes = std::collections::BTreeMap::<String, Vec<String>>::new();
            for a in attrs {
                let (k, v) = a
                    .split_once('=')
                    .ok_or_else(|| format!("--attr `{a}` is not NAME=VALUE"))?;
                attributes
                    .entry(k.to_owned())
                    .or_default()
                    .push(v.to_owned());
            }
            store.add(User {
                username: username.clone(),
                realm: normalize_realm(&realm),
                password_hash: hash_password(&password)?,
                digest_secret: digest.then(|| Secret::new(password)),
                attributes,
                disabled: false,
                admin,
            })?;
            super::audited::record(
                cfg,
                "user.created",
                &[
                    ("realm", &normalize_realm(&realm)),
                    ("user", &username),
                    ("admin", if admin { "true" } else { "false" }),
                ],
            )?;
            println!(
                "added user `{username}` to realm `{}`",
                normalize_realm(&realm)
            );
        }
        UserCommand::Passwd { username, realm } => {
            let password = read_password(&username)?;
            let hash = hash_password(&password)?;
            store.update(&realm, &username, |u| {
                u.password_hash = hash.clone();
                if u.digest_secret.is_some() {
                    u.digest_secret = Some(Secret::new(password.clone()));
                }
            })?;
            super::audited::record(
                cfg,
                "user.changed",
                &[
                    ("realm", &normalize_realm(&realm)),
                    ("user", &username),
                    ("changed", "password"),
                ],
            )?;
            println!("password of `{username}` changed");
        }
        UserCommand::Disable { username, realm } => {
            store.update(&realm, &username, |u| u.disabled = true)?;
            super::audited::record(
                cfg,
                "user.disabled",
                &[("realm", &normalize_realm(&realm)), ("user", &username)],
            )?;
            println!("user `{username}` disabled");
        }
        UserCommand::Enable { username, realm } => {
            store.update(&realm, &username, |u| u.disabled = false)?;
            super::audited::record(
                cfg,
                "user.changed",
                &[
                    ("realm", &normalize_realm(&realm)),
                    ("user", &username),
                    ("changed", "status"),
                ],
            )?;
            println!("user `{username}` enabled");
        }
        UserCommand::Delete { username, realm } => {
            store.delete(&realm, &username)?;
            super::audited::record(
                cfg,
                "user.deleted",
                &[("realm", &normalize_realm(&realm)), ("user", &username)],
            )?;
            println!("user `{username}` deleted");
        }
        UserCommand::List { realm } => {
            let only = realm.as_deref().map(normalize_realm);
            for u in store.list()?.into_iter().filter(|u| {
                only.as_ref()
                    .is_none_or(|r| *r == normalize_realm(&u.realm))
            }) {
                println!(
                    "{}\t{}\t{}{}{}",
                    u.realm,
                    u.username,
                    if u.digest_secret.is_some() {
                        "digest"
                    } else {
                        "-"
                    },
                    if u.admin { "\tadmin" } else { "" },
                    if u.disabled { "\tdisabled" } else { "" }
                );
            }
        }
    }
    Ok(())
}

pub(super) fn realm(cfg: &Config, command: RealmCommand) -> Result<(), AnyError> {
    let store = open_users(cfg)?;
    match command {
        RealmCommand::Add { name } => println!("added realm `{}`", store.add_realm(&name)?),
        RealmCommand::List => {
            for r in store.realms()? {
                println!("{r}");
            }
        }
    }
    Ok(())
}
