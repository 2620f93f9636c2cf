//! A throwaway PostgreSQL server for tests: Debian's `initdb` and `pg_ctl` in a temporary
//! directory, on a free loopback port, with password (SCRAM) authentication. Running as root
//! (initdb refuses it), the server runs as the `postgres` system user, which owns the
//! directory. Readiness is a successful connection, polled with a generous bound; nothing
//! sleeps a fixed time hoping the server is up. Dropping it stops the server and removes the
//! directory. Only for this package's tests (feature `test-util`).
#![allow(clippy::panic, reason = "a test harness: failing to start fails the test loudly")]

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long a start may take before the test fails (a loaded 2-core CI machine is slow).
const READY_WITHIN: Duration = Duration::from_secs(120);
/// The role and database the URL names.
const USER: &str = "sts";
const DB: &str = "sts";

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A running (or stopped) throwaway server; see the module doc.
pub struct TestPostgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    password: String,
    /// `(uid, gid)` the server runs as when we are root.
    run_as: Option<(u32, u32)>,
    running: bool,
}

impl std::fmt::Debug for TestPostgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPostgres")
            .field("dir", &self.dir)
            .field("port", &self.port)
            .field("running", &self.running)
            .finish()
    }
}

impl TestPostgres {
    /// Initialises and starts a new server; panics (failing the test) if that cannot be done.
    pub fn start() -> TestPostgres {
        match Self::try_start() {
            Ok(pg) => pg,
            Err(e) => panic!("test PostgreSQL: {e}"),
        }
    }

