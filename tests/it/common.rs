//! Test harness: a real server on a free port, in process (so the clock can be pinned), with
//! its own data directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use sts::clock::Clock;
use sts::identity::{FileUserStore, User, hash_password};
use sts::secret::Secret;

pub const DEMO_PASSWORD: &str = "changeit";
pub const ADMIN_PASSWORD: &str = "admin-pw-1";
pub const INSTANCE: &str = "soap-username-transformer";
pub const WST: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512";
pub const SAML2: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const ISSUE_ACTION: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue";

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
        chrono::Utc::now(),
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
        sts::server::tls::server_config(cert, key).unwrap()
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
            let listener = sts::server::bind(cfg.listen).await.unwrap();
            cfg.listen = listener.local_addr().unwrap();
            let state = Arc::new(sts::build_state_with(&cfg, clock, plugins).unwrap());
            if let Some(every) = reap_every {
                sts::server::spawn_reaper(state.clone(), every);
            }
            sts::server::spawn_instance_poller(state.clone(), std::time::Duration::from_millis(50));
            addr_tx.send(cfg.listen).unwrap();
            let stop = async {
                let _ = rx.await;
            };
            match tls {
                Some(config) => sts::server::tls::serve_tls(state, listener, config, stop).await,
                None => sts::server::serve(state, listener, stop).await,
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

/// A SOAP envelope with the given security header content and RST children.
pub fn envelope(soap_ns: &str, security: &str, rst_children: &str) -> String {
    format!(
        concat!(
            "<s:Envelope xmlns:s=\"{soap}\"><s:Header>",
            "<wsa:Action xmlns:wsa=\"http://www.w3.org/2005/08/addressing\">{action}</wsa:Action>",
            "<wsa:MessageID xmlns:wsa=\"http://www.w3.org/2005/08/addressing\">urn:uuid:5e1f2a3b-0000-4000-8000-000000000001</wsa:MessageID>",
            "<wsse:Security xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\" ",
            "xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd\">{security}</wsse:Security>",
            "</s:Header><s:Body><wst:RequestSecurityToken xmlns:wst=\"{wst}\">{rst}</wst:RequestSecurityToken></s:Body></s:Envelope>"
        ),
        soap = soap_ns,
        action = ISSUE_ACTION,
        security = security,
        wst = WST,
        rst = rst_children,
    )
}

pub fn username_text(user: &str, password: &str) -> String {
    format!(
        "<wsse:UsernameToken><wsse:Username>{user}</wsse:Username><wsse:Password Type=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText\">{password}</wsse:Password></wsse:UsernameToken>"
    )
}

/// A PasswordDigest UsernameToken with a fresh random nonce, created now.
pub fn username_digest(user: &str, password: &str) -> String {
    let mut nonce = [0u8; 16];
    openssl::rand::rand_bytes(&mut nonce).unwrap();
    let created = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    username_digest_with(user, password, &nonce, &created)
}

pub fn username_digest_with(user: &str, password: &str, nonce: &[u8], created: &str) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut h = openssl::sha::Sha1::new();
    h.update(nonce);
    h.update(created.as_bytes());
    h.update(password.as_bytes());
    let digest = b64.encode(h.finish());
    format!(
        "<wsse:UsernameToken><wsse:Username>{user}</wsse:Username><wsse:Password Type=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest\">{digest}</wsse:Password><wsse:Nonce EncodingType=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary\">{}</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken>",
        b64.encode(nonce)
    )
}

pub const RST_ISSUE: &str =
    "<wst:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue</wst:RequestType>";

pub fn applies_to(address: &str) -> String {
    format!(
        "<wsp:AppliesTo xmlns:wsp=\"http://schemas.xmlsoap.org/ws/2004/09/policy\"><wsa:EndpointReference xmlns:wsa=\"http://www.w3.org/2005/08/addressing\"><wsa:Address>{address}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>"
    )
}

/// The demo instance at `element`, persisting issued tokens or not.
pub fn persisting_instance(element: &str, persist: bool) -> serde_json::Value {
    let mut j = sts::datadir::demo_instance();
    j["deployment-config"]["deployment-url-element"] = element.into();
    j["persist-issued-tokens-in-cts"] = if persist { "true" } else { "false" }.into();
    j
}

/// A Validate or Cancel envelope (`op` is `Validate` or `Cancel`) holding `target`.
pub fn target_envelope(op: &str, security: &str, target: &str) -> String {
    envelope(SOAP11, security, &format!(
        "<wst:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/{op}</wst:RequestType><wst:{op}Target>{target}</wst:{op}Target>"
    ))
    .replace(ISSUE_ACTION, &format!("http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/{op}"))
}

/// A SecurityTokenReference to a SAML assertion by ID.
pub fn saml_str(id: &str) -> String {
    format!(
        "<wsse:SecurityTokenReference xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\"><wsse:KeyIdentifier ValueType=\"http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLID\">{id}</wsse:KeyIdentifier></wsse:SecurityTokenReference>"
    )
}

/// Runs a command; returns (success, stdout+stderr).
pub fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (is it installed? see README)"));
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Verifies an assertion with `xmlsec1`, trusting only `cert`.
pub fn xmlsec1_verify(assertion: &str, cert: &Path) -> (bool, String) {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), assertion).unwrap();
    run(Command::new("xmlsec1")
        .arg("--verify")
        .arg("--trusted-pem")
        .arg(cert)
        .arg("--id-attr:ID")
        .arg("urn:oasis:names:tc:SAML:2.0:assertion:Assertion")
        .arg(f.path()))
}

/// Verifies an assertion with python `signxml`, trusting only `cert`.
pub fn signxml_verify(assertion: &str, cert: &Path) -> (bool, String) {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), assertion).unwrap();
    run(Command::new("python3")
        .arg(peers_dir().join("signxml_verify.py"))
        .arg(f.path())
        .arg(cert))
}

pub fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}

pub fn captures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/soap/captures")
}

/// Polls `done` until it holds: for changes that reach the server on a poll (instances,
/// keys). The bound only keeps a broken build from hanging; no correct run comes near it.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let guard = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !done() {
        assert!(std::time::Instant::now() < guard, "never happened: {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
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
            let line = lines
                .next()
                .expect("sts serve ended before listening")
                .unwrap();
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
