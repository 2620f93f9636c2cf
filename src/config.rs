//! Server configuration: a typed TOML file (unknown keys refused) overridden by `STS_*`
//! environment variables and then by command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

mod adfs;
mod ldap;

pub use adfs::AdfsConfig;

pub use ldap::{
    BinaryForm, DEFAULT_ATTRIBUTES, GroupName, LdapConfig, LdapUrl, RealmConfig, SearchScope,
};

/// Configuration errors, worded for the operator.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Where the file is wrong (line, key) and why, never the text there: a configuration
    /// holds secrets, and this message reaches the log (SIGHUP) and the journal.
    #[error("{path}: {detail}")]
    Toml { path: PathBuf, detail: String },
    #[error("environment variable {name}: {message}")]
    Env { name: &'static str, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Data directory (keys, users, instances).
    pub data_dir: PathBuf,
    /// Base URL clients use to reach this server (no trailing slash); it goes into WSDL
    /// `soap:address` and schema locations. Default: `http://{listen}`.
    pub public_base_url: Option<String>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Deepest element nesting accepted in XML input.
    pub max_xml_depth: usize,
    /// Most RSTs in one `wst:RequestSecurityTokenCollection` (a batch): each is a full
    /// issue (signature, store), so a batch costs that many requests' work.
    pub max_batch_requests: usize,
    /// Tolerated clock difference with clients, in seconds.
    pub clock_skew_secs: u64,
    /// How long a UsernameToken `Created` stays acceptable (and its nonce remembered), seconds.
    pub nonce_window_secs: u64,
    /// `tracing` filter, e.g. `info` or `sts=debug`; SIGHUP re-reads it.
    pub log: String,
    /// `text` (default) or `json`: one JSON object per line.
    pub log_format: crate::logging::Format,
    /// Where the audit trail goes: a file path (JSON lines, appended), `stdout` or `syslog`
    /// (`/dev/log`, facility authpriv). Unset: no audit trail.
    pub audit_log: Option<String>,
    /// Refuse (503, `wst:RequestFailed`) a request whose audit event cannot be written,
    /// instead of serving it and counting the lost event. Default false.
    pub audit_required: bool,
    /// CPUs to use for hashing and signing; 0 means all. Password hashes computed at once are
    /// bounded by it (each argon2id verification holds 19 MiB); the blocking pool has four
    /// threads per CPU, so that threads waiting for durable commits do not idle the CPUs.
    pub cpu_threads: usize,
    /// Request handlers running at once (0: `cpu_threads`); the rest wait their turn in
    /// arrival order. Raise it when handlers mostly wait (LDAP, a remote store, plug-ins).
    pub handler_threads: usize,
    /// Requests being read, processed or queued at once; beyond it, requests get HTTP 503
    /// at once. A body counts from its first byte, so bodies in memory are bounded by about
    /// `max_in_flight * max_body_bytes`.
    pub max_in_flight: usize,
    /// Open client connections (plain or TLS, handshakes included); further connections
    /// wait in the listen backlog until one closes.
    pub max_connections: usize,
    /// Time a client has to send a request head (TLS handshake included on a new
    /// connection); also the longest a connection stays open without a request.
    pub header_read_timeout_secs: u64,
    /// Time a client has to send a whole request body; then HTTP 408 and the connection closes.
    pub body_read_timeout_secs: u64,
    /// Store URL; default `sqlite://{data_dir}/sts.db`. A cluster shares
    /// `postgres://USER@HOST:PORT/DB?sslmode=verify-full&sslrootcert=CA.pem` (`sslmode`:
    /// disable, prefer, require, verify-ca, verify-full). A password inside the URL works, but
    /// the URL is logged with it hidden; prefer `STS_STORE_PASSWORD` or `store_password_file`.
    pub store_url: Option<String>,
    /// A file holding the database password (its first line), used when the URL has none.
    pub store_password_file: Option<PathBuf>,
    /// The database password, from `STS_STORE_PASSWORD` only (never from the file: it would
    /// sit next to the settings everyone reads).
    #[serde(skip)]
    pub store_password: Option<crate::secret::Secret<String>>,
    /// PostgreSQL connections per node, at most (the token writer holds one more).
    pub store_pool_size: usize,
    /// The longest a request waits for a database connection, in milliseconds; past it the
    /// request fails at once with HTTP 503 instead of hanging while the database is down.
    pub store_wait_millis: u64,
    /// Name of the SSO header and cookie carrying session tokens.
    pub session_cookie_name: String,
    /// A session ends after this many seconds without use...
    pub session_idle_secs: u64,
    /// ...and at the latest this many seconds after it started.
    pub session_max_secs: u64,
    /// Failed sign-ins to one account from one source address within `lockout_window_secs`
    /// that lock the account for that address only (0 disables this lock).
    pub lockout_threshold: u32,
    /// Failed sign-ins from one source address (IPv4, or IPv6 /64), to any accounts, within
    /// `lockout_window_secs` that lock the address out of password sign-in (0 disables it).
    pub lockout_source_threshold: u32,
    /// Reverse proxies (addresses or networks) whose `X-Forwarded-For` names the client, for
    /// lockout and throttling. Empty: the TCP peer is the client.
    pub trusted_proxies: crate::net::TrustedProxies,
    pub lockout_window_secs: u64,
    /// How long a locked pair or address stays locked.
    pub lockout_duration_secs: u64,
    /// Failure counters kept at most (per table: account and address, address).
    pub lockout_max_entries: usize,
    /// How often expired sessions and tokens are removed.
    pub reap_interval_secs: u64,
    /// How often instances published on other nodes sharing the store are picked up.
    pub instance_poll_millis: u64,
    /// Who may call `/rest-sts/...`: `admin` (an administrator's SSO token in the
    /// `iPlanetDirectoryPro` header, as AM's documentation requires) or `anyone` (the input
    /// token in the body is the only credential).
    pub rest_sts_caller: RestCaller,
    /// PEM certificate chain (server certificate first) to serve HTTPS with; with
    /// `tls_key_file`. Unset: plain HTTP (TLS from a proxy).
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key (PKCS#8, RSA or EC) of `tls_cert_file`.
    pub tls_key_file: Option<PathBuf>,
    /// The master key (key-encryption key) that wraps private keys and digest secrets kept in
    /// the store: 32 random bytes, base64, in a file only its owner (and group) can read
    /// (`sts keys master-key generate FILE`). Every node of a cluster reads the same key.
    pub master_key_file: Option<PathBuf>,
    /// Custom token validators that are web services, by the name instances give them in
    /// `custom-token-validators[].customOperationClassName`.
    pub http_validators: std::collections::BTreeMap<String, crate::plugin::http::HttpPluginConfig>,
    /// Custom token providers that are web services (`custom-token-providers`).
    pub http_providers: std::collections::BTreeMap<String, crate::plugin::http::HttpPluginConfig>,
    /// Per-realm settings by normalised realm name (`/`, `/sub`): `[realms."/".ldap]` makes
    /// the realm's users come from a directory.
    pub realms: std::collections::BTreeMap<String, RealmConfig>,
    /// `[adfs]`: the SOAP instance that answers AD FS's paths; absent, they are not served.
    pub adfs: Option<AdfsConfig>,
    /// Whether Prometheus metrics are recorded and served at `GET /metrics` (`STS_METRICS`).
    pub metrics: bool,
    /// A separate plain-HTTP listener for `/metrics` and `/health/*` (`STS_METRICS_LISTEN`):
    /// recommended, on an address only the monitoring network reaches. When set, the main
    /// listener does not serve `/metrics`.
    pub metrics_listen: Option<SocketAddr>,
}

/// Who may call the REST STS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RestCaller {
    Admin,
    Anyone,
}

