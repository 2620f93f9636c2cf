//! The `sts` command: CLI -> config -> logging -> server.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use sts::config::Config;
use sts::identity::{FileUserStore, User, hash_password, normalize_realm};
use sts::secret::Secret;

/// A WS-Trust 1.4 Security Token Service (SOAP 1.1/1.2) issuing signed SAML 2.0 assertions,
/// configured with OpenAM-compatible instance JSON.
#[derive(Parser)]
#[command(name = "sts", version, about, long_about = None)]
struct Cli {
    /// TOML configuration file (also STS_CONFIG). Environment variables STS_* override it;
    /// flags override both.
    #[arg(long, global = true, env = "STS_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory holding keys, users and instances (also STS_DATA_DIR).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server. On first start in an empty data directory, creates signing keys, the
    /// user `demo` (password from STS_DEMO_PASSWORD, else generated and printed once) and the
    /// SOAP instance `soap-username-transformer`.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (also STS_LISTEN; port 0 picks one).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Create the data directory's keys, demo user and demo instance, then exit.
    Init,
    /// Manage users of the identity store.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage realms.
    Realm {
        #[command(subcommand)]
        command: RealmCommand,
    },
    /// Query and cancel persisted tokens (the store of the data directory, or STS_STORE_URL).
    Tokens {
        #[command(subcommand)]
        command: TokensCommand,
    },
    /// Publish, list, show and delete STS instances (the same service as /sts-publish; a
    /// running server picks changes up within `instance_poll_millis`).
    Instance {
        #[command(subcommand)]
        command: InstanceCommand,
    },
    /// List, rotate and import keys under `keys/` (a running server picks changes up within
    /// `instance_poll_millis`).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Register, list and delete the OAuth clients that may call token introspection (the
    /// store of the data directory, or STS_STORE_URL; the same service as /sts-clients).
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
}

