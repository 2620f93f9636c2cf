//! The test server: a real server on a free port, in process (so the clock can be pinned),
//! with its own data directory; the `sts` binary serving as an operator runs it; replies.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use sts::clock::Clock;
use sts::identity::{FileUserStore, User, hash_password};
use sts::secret::Secret;

use super::*;

pub struct TestServer {
    pub base: String,
    pub dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Options for a test server.
#[derive(Default)]
pub struct Opts {
    pub clock: Option<Arc<dyn Clock>>,
    /// Extra SOAP instance files: (file name, JSON).
    pub instances: Vec<(String, serde_json::Value)>,
    pub max_body_bytes: Option<usize>,
    pub max_in_flight: Option<usize>,
    /// Run the reaper this often.
    pub reap_every: Option<std::time::Duration>,
    pub rest_sts_caller: Option<sts::config::RestCaller>,
    /// Files written into the data directory before the start: (relative path, bytes).
    pub files: Vec<(String, Vec<u8>)>,
    /// Serve HTTPS with this (certificate PEM file, key PEM file).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// `public_base_url`, as behind a TLS proxy.
    pub public_base_url: Option<String>,
    /// Custom token plug-ins registered in Rust.
    pub plugins: Option<sts::plugin::Plugins>,
    /// Changes to the configuration (HTTP plug-ins, say).
    pub configure: Option<Configure>,
}

/// A change to a test server's configuration.
pub type Configure = Box<dyn FnOnce(&mut sts::config::Config) + Send>;

pub fn start() -> TestServer {
    start_with(Opts::default())
}

/// A data directory after first start, with the fixed test passwords.
pub fn bootstrapped_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    sts::datadir::bootstrap(
        dir.path(),
        Some(DEMO_PASSWORD.into()),
        Some(ADMIN_PASSWORD.into()),
        wall_clock(),
    )
    .unwrap();
    dir
}

pub fn start_with(opts: Opts) -> TestServer {
    let dir = bootstrapped_dir();
    let users = FileUserStore::open(&dir.path().join("users.json")).unwrap();
    users
        .add(User {
            username: "alice".into(),
            realm: "/".into(),
            password_hash: hash_password("s3cret").unwrap(),
            digest_secret: Some(Secret::new("s3cret".into())),
            attributes: [("mail".to_string(), vec!["alice@example.com".to_string()])].into(),
            disabled: false,
            admin: false,
        })
        .unwrap();
    for (name, json) in &opts.instances {
        std::fs::write(
            dir.path().join("instances/soap").join(name),
            serde_json::to_vec(json).unwrap(),
        )
        .unwrap();
    }
    for (name, bytes) in &opts.files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    serve_dir(dir, opts)
}

/// Starts a server on an existing data directory.
fn serve_dir(dir: tempfile::TempDir, opts: Opts) -> TestServer {
    let path = dir.path().to_owned();
    serve_path(&path, dir, opts)
}

/// Starts a server on the data directory `path`; `dir` is kept alive with it.
fn serve_path(path: &Path, dir: tempfile::TempDir, opts: Opts) -> TestServer {
    let reap_every = opts.reap_every;
    let mut cfg = sts::config::Config {
        data_dir: path.to_owned(),
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    };
    if let Some(m) = opts.max_body_bytes {
        cfg.max_body_bytes = m;
    }
    if let Some(m) = opts.max_in_flight {
        cfg.max_in_flight = m;
    }
    if let Some(c) = opts.rest_sts_caller {
        cfg.rest_sts_caller = c;
    }
    cfg.public_base_url = opts.public_base_url.clone();
    if let Some(f) = opts.configure {
        f(&mut cfg);
    }
    let plugins = opts.plugins.unwrap_or_default();
    let tls = opts.tls.as_ref().map(|(cert, key)| {
        cfg.tls_cert_file = Some(cert.clone());
        cfg.tls_key_file = Some(key.clone());
        sts::http::tls::server_config(cert, key).unwrap()
    });
    let scheme = if tls.is_some() { "https" } else { "http" };
    let clock = opts
        .clock
        .unwrap_or_else(|| Arc::new(sts::clock::SystemClock));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = sts::http::bind(cfg.listen).await.unwrap();
            cfg.listen = listener.local_addr().unwrap();
            // Off the async workers, as `ServerBuilder::start_on` does (PostgreSQL's client).
            let build_cfg = cfg.clone();
            let state = Arc::new(
                tokio::task::spawn_blocking(move || {
                    sts::build_state_with(&build_cfg, clock, plugins)
                })
                .await
                .unwrap()
                .unwrap(),
            );
            if let Some(every) = reap_every {
                sts::app::tasks::spawn_reaper(state.clone(), every);
            }
            sts::app::tasks::spawn_watcher(state.clone(), std::time::Duration::from_millis(50));
            addr_tx.send(cfg.listen).unwrap();
            let stop = async {
                let _ = rx.await;
            };
            match tls {
                Some(config) => sts::app::serve_tls(state, listener, config, stop).await,
                None => sts::app::serve(state, listener, stop).await,
            }
        });
    });
    let addr = addr_rx.recv().unwrap();
    TestServer {
        base: format!("{scheme}://{addr}"),
        dir,
        shutdown: Some(tx),
        thread: Some(thread),
    }
}

