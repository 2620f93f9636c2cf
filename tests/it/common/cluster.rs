//! A cluster: `sts serve` processes, each with a data directory of its own (config, instance
//! files, users), sharing one throwaway PostgreSQL and one master key, as operators run them.

use std::path::PathBuf;
use std::time::Duration;

use sts::identity::{FileUserStore, User, hash_password};
use sts::secret::Secret;
use sts::store::testpg::TestPostgres;

use super::*;

/// One node: the process (None once killed or stopped) and a request handle on it.
pub struct Node {
    pub proc: Option<LoggedServer>,
    pub http: TestServer,
    _dir: tempfile::TempDir,
}

pub struct Cluster {
    pub pg: TestPostgres,
    /// The store URL every node uses (with the password: tests only).
    pub url: String,
    pub nodes: Vec<Node>,
    _secrets: tempfile::TempDir,
    master_key: PathBuf,
}

/// The persisting SOAP instance every node serves from its own instance file.
pub const PERSIST: &str = "soap-persist";

impl Cluster {
    /// `n` nodes on a new PostgreSQL; `poll` is each node's fallback poll of the change feed
    /// (`instance_poll_millis`): set it long to show that changes arrive by notification.
    pub fn start(n: usize, poll: Duration) -> Cluster {
        let pg = TestPostgres::start();
        let url = pg.url();
        let secrets = tempfile::tempdir().unwrap();
        let master_key = secrets.path().join("master.key");
        let (ok, out) = run(Command::new(env!("CARGO_BIN_EXE_sts"))
            .args(["keys", "master-key", "generate"])
            .arg(&master_key));
        assert!(ok, "{out}");
        let mut c = Cluster {
            pg,
            url,
            nodes: Vec::new(),
            _secrets: secrets,
            master_key,
        };
        for _ in 0..n {
            let master_key = c.master_key.clone();
            c.add_node(poll, &master_key);
        }
        c
    }

    /// Starts one more node, reading its master key from `master_key` (the other nodes' file,
    /// or another during a master-key rotation); returns its index.
    pub fn add_node(&mut self, poll: Duration, master_key: &std::path::Path) -> usize {
        let dir = bootstrapped_dir();
        let users = FileUserStore::open(&dir.path().join("users.json")).unwrap();
        users
            .add(User {
                username: "alice".into(),
                realm: "/".into(),
                password_hash: hash_password("s3cret").unwrap(),
                digest_secret: Some(Secret::new("s3cret".into())),
                attributes: Default::default(),
                disabled: false,
                admin: false,
            })
            .unwrap();
        std::fs::write(
            dir.path().join(format!("instances/soap/{PERSIST}.json")),
            serde_json::to_vec(&persisting_instance(PERSIST, true)).unwrap(),
        )
        .unwrap();
        let mut proc = self.serve(&dir, poll, master_key);
        wait_until("the node answers", || {
            if let Some(log) = proc.exited() {
                panic!("a node stopped at start: {log}");
            }
            reqwest::blocking::get(format!("{}/", proc.base)).is_ok()
        });
        let http = TestServer::remote(&proc.base);
        self.nodes.push(Node {
            proc: Some(proc),
            http,
            _dir: dir,
        });
        self.nodes.len() - 1
    }

    /// The master key file the nodes started by [`Cluster::start`] and [`Cluster::sts`] read.
    pub fn master_key_file(&self) -> &std::path::Path {
        &self.master_key
    }

    fn serve(
        &self,
        dir: &tempfile::TempDir,
        poll: Duration,
        master_key: &std::path::Path,
    ) -> LoggedServer {
        let data = dir.path().to_str().unwrap().to_owned();
        let poll = poll.as_millis().to_string();
        LoggedServer::start(
            dir.path(),
            &["--data-dir", &data],
            &[
                ("STS_STORE_URL", &self.url),
                ("STS_MASTER_KEY_FILE", master_key.to_str().unwrap()),
                ("STS_INSTANCE_POLL_MILLIS", &poll),
                ("STS_LOG", "info"),
            ],
        )
    }

    /// Node `i`'s request handle.
    pub fn node(&self, i: usize) -> &TestServer {
        &self.nodes[i].http
    }

    /// Kills node `i` with SIGKILL; returns its log.
    pub fn kill(&mut self, i: usize) -> String {
        self.nodes[i].proc.take().unwrap().kill()
    }

    /// The `sts` command as an operator runs it against this cluster's store and master key.
    pub fn sts(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sts"));
        for (k, _) in std::env::vars() {
            if k.starts_with("STS_") {
                c.env_remove(k);
            }
        }
        c.arg("--data-dir")
            .arg(self._secrets.path())
            .env("STS_STORE_URL", &self.url)
            .env("STS_MASTER_KEY_FILE", &self.master_key);
        c
    }

    /// The shared store, opened as a node opens it.
    pub fn store(&self) -> std::sync::Arc<dyn sts::store::Store> {
        sts::store::open(&self.url).unwrap()
    }
}

/// A SOAP Issue at `/sts/{instance}` with alice's PasswordText UsernameToken.
pub fn issue_at(s: &TestServer, instance: &str, timeout: Duration) -> Result<Reply, String> {
    let client = reqwest::blocking::Client::builder()
        .timeout(timeout)
        .build()
        .unwrap();
    client
        .post(s.url(&format!("/sts/{instance}")))
        .header("Content-Type", "text/xml")
        .header("SOAPAction", ISSUE_ACTION)
        .body(envelope(
            SOAP11,
            &username_text("alice", "s3cret"),
            RST_ISSUE,
        ))
        .send()
        .map(Reply::from)
        .map_err(|e| e.to_string())
}
