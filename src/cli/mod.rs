//! The `sts` command: CLI -> config -> logging -> server, and the offline administration
//! commands (users, realms, tokens, instances, keys, OAuth clients).

/// Prints a banner line; a closed stdout (e.g. a supervisor that stopped reading) must not
/// bring the server down, so write errors are ignored.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod audited;
mod check;
mod clients;
mod docs;
mod instance;
mod keys;
mod probe;
mod serve;
mod store;
mod tokens;
mod user;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Config;

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
        command: user::UserCommand,
    },
    /// Manage realms.
    Realm {
        #[command(subcommand)]
        command: user::RealmCommand,
    },
    /// Query and cancel persisted tokens (the store of the data directory, or STS_STORE_URL).
    Tokens {
        #[command(subcommand)]
        command: tokens::TokensCommand,
    },
    /// Publish, list, show and delete STS instances (the same service as /sts-publish; a
    /// running server picks changes up within `instance_poll_millis`).
    Instance {
        #[command(subcommand)]
        command: instance::InstanceCommand,
    },
    /// List, create, rotate and import keys: under `keys/`, or in a shared store (private keys
    /// wrapped with STS_MASTER_KEY_FILE). A running server picks changes up within
    /// `instance_poll_millis`.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// The store's database: `sts store migrate` applies the schema migrations alone.
    Store {
        #[command(subcommand)]
        command: store::StoreCommand,
    },
    /// Register, list and delete the OAuth clients that may call token introspection (the
    /// store of the data directory, or STS_STORE_URL; the same service as /sts-clients).
    Client {
        #[command(subcommand)]
        command: clients::ClientCommand,
    },
    /// Load and check the configuration (file, STS_* environment, flags) and resolve what
    /// `serve` resolves before it binds a port (data directory readable, master key, store
    /// reachable, keys loadable, instance files valid), changing nothing; print the main
    /// settings in effect, and exit: 0 when the server would start.
    CheckConfig,
    /// Probe a running server's liveness (`GET /health/live`) or, with --ready, its
    /// readiness (`GET /health/ready`): exit 0 on HTTP 200, else 1. For supervisors and
    /// container HEALTHCHECKs without curl.
    Health {
        /// URL to probe; default: /health/live (or /health/ready) on the loopback address of
        /// `listen` (https when `tls_cert_file` is set: then name a host its certificate covers).
        #[arg(long)]
        url: Option<String>,
        /// Probe readiness (store reachable, keys and instances loaded) instead of liveness.
        #[arg(long)]
        ready: bool,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 5)]
        timeout_secs: u64,
    },
    /// Print the shell completion script for SHELL (bash: `sts completions bash >
    /// /etc/bash_completion.d/sts`; zsh: into a directory of `$fpath` as `_sts`; fish: into
    /// `~/.config/fish/completions/sts.fish`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page sts(1), or write it and one page per subcommand into a directory.
    Man {
        /// Directory to write `sts.1`, `sts-serve.1`, ... into (e.g. /usr/local/share/man/man1).
        #[arg(long)]
        out_dir: Option<PathBuf>,
    },
}

/// Runs the `sts` command with the process's arguments.
pub fn main() -> std::process::ExitCode {
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

fn load_config(cli: &Cli) -> Result<Config, AnyError> {
    let mut cfg = Config::load(cli.config.as_deref(), &|k| std::env::var(k).ok())?;
    if let Some(d) = &cli.data_dir {
        cfg.data_dir = d.clone();
    }
    Ok(cfg)
}

fn run(cli: Cli) -> Result<(), AnyError> {
    // Generated from the CLI definition alone: no configuration needed (or read).
    match &cli.command {
        Command::Completions { shell } => return docs::completions(*shell),
        Command::Man { out_dir } => return docs::man(out_dir.as_deref()),
        _ => {}
    }
    let mut cfg = load_config(&cli)?;
    match cli.command {
        Command::Serve { listen } => {
            if let Some(l) = listen {
                cfg.listen = l;
            }
            // SIGHUP reads the configuration again, the same way.
            let (path, data_dir) = (cli.config.clone(), cli.data_dir.clone());
            let reload = move || -> Result<Config, AnyError> {
                let mut cfg = Config::load(path.as_deref(), &|k| std::env::var(k).ok())?;
                if let Some(d) = &data_dir {
                    cfg.data_dir = d.clone();
                }
                if let Some(l) = listen {
                    cfg.listen = l;
                }
                Ok(cfg)
            };
            serve::serve(cfg, Box::new(reload))
        }
        Command::Init => {
            let boot = serve::bootstrap(&cfg)?;
            serve::print_bootstrap(&boot, serve::secrets_channel(&cfg));
            println!("data directory ready: {}", cfg.data_dir.display());
            Ok(())
        }
        Command::User { command } => user::user(&cfg, command),
        Command::Tokens { command } => tokens::tokens(&cfg, command),
        Command::Instance { command } => instance::instances(&cfg, command),
        Command::Keys { command } => keys::keys(&cfg, command),
        Command::Client { command } => clients::clients(&cfg, command),
        Command::Realm { command } => user::realm(&cfg, command),
        Command::Store { command } => store::store(&cfg, command),
        Command::CheckConfig => check::check(&cfg),
        Command::Health {
            url,
            ready,
            timeout_secs,
        } => {
            let path = if ready {
                "/health/ready"
            } else {
                "/health/live"
            };
            let url = url.unwrap_or_else(|| probe::default_url(&cfg, path));
            probe::health(
                &url,
                std::time::Duration::from_secs(timeout_secs.clamp(1, 300)),
            )
        }
        Command::Completions { .. } | Command::Man { .. } => Ok(()),
    }
}