impl TestServer {
    /// A handle on a server running elsewhere (an `sts serve` process of a cluster test), for
    /// the request helpers; dropping it stops nothing.
    pub fn remote(base: &str) -> TestServer {
        TestServer {
            base: base.to_owned(),
            dir: tempfile::tempdir().unwrap(),
            shutdown: None,
            thread: None,
        }
    }

    /// A second node on the same data directory and store, as in a cluster.
    pub fn second_node(&self) -> TestServer {
        serve_path(
            self.dir.path(),
            tempfile::tempdir().unwrap(),
            Opts::default(),
        )
    }

    /// Stops the server and starts a new one on the same data directory.
    pub fn restart(mut self) -> TestServer {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        serve_dir(dir, Opts::default())
    }

    /// Logs in to `realm` with `/json/realms/root/realms/{realm}/authenticate`.
    pub fn login_in(&self, realm: &str, user: &str, password: &str) -> String {
        let r = self.post(
            &format!("/json/realms/root/realms/{realm}/authenticate"),
            &[
                ("X-OpenAM-Username", user),
                ("X-OpenAM-Password", password),
                ("Content-Type", "application/json"),
            ],
            "{}",
        );
        assert_eq!(r.status, 200, "login {user} in {realm}: {}", r.body);
        r.json()["tokenId"].as_str().unwrap().to_owned()
    }

    /// Logs in with `/json/authenticate` and returns the session token.
    pub fn login(&self, user: &str, password: &str) -> String {
        let r = self.post(
            "/json/authenticate",
            &[
                ("X-OpenAM-Username", user),
                ("X-OpenAM-Password", password),
                ("Content-Type", "application/json"),
            ],
            "{}",
        );
        assert_eq!(r.status, 200, "login {user}: {}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        v["tokenId"].as_str().unwrap().to_owned()
    }

    /// Sends a request with any method.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        let client = reqwest::blocking::Client::new();
        let mut req = client
            .request(method.parse().unwrap(), self.url(path))
            .body(body.to_owned());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Reply::from(req.send().unwrap())
    }

    /// Adds a user (without a digest secret) to the identity store, creating its realm if needed.
    pub fn add_user(&self, realm: &str, name: &str, password: &str) {
        let users = FileUserStore::open(&self.dir.path().join("users.json")).unwrap();
        if !users
            .realms()
            .unwrap()
            .contains(&sts::identity::normalize_realm(realm))
        {
            users.add_realm(realm).unwrap();
        }
        users
            .add(User {
                username: name.into(),
                realm: realm.into(),
                password_hash: hash_password(password).unwrap(),
                digest_secret: None,
                attributes: Default::default(),
                disabled: false,
                admin: false,
            })
            .unwrap();
    }

    /// The token store of this server.
    pub fn store(&self) -> std::sync::Arc<dyn sts::store::Store> {
        sts::store::open(&format!(
            "sqlite://{}",
            self.dir.path().join("sts.db").display()
        ))
        .unwrap()
    }

    /// Sessions of a user, read from the store.
    pub fn sessions_of(&self, realm: &str, user: &str) -> Vec<sts::store::SessionRecord> {
        let store = sts::store::open(&format!(
            "sqlite://{}",
            self.dir.path().join("sts.db").display()
        ))
        .unwrap();
        store.sessions_of(realm, user).unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn instance_url(&self) -> String {
        self.url(&format!("/sts/{INSTANCE}"))
    }

    pub fn cert(&self, alias: &str) -> PathBuf {
        self.dir.path().join(format!("keys/{alias}.crt.pem"))
    }

    /// POSTs a body with the given headers.
    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Reply {
        let client = reqwest::blocking::Client::new();
        let mut req = client.post(self.url(path)).body(body.into());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().unwrap();
        Reply::from(resp)
    }

    /// POSTs from the loopback address `from` (e.g. `127.0.0.2`: every 127/8 address is local
    /// on Linux), so that the server sees another client address.
    pub fn post_from(
        &self,
        from: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> Reply {
        let client = reqwest::blocking::Client::builder()
            .local_address(from.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap();
        let mut req = client.post(self.url(path)).body(body.into());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Reply::from(req.send().unwrap())
    }

    pub fn post_soap11(&self, body: &str) -> Reply {
        self.post(
            &format!("/sts/{INSTANCE}"),
            &[
                ("Content-Type", "text/xml; charset=utf-8"),
                ("SOAPAction", &format!("\"{ISSUE_ACTION}\"")),
            ],
            body,
        )
    }

    pub fn post_soap12(&self, body: &str) -> Reply {
        self.post(
            &format!("/sts/{INSTANCE}"),
            &[(
                "Content-Type",
                &format!("application/soap+xml; charset=utf-8; action=\"{ISSUE_ACTION}\""),
            )],
            body,
        )
    }

    pub fn get(&self, path: &str) -> Reply {
        Reply::from(reqwest::blocking::get(self.url(path)).unwrap())
    }
}

pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub set_cookie: Option<String>,
    pub body: String,
    /// Every response header, names in lower case.
    pub headers: Vec<(String, String)>,
}

impl From<reqwest::blocking::Response> for Reply {
    fn from(r: reqwest::blocking::Response) -> Self {
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let set_cookie = r
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let headers = r
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        Reply {
            status,
            content_type,
            set_cookie,
            headers,
            body: r.text().unwrap(),
        }
    }
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("reply is not JSON ({e}): {}", self.body))
    }