    /// One server for the whole test process, started on first use: tests take a
    /// `fresh_database()` each. A static is never dropped, so a watchdog process stops the
    /// server and removes its directory once this process has exited.
    pub fn shared() -> &'static TestPostgres {
        static SHARED: std::sync::OnceLock<TestPostgres> = std::sync::OnceLock::new();
        SHARED.get_or_init(|| {
            let pg = TestPostgres::start();
            pg.watch_for_exit();
            pg
        })
    }

    fn watch_for_exit(&self) {
        let pg_ctl = self.bin.join("pg_ctl");
        let runas = if self.run_as.is_some() {
            "runuser -u postgres -- "
        } else {
            ""
        };
        let script = format!(
            "tail --pid={} -f /dev/null; {runas}'{}' -D '{}' stop -m immediate; rm -rf '{}'",
            std::process::id(),
            pg_ctl.display(),
            self.dir.join("data").display(),
            self.dir.display()
        );
        let spawned = Command::new("sh")
            .args(["-c", &script])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        if let Err(e) = spawned {
            panic!("test PostgreSQL: watchdog: {e}");
        }
    }

    /// Like `start`, with the reason as an error.
    pub fn try_start() -> Result<TestPostgres, String> {
        let bin = find_bin()?;
        let run_as = if is_root() {
            Some(postgres_ids()?)
        } else {
            None
        };
        let dir = std::env::temp_dir().join(format!(
            "sts-testpg-{}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut pg = TestPostgres {
            dir,
            bin,
            port: 0,
            password: uuid::Uuid::new_v4().simple().to_string(),
            run_as,
            running: false,
        };
        pg.init()?;
        // A free port can be taken between choosing and binding it: choose again.
        let mut last = String::new();
        for _ in 0..5 {
            pg.port = free_port()?;
            match pg.try_restart() {
                Ok(()) => {
                    pg.create_db()?;
                    return Ok(pg);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// `postgres://sts:PASSWORD@127.0.0.1:PORT/sts?sslmode=disable`.
    pub fn url(&self) -> String {
        self.url_of(DB)
    }

    /// The URL without the password (which then comes from `password()`).
    pub fn url_without_password(&self) -> String {
        format!(
            "postgres://{USER}@127.0.0.1:{}/{DB}?sslmode=disable",
            self.port
        )
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates a new, empty database on this server and returns its URL: tests that need
    /// isolation share one server instead of each starting its own.
    pub fn fresh_database(&self) -> String {
        let name = format!("t{}", uuid::Uuid::new_v4().simple());
        match self.admin().and_then(|mut c| {
            c.batch_execute(&format!("CREATE DATABASE {name}"))
                .map_err(|e| e.to_string())
        }) {
            Ok(()) => self.url_of(&name),
            Err(e) => panic!("test PostgreSQL: create database: {e}"),
        }
    }

    /// Creates a new, empty schema in the database `url()` names and returns a URL whose
    /// connections work in it (`search_path`): cheaper than a database (no copy of a
    /// template), for tests that each need an empty store.
    pub fn fresh_schema(&self) -> String {
        let name = format!("s{}", uuid::Uuid::new_v4().simple());
        let made = postgres::Client::connect(&self.url(), postgres::NoTls).and_then(|mut c| {
            c.batch_execute(&format!("CREATE SCHEMA {name}"))
        });
        match made {
            Ok(()) => format!("{}&options=-c%20search_path%3D{name}", self.url()),
            Err(e) => panic!("test PostgreSQL: create schema: {e}"),
        }
    }

    /// Stops the server (fast shutdown: sessions are disconnected, committed data stays).
    pub fn stop(&mut self) {
        if let Err(e) = self.pg_ctl(&["stop", "-m", "fast", "-w", "-t", "120"]) {
            panic!("test PostgreSQL: stop: {e}");
        }
        self.running = false;
    }

    /// Starts the stopped (or killed) server again, on the same port and data.
    pub fn restart(&mut self) {
        if let Err(e) = self.try_restart() {
            panic!("test PostgreSQL: restart: {e}");
        }
    }

    /// Kills the server and its backends with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        let pid = std::fs::read_to_string(self.dir.join("data/postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<u32>().ok()));
        let Some(pid) = pid else {
            panic!("test PostgreSQL: kill: no postmaster.pid");
        };
        // pg_ctl starts the postmaster in a session of its own, so its process group is the
        // server and every backend: kill them all at once.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .status();
        let gone = Path::new("/proc").join(pid.to_string());
        let deadline = Instant::now() + READY_WITHIN;
        while gone.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.running = false;
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    fn url_of(&self, db: &str) -> String {
        format!(
            "postgres://{USER}:{}@127.0.0.1:{}/{db}?sslmode=disable",
            self.password, self.port
        )
    }

    fn init(&self) -> Result<(), String> {
        let pwfile = self.dir.join("pwfile");
        std::fs::write(&pwfile, &self.password).map_err(|e| e.to_string())?;
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(&self.dir, Some(uid), Some(gid))
                .and_then(|()| std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid)))
                .map_err(|e| format!("chown: {e}"))?;
        }
        let data = self.dir.join("data");
        let out = self
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                USER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .map_err(|e| format!("initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let _ = std::fs::remove_file(&pwfile);
        let conf = format!(
            "listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{}'\n\
             max_connections = 300\n\
             shared_buffers = 64MB\n\
             fsync = on\n\
             synchronous_commit = on\n",
            self.dir.display()
        );
        let conf_path = data.join("postgresql.auto.conf");
        let mut old = std::fs::read_to_string(&conf_path).unwrap_or_default();
        old.push_str(&conf);
        std::fs::write(&conf_path, old).map_err(|e| e.to_string())
    }

    fn try_restart(&mut self) -> Result<(), String> {
        let log = self.dir.join("log");
        let port = format!("-p {}", self.port);
        // After a kill, the old backends may hold shared memory for a moment: try again.
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            let r = self.pg_ctl(&[
                "start",
                "-w",
                "-t",
                "120",
                "-l",
                &log.to_string_lossy(),
                "-o",
                &port,
            ]);
            match r {
                Ok(()) => break,
                Err(e) if Instant::now() > deadline || !e.contains("shared memory") => {
                    return Err(e);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        self.running = true;
        // Ready means a client can log in over TCP, as the store will.
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            match self.admin() {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > deadline => return Err(format!("not ready: {e}")),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(args)
            .output()
            .map_err(|e| format!("pg_ctl: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        Err(format!(
            "pg_ctl {args:?} failed: {}{}\nlog:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ))
    }

    /// A connection to the maintenance database `postgres`.
    fn admin(&self) -> Result<postgres::Client, String> {
        let mut cfg = postgres::Config::new();
        cfg.host("127.0.0.1")
            .port(self.port)
            .user(USER)
            .password(&self.password)
            .dbname("postgres")
            .connect_timeout(Duration::from_secs(5));
        cfg.connect(postgres::NoTls).map_err(|e| e.to_string())
    }

    fn create_db(&self) -> Result<(), String> {
        self.admin()?
            .batch_execute(&format!("CREATE DATABASE {DB}"))
            .map_err(|e| format!("create database: {e}"))
    }

    /// A command for one of the server's binaries, as the `postgres` user when we are root.
    fn command(&self, name: &str) -> Command {
        let mut c = match self.run_as {
            Some(_) => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(self.bin.join(name));
                c
            }
            None => Command::new(self.bin.join(name)),
        };
        c.current_dir(&self.dir);
        c
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if self.running {
            let _ = self.pg_ctl(&["stop", "-m", "immediate", "-w", "-t", "60"]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The newest `/usr/lib/postgresql/N/bin` (Debian), or `PG_BIN` if set.
fn find_bin() -> Result<PathBuf, String> {
    if let Some(b) = std::env::var_os("PG_BIN") {
        return Ok(PathBuf::from(b));
    }
    let root = Path::new("/usr/lib/postgresql");
    let newest = std::fs::read_dir(root)
        .map_err(|e| format!("{}: {e} (install the postgresql package)", root.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .max_by_key(|(v, _)| *v);
    newest
        .map(|(_, b)| b)
        .ok_or_else(|| format!("no initdb under {}", root.display()))
}

/// The effective user is root: `/proc/self` belongs to the process's effective uid.
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn postgres_ids() -> Result<(u32, u32), String> {
    let passwd = std::fs::read_to_string("/etc/passwd").map_err(|e| e.to_string())?;
    passwd
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            if f.next()? != "postgres" {
                return None;
            }
            let uid = f.nth(1)?.parse().ok()?;
            let gid = f.next()?.parse().ok()?;
            Some((uid, gid))
        })
        .ok_or_else(|| "no `postgres` system user (install the postgresql package)".into())
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(url: &str) -> i64 {
        let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
        c.query_one("SELECT count(*) FROM t", &[]).unwrap().get(0)
    }

    #[test]
    fn starts_stops_restarts_survives_a_kill_and_cleans_up() {
        let mut pg = TestPostgres::start();
        let url = pg.url();
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        c.batch_execute("CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
            .unwrap();
        drop(c);
        // A wrong password is refused: authentication is on.
        let bad = url.replace(pg.password(), "wrong");
        assert!(postgres::Client::connect(&bad, postgres::NoTls).is_err());
        pg.stop();
        assert!(postgres::Client::connect(&url, postgres::NoTls).is_err());
        pg.restart();
        assert_eq!(count(&url), 1);
        pg.kill();
        assert!(postgres::Client::connect(&url, postgres::NoTls).is_err());
        pg.restart();
        assert_eq!(count(&url), 1, "committed data survives a crash");
        let schema = pg.fresh_schema();
        let mut c = postgres::Client::connect(&schema, postgres::NoTls).unwrap();
        c.batch_execute("CREATE TABLE t (y text)").unwrap();
        let here: String = c.query_one("SELECT current_schema()", &[]).unwrap().get(0);
        assert!(schema.contains(&here), "{here}");
        drop(c);
        assert_eq!(count(&url), 1, "the public table is untouched");
        let other = pg.fresh_database();
        let mut c = postgres::Client::connect(&other, postgres::NoTls).unwrap();
        assert!(c.batch_execute("SELECT * FROM t").is_err(), "a new database");
        drop(c);
        let dir = pg.dir.clone();
        drop(pg);
        assert!(!dir.exists());
    }
}