impl std::str::FromStr for RestCaller {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "admin" => Ok(RestCaller::Admin),
            "anyone" => Ok(RestCaller::Anyone),
            other => Err(format!("`{other}` is not admin or anyone")),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("sts-data"),
            public_base_url: None,
            max_body_bytes: 1024 * 1024,
            max_xml_depth: 48,
            max_batch_requests: 16,
            clock_skew_secs: 300,
            nonce_window_secs: 300,
            log: "info".to_owned(),
            log_format: crate::logging::Format::Text,
            audit_log: None,
            audit_required: false,
            cpu_threads: 0,
            handler_threads: 0,
            max_in_flight: 512,
            max_connections: 1024,
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 30,
            store_url: None,
            store_password_file: None,
            store_password: None,
            store_pool_size: 16,
            store_wait_millis: 2000,
            session_cookie_name: "iPlanetDirectoryPro".to_owned(),
            session_idle_secs: 30 * 60,
            session_max_secs: 120 * 60,
            lockout_threshold: 5,
            lockout_source_threshold: 20,
            trusted_proxies: Default::default(),
            lockout_window_secs: 300,
            lockout_duration_secs: 300,
            lockout_max_entries: 100_000,
            reap_interval_secs: 60,
            instance_poll_millis: 1000,
            rest_sts_caller: RestCaller::Admin,
            tls_cert_file: None,
            tls_key_file: None,
            master_key_file: None,
            http_validators: Default::default(),
            http_providers: Default::default(),
            realms: Default::default(),
            adfs: None,
            metrics: true,
            metrics_listen: None,
        }
    }
}

