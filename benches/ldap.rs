//! SOAP Issue with a PasswordText UsernameToken checked against a real slapd (search as the
//! service account, then bind as the user, on pooled connections), next to the PasswordDigest
//! path of a local realm and `openssl speed` RSA-2048 signing, in the same run.
//!
//! `cargo bench --bench ldap` (needs wrk and slapd: `scripts/deps.sh bench`, `scripts/deps.sh
//! test`). Knobs: `STS_BENCH_DURATION` (10s), `STS_BENCH_CONNECTIONS` (64).
//! Under `cargo test --all-targets` it is a smoke run: one Issue through the directory.

#![allow(clippy::expect_used, clippy::indexing_slicing, clippy::unwrap_used)]

use std::io::Write as _;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sts::identity::testldap::{TestLdap, USER_PASSWORD};

const DIGEST_USER: &str = "bench";
const DIGEST_PASSWORD: &str = "bench-password";

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let ldap = TestLdap::start();
    let data = tempfile::tempdir().expect("tempdir");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let server = Server::start(&ldap, data.path(), port);
    let base = format!("http://127.0.0.1:{port}");
    if !bench {
        let log = data.path().join("server.log");
        let r = std::panic::catch_unwind(|| smoke(&base));
        if r.is_err() {
            eprintln!(
                "server log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            std::process::exit(1);
        }
        return;
    }
    let duration = std::env::var("STS_BENCH_DURATION").unwrap_or_else(|_| "10s".into());
    let conns = std::env::var("STS_BENCH_CONNECTIONS").unwrap_or_else(|_| "64".into());
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    println!("== openssl speed -multi {cpus} rsa2048");
    let out = Command::new("openssl")
        .args([
            "speed",
            "-seconds",
            "5",
            "-multi",
            &cpus.to_string(),
            "rsa2048",
        ])
        .stderr(Stdio::null())
        .output()
        .expect("openssl speed");
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{}", text.lines().last().unwrap_or(""));

    let slapd = slapd_pid(&ldap.ldaps_url()).expect("slapd pid");
    let wrk = |path: &str, script: &str, user: &str, password: &str| {
        let sts_before = cpu_ms(server.pid());
        let slapd_before = cpu_ms(slapd);
        let out = Command::new("wrk")
            .args([
                "-t2",
                &format!("-c{conns}"),
                &format!("-d{duration}"),
                "--latency",
            ])
            .args(["-s", script])
            .arg(format!("{base}{path}"))
            .env("STS_BENCH_USER", user)
            .env("STS_BENCH_PASSWORD", password)
            .output()
            .expect("wrk (scripts/deps.sh bench)");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let n = field(&text, "requests in").unwrap_or(0.0);
        let sts_ms = (cpu_ms(server.pid()) - sts_before) / n.max(1.0);
        let slapd_ms = (cpu_ms(slapd) - slapd_before) / n.max(1.0);
        (text, stderr, n, sts_ms, slapd_ms)
    };
    println!("== SOAP Issue, PasswordDigest, local realm, {conns} connections, {duration}");
    let (digest, err, _, sts_ms, _) = wrk(
        "/sts/soap-username-transformer",
        "bench/issue_digest.lua",
        DIGEST_USER,
        DIGEST_PASSWORD,
    );
    print!("{}{err}", summary(&digest));
    println!("CPU per request: sts {sts_ms:.3} ms");
    println!(
        "== SOAP Issue, PasswordText against slapd (realm /dir), {conns} connections, {duration}"
    );
    let (text, err, _, sts_ms, slapd_ms) = wrk(
        "/sts/dir/soap-dir",
        "bench/issue_text.lua",
        "alice",
        USER_PASSWORD,
    );
    print!("{}{err}", summary(&text));
    println!(
        "CPU per request: sts {sts_ms:.3} ms, slapd {slapd_ms:.3} ms ({:.0}% of the two)",
        100.0 * slapd_ms / (sts_ms + slapd_ms).max(f64::EPSILON)
    );
    println!(
        "connections from sts to slapd after the run: {}",
        established_to(&ldap.ldaps_url())
    );
    if let (Some(d), Some(t)) = (
        field(&digest, "Requests/sec:"),
        field(&text, "Requests/sec:"),
    ) {
        println!(
            "PasswordText via LDAP / PasswordDigest local: {:.2}x",
            t / d
        );
    }
    drop(server);
}