#[derive(Subcommand)]
enum ClientCommand {
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

#[derive(Subcommand)]
enum KeysCommand {
    /// List key pairs and certificates: alias, kind, role, certificate SHA-256 fingerprint.
    List,
    /// Replace a key pair with a new one of the same kind. Its old certificate is kept as
    /// `<alias>.previous.crt.pem`: tokens it signed still validate and its JWK stays
    /// published until the next rotation.
    Rotate { alias: String },
    /// Add a relying party's certificate (PEM) under ALIAS, to encrypt assertions to it
    /// (`saml2-encryption-key-alias`).
    Import { alias: String, certificate: PathBuf },
}

#[derive(Subcommand)]
enum InstanceCommand {
    /// Publish an instance from a JSON file holding its `instance_state` (or a whole publish
    /// body with `instance_state`); `-` reads standard input.
    Publish {
        #[arg(value_parser = ["rest", "soap"])]
        kind: String,
        file: PathBuf,
    },
    /// List instances: id, kind, revision.
    List,
    /// Print one instance's configuration (secrets removed).
    Show {
        #[arg(value_parser = ["rest", "soap"])]
        kind: String,
        id: String,
    },
    /// Remove an instance and its endpoints.
    Delete {
        #[arg(value_parser = ["rest", "soap"])]
        kind: String,
        id: String,
    },
}

#[derive(Subcommand)]
enum TokensCommand {
    /// List tokens: by instance, by principal, or with a CREST filter.
    List {
        #[arg(long)]
        sts_id: Option<String>,
        #[arg(long)]
        principal: Option<String>,
        /// A `_queryFilter` expression, e.g. "/token_type eq 'SAML2'".
        #[arg(long, conflicts_with_all = ["sts_id", "principal"])]
        filter: Option<String>,
    },
    /// Print one token.
    Show { id: String },
    /// Cancel (remove) one token.
    Cancel { id: String },
}

#[derive(Subcommand)]
enum RealmCommand {
    /// Add a realm (e.g. `myRealm`, or `parent/child`).
    Add { name: String },
    /// List realms.
    List,
}

#[derive(Subcommand)]
enum UserCommand {
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

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sts: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

type AnyError = Box<dyn std::error::Error + Send + Sync>;

/// Prints a banner line; a closed stdout (e.g. a supervisor that stopped reading) must not
/// bring the server down, so write errors are ignored.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

fn load_config(cli: &Cli) -> Result<Config, AnyError> {
    let mut cfg = Config::load(cli.config.as_deref(), &|k| std::env::var(k).ok())?;
    if let Some(d) = &cli.data_dir {
        cfg.data_dir = d.clone();
    }
    Ok(cfg)
}

fn run(cli: Cli) -> Result<(), AnyError> {
    let mut cfg = load_config(&cli)?;
    match cli.command {
        Command::Serve { listen } => {
            if let Some(l) = listen {
                cfg.listen = l;
            }
            serve(cfg)
        }
        Command::Init => {
            let boot = bootstrap(&cfg)?;
            print_bootstrap(&boot);
            println!("data directory ready: {}", cfg.data_dir.display());
            Ok(())
        }
        Command::User { command } => user(&cfg, command),
        Command::Tokens { command } => tokens(&cfg, command),
        Command::Instance { command } => instances(&cfg, command),
        Command::Keys { command } => keys(&cfg, command),
        Command::Client { command } => clients(&cfg, command),
        Command::Realm { command } => {
            std::fs::create_dir_all(&cfg.data_dir)?;
            let store = FileUserStore::open(&cfg.data_dir.join("users.json"))?;
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
    }
}

fn bootstrap(cfg: &Config) -> Result<sts::datadir::Bootstrap, AnyError> {
    Ok(sts::datadir::bootstrap(
        &cfg.data_dir,
        std::env::var("STS_DEMO_PASSWORD").ok(),
        std::env::var("STS_ADMIN_PASSWORD").ok(),
        sts::clock::Clock::now(&sts::clock::SystemClock),
    )?)
}

fn print_bootstrap(boot: &sts::datadir::Bootstrap) {
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

fn quote(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn tokens(cfg: &Config, command: TokensCommand) -> Result<(), AnyError> {
    let store = sts::store::open(&cfg.store_url())?;
    match command {
        TokensCommand::List {
            sts_id,
            principal,
            filter,
        } => {
            let expr = match (filter, sts_id, principal) {
                (Some(f), _, _) => f,
                (None, Some(s), Some(p)) => {
                    format!(
                        "/sts_id eq {} and /token_principal eq {}",
                        quote(&s),
                        quote(&p)
                    )
                }
                (None, Some(s), None) => format!("/sts_id eq {}", quote(&s)),
                (None, None, Some(p)) => format!("/token_principal eq {}", quote(&p)),
                (None, None, None) => "true".to_owned(),
            };
            let filter = sts::store::filter::parse(&expr)?;
            let mut cookie: Option<String> = None;
            loop {
                let page = store.query_tokens(&filter, 1000, cookie.as_deref())?;
                for t in &page.items {
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        t.token_id,
                        t.sts_id,
                        t.principal,
                        t.token_type,
                        t.expires_ms / 1000
                    );
                }
                match page.next {
                    Some(c) => cookie = Some(c),
                    None => break,
                }
            }
        }
        TokensCommand::Show { id } => match store.get_token(&id)? {
            Some(t) => println!("{}", t.token),
            None => return Err(format!("no token `{id}`").into()),
        },
        TokensCommand::Cancel { id } => {
            if !store.delete_token(&id)? {
                return Err(format!("no token `{id}`").into());
            }
            println!("token with id {id} successfully removed.");
        }
    }
    Ok(())
}

fn instances(cfg: &Config, command: InstanceCommand) -> Result<(), AnyError> {
    use sts::instance::Kind;
    let store = sts::store::open(&cfg.store_url())?;
    let keys = sts::datadir::load_keys(&cfg.data_dir)?;
    // The stock binary has no Rust plug-ins; HTTP plug-ins of sts.toml are known.
    let plugins = Arc::new(sts::http_plugins(cfg, sts::plugin::Plugins::new())?);
    let publisher = sts::publisher(
        cfg,
        &store,
        keys,
        Arc::new(sts::clock::SystemClock),
        plugins,
    )?;
    let kind = |k: &str| Kind::parse(k).ok_or_else(|| format!("unknown kind {k}"));
    match command {
        InstanceCommand::Publish { kind: k, file } => {
            let bytes = if file.as_os_str() == "-" {
                let mut b = Vec::new();
                std::io::stdin().read_to_end(&mut b)?;
                b
            } else {
                std::fs::read(&file)?
            };
            let mut json: serde_json::Value = serde_json::from_slice(&bytes)?;
            if let Some(st) = json.get_mut("instance_state") {
                json = st.take();
            }
            let p = publisher.create(kind(&k)?, &json)?;
            if p.config["saml2-config"]["saml2-sign-assertion"] == "false" {
                eprintln!(
                    "sts: WARNING: `{}` has saml2-sign-assertion false: it issues UNSIGNED SAML2 assertions, which relying parties cannot verify and this STS cannot validate",
                    p.id
                );
            }
            say!(
                "{}",
                serde_json::json!({"_id": p.id, "_rev": p.rev, "result": "success", "url_element": p.id})
            );
        }
        InstanceCommand::List => {
            for k in [Kind::Rest, Kind::Soap] {
                for p in publisher.list(k)? {
                    say!("{}\t{}\t{}", p.id, k.as_str(), p.rev);
                }
            }
        }
        InstanceCommand::Show { kind: k, id } => {
            let p = publisher.read(kind(&k)?, &id)?;
            let mut m = serde_json::Map::new();
            m.insert("_id".into(), p.id.clone().into());
            m.insert("_rev".into(), p.rev.clone().into());
            m.insert(p.id.clone(), p.config);
            say!("{}", serde_json::to_string_pretty(&m)?);
        }
        InstanceCommand::Delete { kind: k, id } => {
            let p = publisher.delete(kind(&k)?, &id, None)?;
            say!("{} sts instance {} successfully removed", k, p.id);
        }
    }
    Ok(())
}

fn clients(cfg: &Config, command: ClientCommand) -> Result<(), AnyError> {
    use sts::oauth::{AuthMethod, Clients};
    let store = sts::store::open(&cfg.store_url())?;
    let clients = Clients::new(store, Box::new(|| chrono::Utc::now().timestamp_millis()));
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
            let users = FileUserStore::open(&cfg.data_dir.join("users.json"))?;
            let realm = sts::identity::normalize_realm(&realm);
            if !users.realms()?.contains(&realm) {
                return Err(format!("no realm {realm} (sts realm add)").into());
            }
            let (c, secret) = clients.register(&realm, &client_id, method)?;
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
            say!("deleted {client_id}");
        }
    }
    Ok(())
}

fn keys(cfg: &Config, command: KeysCommand) -> Result<(), AnyError> {
    use sts::keyring::Keyring;
    match command {
        KeysCommand::List => {
            let ring = Keyring::load(&cfg.data_dir)?;
            let mut aliases: Vec<&String> = ring.certificates.keys().collect();
            aliases.sort();
            for alias in aliases {
                let cert = &ring.certificates[alias];
                let role = match ring.signing.get(alias) {
                    Some(k) if k.previous().is_some() => "key pair (rotated)",
                    Some(_) => "key pair",
                    None => "certificate",
                };
                say!(
                    "{alias}\t{:?}\t{role}\t{}",
                    cert.kind(),
                    sts::keyring::fingerprint(cert.der())
                );
            }
        }
        KeysCommand::Rotate { alias } => {
            let kind = sts::keyring::rotate(
                &cfg.data_dir,
                &alias,
                sts::clock::Clock::now(&sts::clock::SystemClock),
            )?;
            say!(
                "rotated {alias} ({kind:?}); the previous certificate is keys/{alias}.previous.crt.pem"
            );
        }
        KeysCommand::Import { alias, certificate } => {
            let pem = std::fs::read(&certificate)
                .map_err(|e| format!("{}: {e}", certificate.display()))?;
            sts::keyring::import_certificate(&cfg.data_dir, &alias, &pem)?;
            say!("imported {alias} as keys/{alias}.crt.pem");
        }
    }
    Ok(())
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

fn user(cfg: &Config, command: UserCommand) -> Result<(), AnyError> {
    std::fs::create_dir_all(&cfg.data_dir)?;
    let store = FileUserStore::open(&cfg.data_dir.join("users.json"))?;
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
            println!(
                "added user `{username}` to realm `{}`",
                normalize_realm(&realm)
            );
        }
        UserCommand::Passwd { username, realm } => {
            let password = read_password(&username)?;
            let hash = hash_password(&password)?;
            store.update(&realm, &username, |u| {
                u.password_hash = hash;
                if u.digest_secret.is_some() {
                    u.digest_secret = Some(Secret::new(password));
                }
            })?;
            println!("password of `{username}` changed");
        }
        UserCommand::Disable { username, realm } => {
            store.update(&realm, &username, |u| u.disabled = true)?;
            println!("user `{username}` disabled");
        }
        UserCommand::Enable { username, realm } => {
            store.update(&realm, &username, |u| u.disabled = false)?;
            println!("user `{username}` enabled");
        }
        UserCommand::Delete { username, realm } => {
            store.delete(&realm, &username)?;
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

fn serve(cfg: Config) -> Result<(), AnyError> {
    sts::logging::init(&cfg.log)?;
    sts::identity::set_hash_concurrency(cfg.cpu_threads());
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
        let listener = sts::http::bind(cfg.listen).await?;
        let boot = bootstrap(&cfg)?;
        print_bootstrap(&boot);
        let running = sts::ServerBuilder::new(cfg).start_on(listener).await?;
        let state = running.state().clone();
        let shutdown = sts::shutdown_signal();
        say!(
            "sts {} listening on {}",
            env!("CARGO_PKG_VERSION"),
            running.base_url()
        );
        for p in state.publisher.list(sts::instance::Kind::Soap)? {
            say!("SOAP STS instance: {}/sts/{}", state.base_url, p.id);
            say!("  WSDL: {}/sts/{}?wsdl", state.base_url, p.id);
        }
        for p in state.publisher.list(sts::instance::Kind::Rest)? {
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