fn env_parse<T: std::str::FromStr>(
    name: &'static str,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<T>, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match get(name) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|e: T::Err| ConfigError::Env {
            name,
            message: e.to_string(),
        }),
    }
}

impl Config {
    /// Loads `file` (if given), then applies the environment as read by `get`.
    pub fn load(
        file: Option<&Path>,
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut cfg = match file {
            None => Config::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                // The key path of a wrong value, for a message that need not quote it.
                let parsed = match toml::Deserializer::parse(&text) {
                    Err(e) => Err((None, e)),
                    Ok(de) => serde_path_to_error::deserialize(de)
                        .map_err(|e| (Some(e.path().to_string()), e.into_inner())),
                };
                parsed.map_err(|(key, e)| ConfigError::Toml {
                    path: path.to_owned(),
                    detail: crate::logging::toml_error_without_values(
                        &text,
                        key.as_deref(),
                        e.message(),
                        e.span(),
                    ),
                })?
            }
        };
        if let Some(v) = env_parse("STS_LISTEN", get)? {
            cfg.listen = v;
        }
        if let Some(v) = get("STS_DATA_DIR") {
            cfg.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("STS_PUBLIC_BASE_URL") {
            cfg.public_base_url = Some(v);
        }
        if let Some(v) = env_parse("STS_MAX_BODY_BYTES", get)? {
            cfg.max_body_bytes = v;
        }
        if let Some(v) = env_parse("STS_MAX_XML_DEPTH", get)? {
            cfg.max_xml_depth = v;
        }
        if let Some(v) = env_parse("STS_MAX_BATCH_REQUESTS", get)? {
            cfg.max_batch_requests = v;
        }
        if let Some(v) = env_parse("STS_CLOCK_SKEW_SECS", get)? {
            cfg.clock_skew_secs = v;
        }
        if let Some(v) = env_parse("STS_NONCE_WINDOW_SECS", get)? {
            cfg.nonce_window_secs = v;
        }
        if let Some(v) = env_parse("STS_CPU_THREADS", get)? {
            cfg.cpu_threads = v;
        }
        if let Some(v) = env_parse("STS_HANDLER_THREADS", get)? {
            cfg.handler_threads = v;
        }
        if let Some(v) = env_parse("STS_MAX_IN_FLIGHT", get)? {
            cfg.max_in_flight = v;
        }
        if let Some(v) = env_parse("STS_MAX_CONNECTIONS", get)? {
            cfg.max_connections = v;
        }
        if let Some(v) = env_parse("STS_HEADER_READ_TIMEOUT_SECS", get)? {
            cfg.header_read_timeout_secs = v;
        }
        if let Some(v) = env_parse("STS_BODY_READ_TIMEOUT_SECS", get)? {
            cfg.body_read_timeout_secs = v;
        }
        if let Some(v) = get("STS_STORE_URL") {
            cfg.store_url = Some(v);
        }
        if let Some(v) = get("STS_STORE_PASSWORD_FILE") {
            cfg.store_password_file = Some(PathBuf::from(v));
        }
        if let Some(v) = get("STS_STORE_PASSWORD") {
            cfg.store_password = Some(crate::secret::Secret::new(v));
        }
        if let Some(v) = env_parse("STS_STORE_POOL_SIZE", get)? {
            cfg.store_pool_size = v;
        }
        if let Some(v) = env_parse("STS_STORE_WAIT_MILLIS", get)? {
            cfg.store_wait_millis = v;
        }
        if let Some(v) = get("STS_SESSION_COOKIE_NAME") {
            cfg.session_cookie_name = v;
        }
        if let Some(v) = env_parse("STS_SESSION_IDLE_SECS", get)? {
            cfg.session_idle_secs = v;
        }
        if let Some(v) = env_parse("STS_SESSION_MAX_SECS", get)? {
            cfg.session_max_secs = v;
        }
        if let Some(v) = env_parse("STS_LOCKOUT_THRESHOLD", get)? {
            cfg.lockout_threshold = v;
        }
        if let Some(v) = env_parse("STS_LOCKOUT_SOURCE_THRESHOLD", get)? {
            cfg.lockout_source_threshold = v;
        }
        if let Some(v) = env_parse("STS_TRUSTED_PROXIES", get)? {
            cfg.trusted_proxies = v;
        }
        if let Some(v) = env_parse("STS_LOCKOUT_MAX_ENTRIES", get)? {
            cfg.lockout_max_entries = v;
        }
        if let Some(v) = env_parse("STS_LOCKOUT_WINDOW_SECS", get)? {
            cfg.lockout_window_secs = v;
        }
        if let Some(v) = env_parse("STS_LOCKOUT_DURATION_SECS", get)? {
            cfg.lockout_duration_secs = v;
        }
        if let Some(v) = env_parse("STS_REAP_INTERVAL_SECS", get)? {
            cfg.reap_interval_secs = v;
        }
        if let Some(v) = env_parse("STS_INSTANCE_POLL_MILLIS", get)? {
            cfg.instance_poll_millis = v;
        }
        if let Some(v) = env_parse("STS_REST_STS_CALLER", get)? {
            cfg.rest_sts_caller = v;
        }
        if let Some(v) = env_parse("STS_METRICS", get)? {
            cfg.metrics = v;
        }
        if let Some(v) = env_parse("STS_METRICS_LISTEN", get)? {
            cfg.metrics_listen = Some(v);
        }
        if let Some(v) = get("STS_TLS_CERT_FILE") {
            cfg.tls_cert_file = Some(PathBuf::from(v));
        }
        if let Some(v) = get("STS_TLS_KEY_FILE") {
            cfg.tls_key_file = Some(PathBuf::from(v));
        }
        if let Some(v) = get("STS_MASTER_KEY_FILE") {
            cfg.master_key_file = Some(PathBuf::from(v));
        }
        if let Some(v) = get("STS_LOG") {
            cfg.log = v;
        }
        if let Some(v) = env_parse("STS_LOG_FORMAT", get)? {
            cfg.log_format = v;
        }
        if let Some(v) = get("STS_AUDIT_LOG") {
            cfg.audit_log = Some(v);
        }
        if let Some(v) = env_parse("STS_AUDIT_REQUIRED", get)? {
            cfg.audit_required = v;
        }
        cfg.validate()?;
        ldap::prepare(&mut cfg.realms, get("STS_LDAP_BIND_PASSWORD"))?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.max_body_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "max_body_bytes must be at least 1024".into(),
            ));
        }
        let day = 86_400;
        if !(1..=30 * day).contains(&self.session_idle_secs)
            || !(1..=30 * day).contains(&self.session_max_secs)
            || self.lockout_window_secs > day
            || self.lockout_duration_secs > day
        {
            return Err(ConfigError::Invalid(
                "session lifetimes must be 1 s to 30 days; lockout window and duration at most a day"
                    .into(),
            ));
        }
        if !(1..=10_000_000).contains(&self.lockout_max_entries) {
            return Err(ConfigError::Invalid(
                "lockout_max_entries must be between 1 and 10000000".into(),
            ));
        }
        if self.session_cookie_name.is_empty()
            || !self
                .session_cookie_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ConfigError::Invalid(
                "session_cookie_name must be letters, digits, `-` or `_`".into(),
            ));
        }
        if !(1..=86_400).contains(&self.reap_interval_secs) {
            return Err(ConfigError::Invalid(
                "reap_interval_secs must be between 1 and 86400".into(),
            ));
        }
        if !(10..=3_600_000).contains(&self.instance_poll_millis) {
            return Err(ConfigError::Invalid(
                "instance_poll_millis must be between 10 and 3600000".into(),
            ));
        }
        if !(1..=1000).contains(&self.store_pool_size) {
            return Err(ConfigError::Invalid(
                "store_pool_size must be between 1 and 1000".into(),
            ));
        }
        if !(10..=600_000).contains(&self.store_wait_millis) {
            return Err(ConfigError::Invalid(
                "store_wait_millis must be between 10 and 600000".into(),
            ));
        }
        if !(2..=256).contains(&self.max_batch_requests) {
            return Err(ConfigError::Invalid(
                "max_batch_requests must be 2 to 256 (a collection holds at least two requests)"
                    .into(),
            ));
        }
        if self.max_in_flight == 0 {
            return Err(ConfigError::Invalid(
                "max_in_flight must be at least 1".into(),
            ));
        }
        if !(1..=1_000_000).contains(&self.max_connections) {
            return Err(ConfigError::Invalid(
                "max_connections must be between 1 and 1000000".into(),
            ));
        }
        if !(1..=3600).contains(&self.header_read_timeout_secs)
            || !(1..=3600).contains(&self.body_read_timeout_secs)
        {
            return Err(ConfigError::Invalid(
                "header_read_timeout_secs and body_read_timeout_secs must be between 1 and 3600"
                    .into(),
            ));
        }
        if self.clock_skew_secs > 3600 || self.nonce_window_secs > 86_400 {
            return Err(ConfigError::Invalid(
                "clock_skew_secs must be at most 3600 and nonce_window_secs at most 86400".into(),
            ));
        }
        if !(8..=256).contains(&self.max_xml_depth) {
            return Err(ConfigError::Invalid(
                "max_xml_depth must be between 8 and 256".into(),
            ));
        }
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            return Err(ConfigError::Invalid(
                "tls_cert_file and tls_key_file go together".into(),
            ));
        }
        if let Some(a) = &self.adfs {
            a.validate()?;
        }
        if self.audit_log.as_deref().is_some_and(str::is_empty) {
            return Err(ConfigError::Invalid(
                "audit_log must be a file path, `stdout` or `syslog`".into(),
            ));
        }
        if self.audit_required && self.audit_log.is_none() {
            return Err(ConfigError::Invalid(
                "audit_required needs audit_log".into(),
            ));
        }
        if let Some(u) = &self.public_base_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(ConfigError::Invalid(
                "public_base_url must start with http:// or https://".into(),
            ));
        }
        Ok(())
    }

    /// The number of threads for CPU-bound work.
    pub fn cpu_threads(&self) -> usize {
        if self.cpu_threads > 0 {
            self.cpu_threads
        } else {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        }
    }

    /// Request handlers running at once.
    pub fn handler_threads(&self) -> usize {
        if self.handler_threads > 0 {
            self.handler_threads
        } else {
            self.cpu_threads()
        }
    }

    /// The store URL in effect.
    pub fn store_url(&self) -> String {
        self.store_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("sts.db").display()))
    }

    /// The public base URL without a trailing slash.
    pub fn base_url(&self) -> String {
        match &self.public_base_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None if self.tls_cert_file.is_some() => format!("https://{}", self.listen),
            None => format!("http://{}", self.listen),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("sts.toml");
        std::fs::write(&f, "listen = \"0.0.0.0:9000\"\nmax_body_bytes = 4096\n").unwrap();
        let env = |k: &str| (k == "STS_MAX_BODY_BYTES").then(|| "8192".to_string());
        let c = Config::load(Some(&f), &env).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.max_body_bytes, 8192);
        assert_eq!(c.base_url(), "http://0.0.0.0:9000");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("sts.toml");
        std::fs::write(&f, "listne = \"0.0.0.0:9000\"\n").unwrap();
        let err = Config::load(Some(&f), &|_| None).unwrap_err().to_string();
        assert!(err.contains("listne"), "{err}");
        let env = |k: &str| (k == "STS_LISTEN").then(|| "nope".to_string());
        assert!(Config::load(None, &env).is_err());
    }

    #[test]
    fn lockout_settings_from_the_environment() {
        let env = |k: &str| match k {
            "STS_LOCKOUT_SOURCE_THRESHOLD" => Some("7".to_string()),
            "STS_LOCKOUT_MAX_ENTRIES" => Some("1000".to_string()),
            _ => None,
        };
        let c = Config::load(None, &env).unwrap();
        assert_eq!(
            (c.lockout_source_threshold, c.lockout_max_entries),
            (7, 1000)
        );
        let proxies = |k: &str| (k == "STS_TRUSTED_PROXIES").then(|| "10.0.0.0/8, ::1".to_string());
        let c = Config::load(None, &proxies).unwrap();
        assert_eq!(c.trusted_proxies.0.len(), 2);
        let bad = |k: &str| (k == "STS_TRUSTED_PROXIES").then(|| "10.0.0.0/40".to_string());
        let err = Config::load(None, &bad).unwrap_err().to_string();
        assert!(
            err.contains("STS_TRUSTED_PROXIES") && err.contains("10.0.0.0/40"),
            "{err}"
        );
        let zero = |k: &str| (k == "STS_LOCKOUT_MAX_ENTRIES").then(|| "0".to_string());
        let err = Config::load(None, &zero).unwrap_err().to_string();
        assert!(err.contains("lockout_max_entries"), "{err}");
    }

    #[test]
    fn client_limits_from_file_and_environment() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("sts.toml");
        std::fs::write(
            &f,
            "max_connections = 10\nheader_read_timeout_secs = 5\nbody_read_timeout_secs = 7\n",
        )
        .unwrap();
        let env = |k: &str| (k == "STS_MAX_CONNECTIONS").then(|| "20".to_string());
        let c = Config::load(Some(&f), &env).unwrap();
        assert_eq!(
            (
                c.max_connections,
                c.header_read_timeout_secs,
                c.body_read_timeout_secs
            ),
            (20, 5, 7)
        );
        for (k, v) in [
            ("STS_MAX_CONNECTIONS", "0"),
            ("STS_HEADER_READ_TIMEOUT_SECS", "0"),
            ("STS_BODY_READ_TIMEOUT_SECS", "3601"),
        ] {
            let env = move |n: &str| (n == k).then(|| v.to_string());
            let err = Config::load(None, &env).unwrap_err().to_string();
            let key = k.trim_start_matches("STS_").to_ascii_lowercase();
            assert!(err.contains(&key), "{err}");
        }
    }
}