/// One Issue through the directory realm: the path works (a smoke run of the benchmark).
fn smoke(base: &str) {
    let lua = std::fs::read_to_string("bench/issue_text.lua").expect("bench/issue_text.lua");
    let body = between(&lua, "wrk.body = ", "local non200")
        .replace("' .. user .. '", "alice")
        .replace("' .. password .. '", USER_PASSWORD)
        .replace("'\n  .. '", "")
        .trim()
        .trim_matches('\'')
        .to_owned();
    let r = reqwest::blocking::Client::new()
        .post(format!("{base}/sts/dir/soap-dir"))
        .header("Content-Type", "text/xml; charset=utf-8")
        .header(
            "SOAPAction",
            "\"http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue\"",
        )
        .body(body)
        .send()
        .expect("Issue");
    let status = r.status();
    let text = r.text().unwrap_or_default();
    assert_eq!(status, 200, "{text}");
    assert!(text.contains(">alice</saml2:NameID>"), "{text}");
    println!("smoke: an Issue through slapd answered 200");
}

fn between<'a>(s: &'a str, from: &str, to: &str) -> &'a str {
    let start = s.find(from).map_or(0, |i| i + from.len());
    let end = s[start..].find(to).map_or(s.len(), |i| start + i);
    &s[start..end]
}

/// wrk's summary lines: throughput, latency percentiles, errors.
fn summary(wrk: &str) -> String {
    wrk.lines()
        .filter(|l| {
            l.contains("Requests/sec")
                || l.contains("requests in")
                || l.contains("Non-2xx")
                || l.contains("Socket errors")
                || l.trim_start().starts_with("50%")
                || l.trim_start().starts_with("99%")
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The number after `label` (or before it, for "N requests in").
fn field(wrk: &str, label: &str) -> Option<f64> {
    let line = wrk.lines().find(|l| l.contains(label))?;
    if label == "requests in" {
        line.split_whitespace().next()?.parse().ok()
    } else {
        line.split_whitespace().last()?.parse().ok()
    }
}

/// User and system CPU time of a process so far, in milliseconds.
fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, a)| a);
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0);
    // Linux reports in clock ticks of 1/100 s on every platform it runs this on.
    ticks * 10.0
}

fn port_of(url: &str) -> String {
    url.rsplit(':').next().unwrap_or("").to_owned()
}

/// The pid of the slapd listening on `url`'s port.
fn slapd_pid(url: &str) -> Option<u32> {
    let out = Command::new("ss")
        .args(["-Htlnp", &format!("sport = :{}", port_of(url))])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let at = text.find("pid=")? + 4;
    text[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Established TCP connections to `url`'s port (the client ends: sts's pool).
fn established_to(url: &str) -> usize {
    Command::new("ss")
        .args([
            "-Htn",
            "state",
            "established",
            &format!("dport = :{}", port_of(url)),
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().count())
        .unwrap_or(0)
}

/// `sts serve` (the benchmark build) with the demo instance in realm `/`, a copy of it in the
/// directory realm `/dir`, and a local PasswordDigest user.
struct Server(Child);

impl Server {
    fn start(ldap: &TestLdap, dir: &std::path::Path, port: u16) -> Server {
        let sts = env!("CARGO_BIN_EXE_sts");
        let data = dir.join("data");
        let ok = Command::new(sts)
            .arg("--data-dir")
            .arg(&data)
            .arg("init")
            .env("STS_DEMO_PASSWORD", "demo-password")
            .stdout(Stdio::null())
            .status()
            .expect("sts init");
        assert!(ok.success());
        let ok = Command::new(sts)
            .arg("--data-dir")
            .arg(&data)
            .args(["user", "add", DIGEST_USER, "--digest"])
            .env("STS_USER_PASSWORD", DIGEST_PASSWORD)
            .stdout(Stdio::null())
            .status()
            .expect("sts user add");
        assert!(ok.success());
        let demo = data.join("instances/soap/soap-username-transformer.json");
        let mut inst: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&demo).expect("demo instance")).expect("json");
        inst["deployment-config"]["deployment-url-element"] = "soap-dir".into();
        inst["deployment-config"]["deployment-realm"] = "/dir".into();
        std::fs::write(
            data.join("instances/soap/soap-dir.json"),
            serde_json::to_vec(&inst).expect("json"),
        )
        .expect("instance");
        let config = dir.join("sts.toml");
        let mut f = std::fs::File::create(&config).expect("sts.toml");
        writeln!(
            f,
            "[realms.\"/dir\".ldap]\nurls = [\"{}\"]\nca_file = \"{}\"\nbind_dn = \"{}\"\n\
             bind_password_file = \"{}\"\nuser_base = \"ou=people,dc=example,dc=com\"\n\
             user_filter = \"(uid={{username}})\"",
            ldap.ldaps_url(),
            ldap.ca_pem_path().display(),
            ldap.bind_dn(),
            ldap.bind_password_path().display(),
        )
        .expect("write sts.toml");
        let log = std::fs::File::create(dir.join("server.log")).expect("log");
        let child = Command::new(sts)
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(&data)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .env("STS_LOG", "warn")
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("sts serve");
        let server = Server(child);
        let started = Instant::now();
        while reqwest::blocking::get(format!("http://127.0.0.1:{port}/health")).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "sts did not start: {}",
                std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