    pub fn doc(&self) -> sts::xml::Element {
        sts::xml::parse(self.body.as_bytes(), sts::xml::Limits::default())
            .unwrap_or_else(|e| panic!("reply is not XML ({e}): {}", self.body))
    }

    /// The issued assertion, cut out as text (as clients do).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn assertion_text(&self) -> String {
        let start = self
            .body
            .find("<saml2:Assertion")
            .unwrap_or_else(|| panic!("no assertion in {}", self.body));
        let end = self.body.find("</saml2:Assertion>").unwrap() + "</saml2:Assertion>".len();
        self.body[start..end].to_owned()
    }

    /// Asserts a fault and returns its `wst:` code (SOAP 1.1 faultcode, SOAP 1.2 Subcode).
    pub fn fault_code(&self) -> String {
        let doc = self.doc();
        let body = doc
            .elements()
            .find(|e| e.local == "Body")
            .unwrap_or_else(|| panic!("no Body: {}", self.body));
        let fault = body
            .elements()
            .find(|e| e.local == "Fault")
            .unwrap_or_else(|| panic!("not a fault: {}", self.body));
        if let Some(fc) = fault.elements().find(|e| e.local == "faultcode") {
            return fc.text();
        }
        let code = fault.child(&[SOAP12], "Code").unwrap();
        match code.child(&[SOAP12], "Subcode") {
            Some(sub) => sub.child(&[SOAP12], "Value").unwrap().text(),
            None => code.child(&[SOAP12], "Value").unwrap().text(),
        }
    }
}

/// The `sts` binary serving (`sts serve --listen 127.0.0.1:0`), as an operator runs it: no
/// `STS_*` variable of this process leaks in, its stderr (the log) is collected.
pub struct LoggedServer {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// What it printed on stdout up to and including its "listening on" line.
    pub printed: Vec<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl LoggedServer {
    /// Starts it in `cwd` with `args` after `serve --listen 127.0.0.1:0`, and `env`.
    pub fn start(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> LoggedServer {
        use std::io::{BufRead, Read};
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sts"));
        for (k, _) in std::env::vars() {
            if k.starts_with("STS_") {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .current_dir(cwd)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut printed = Vec::new();
        let base = loop {
            let Some(line) = lines.next() else {
                let _ = child.wait();
                panic!(
                    "sts serve ended before listening: {}",
                    stderr.join().unwrap()
                );
            };
            let line = line.unwrap();
            printed.push(line.clone());
            if let Some((_, url)) = line.split_once(" listening on ") {
                break url.trim().to_owned();
            }
        };
        // Keep reading, so that the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        LoggedServer {
            child,
            base,
            printed,
            stderr: Some(stderr),
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// Its process id (for signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for it to exit after a signal a test sent, checks that it exited 0, and returns
    /// its log.
    pub fn stop_after_signal(mut self) -> String {
        let status = self.child.wait().unwrap();
        assert!(status.success(), "exit status {status}");
        self.stderr.take().unwrap().join().unwrap()
    }

    /// If it has exited: its log.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(_)) => Some(self.stderr.take()?.join().unwrap()),
            _ => None,
        }
    }

    /// Kills it with SIGKILL, as a crash would; returns what it logged until then.
    pub fn kill(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr.take().unwrap().join().unwrap()
    }

    /// Stops it with SIGTERM (a graceful stop, which drains every connection), checks that
    /// it exited 0, and returns everything it logged.
    pub fn stop(mut self) -> String {
        stop_gracefully(&mut self.child);
        self.stderr.take().unwrap().join().unwrap()
    }
}

impl Drop for LoggedServer {
    fn drop(&mut self) {
        if self.stderr.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends SIGTERM to a running `sts serve` and checks that it stops gracefully (exit 0).
pub fn stop_gracefully(child: &mut std::process::Child) {
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status}");
}

/// A server with the persisting instance `soap-persist`, and `opts` for the rest.
pub fn server_with(opts: Opts) -> TestServer {
    start_with(Opts {
        instances: vec![(
            "soap-persist.json".into(),
            persisting_instance("soap-persist", true),
        )],
        ..opts
    })
}
