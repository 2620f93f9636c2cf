//! The `sts` binary: help, version, first start, configuration errors, graceful shutdown,
//! and the user, instance, key, client and token commands.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::common::*;

fn sts() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sts"));
    for (k, _) in std::env::vars() {
        if k.starts_with("STS_") {
            c.env_remove(k);
        }
    }
    c
}

#[test]
fn help_and_version_explain_every_command() {
    let (ok, out) = run(sts().arg("--help"));
    assert!(ok, "{out}");
    for cmd in [
        "serve", "init", "user", "realm", "tokens", "instance", "keys",
    ] {
        assert!(out.contains(cmd), "--help misses {cmd}: {out}");
    }
    let (ok, out) = run(sts().args(["user", "--help"]));
    for sub in ["add", "passwd", "disable", "enable", "delete", "list"] {
        assert!(ok && out.contains(sub), "user --help misses {sub}: {out}");
    }
    let (ok, out) = run(sts().arg("--version"));
    assert!(
        ok && out.trim() == format!("sts {}", env!("CARGO_PKG_VERSION")),
        "{out}"
    );
}

#[test]
fn unknown_config_keys_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sts.toml");
    std::fs::write(&cfg, "listen = \"127.0.0.1:0\"\nmax_bodybytes = 1\n").unwrap();
    let (ok, out) = run(sts().arg("--config").arg(&cfg).arg("init"));
    assert!(!ok);
    assert!(out.contains("max_bodybytes"), "{out}");
}

#[test]
fn first_start_serves_issue_and_sigterm_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = sts()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("STS_DATA_DIR", &data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut password = None;
    let mut admin_password = None;
    let mut wsdl = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(p) = line.strip_prefix("created administrator `amadmin` with password: ") {
            admin_password = Some(p.to_owned());
        }
        if let Some(p) = line.strip_prefix("created user `demo` with password: ") {
            password = Some(p.to_owned());
        }
        if let Some(w) = line.trim().strip_prefix("WSDL: ") {
            wsdl = Some(w.to_owned());
            break;
        }
    }
    let password = password.expect("generated demo password printed once");
    let admin_password = admin_password.expect("generated amadmin password printed once");
    assert_ne!(admin_password, password);
    let wsdl = wsdl.expect("WSDL URL printed");
    assert!(
        wsdl.ends_with("/sts/soap-username-transformer?wsdl"),
        "{wsdl}"
    );
    for f in [
        "keys/sts-signing.key.pem",
        "keys/sts-signing.crt.pem",
        "users.json",
        "instances/soap/soap-username-transformer.json",
    ] {
        assert!(data.join(f).exists(), "{f} not created");
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(data.join("keys/sts-signing.key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "private key readable by others");
    let endpoint = wsdl.trim_end_matches("?wsdl").to_owned();
    let client = reqwest::blocking::Client::new();
    let r = client
        .post(&endpoint)
        .header("Content-Type", "text/xml")
        .body(envelope(
            SOAP11,
            &username_text("demo", &password),
            RST_ISSUE,
        ))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let bad = client
        .post(&endpoint)
        .header("Content-Type", "text/xml")
        .body(envelope(
            SOAP11,
            &username_text("demo", "wrong-password-xyz"),
            RST_ISSUE,
        ))
        .send()
        .unwrap();
    assert_eq!(bad.status().as_u16(), 500);
    let base = endpoint.split("/sts/").next().unwrap().to_owned();
    let login = client
        .post(format!("{base}/json/authenticate"))
        .header("X-OpenAM-Username", "amadmin")
        .header("X-OpenAM-Password", &admin_password)
        .send()
        .unwrap();
    assert_eq!(login.status().as_u16(), 200);
    let v: serde_json::Value = serde_json::from_str(&login.text().unwrap()).unwrap();
    let token = v["tokenId"].as_str().unwrap().to_owned();
    // SIGTERM: the server stops and exits 0.
    stop_gracefully(&mut child);
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    assert!(log.contains("shutdown requested"), "{log}");
    for secret in [
        &password,
        &admin_password,
        &token,
        &"wrong-password-xyz".to_owned(),
    ] {
        assert!(
            !log.contains(secret.as_str()),
            "a secret reached the log: {log}"
        );
    }
    assert!(
        log.contains("session started"),
        "the login is logged (without its token): {log}"
    );
    // A second start reuses the data directory and prints no password.
    let (ok, out) = run(sts().arg("--data-dir").arg(&data).arg("init"));
    assert!(ok && !out.contains("password"), "{out}");
}

/// `audit_required` with a trail that cannot be written: the first start fails, but the
/// generated passwords of the users it created are printed (review: they were lost, and the
/// next start prints none).
#[test]
fn a_failed_audit_trail_at_first_start_still_prints_the_generated_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A directory is not a file the trail can be appended to.
    let trail = dir.path().join("trail");
    std::fs::create_dir(&trail).unwrap();
    let (ok, out) = run(sts()
        .arg("--data-dir")
        .arg(&data)
        .env("STS_AUDIT_LOG", &trail)
        .env("STS_AUDIT_REQUIRED", "true")
        .arg("init"));
    assert!(!ok, "{out}");
    assert!(
        out.contains("created administrator `amadmin` with password: "),
        "{out}"
    );
}

#[test]
fn realm_and_user_lifecycle_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let d = |c: &mut Command| -> (bool, String) { run(c.arg("--data-dir").arg(dir.path())) };
    assert!(d(sts().args(["realm", "add", "emea"])).0);
    let (ok, out) = d(sts().args(["realm", "list"]));
    assert!(
        ok && out.lines().collect::<Vec<_>>() == ["/", "/emea"],
        "{out}"
    );
    let (ok, out) = d(sts()
        .args(["user", "add", "hank", "--realm", "nowhere"])
        .env("STS_USER_PASSWORD", "p"));
    assert!(!ok && out.contains("does not exist"), "{out}");
    assert!(
        d(sts()
            .args([
                "user",
                "add",
                "hank",
                "--realm",
                "emea",
                "--attr",
                "cn=Hank",
                "--attr",
                "isMemberOf=g1",
                "--attr",
                "isMemberOf=g2"
            ])
            .env("STS_USER_PASSWORD", "p1"))
        .0
    );
    assert!(
        d(sts()
            .args(["user", "passwd", "hank", "--realm", "emea"])
            .env("STS_USER_PASSWORD", "p2"))
        .0
    );
    let store = sts::identity::FileUserStore::open(&dir.path().join("users.json")).unwrap();
    use sts::identity::UserStore as _;
    let hank = store.find("/emea", "hank").unwrap().unwrap();
    assert!(sts::identity::verify_password("p2", &hank.password_hash));
    assert_eq!(hank.attributes["isMemberOf"], ["g1", "g2"]);
    assert!(d(sts().args(["user", "disable", "hank", "--realm", "emea"])).0);
    let (_, out) = d(sts().args(["user", "list", "--realm", "emea"]));
    assert!(out.contains("hank") && out.contains("disabled"), "{out}");
    assert!(d(sts().args(["user", "enable", "hank", "--realm", "emea"])).0);
    assert!(!store.find("/emea", "hank").unwrap().unwrap().disabled);
    assert!(d(sts().args(["user", "delete", "hank", "--realm", "emea"])).0);
    assert!(store.find("/emea", "hank").unwrap().is_none());
    let (ok, out) = d(sts().args(["user", "delete", "hank", "--realm", "emea"]));
    assert!(!ok && out.contains("no user"), "{out}");
    let (ok, _) = d(sts()
        .args(["user", "add", "bad/name"])
        .env("STS_USER_PASSWORD", "p"));
    assert!(!ok);
}

#[test]
fn user_add_provisions_digest_users() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = run(sts()
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "user",
            "add",
            "carol",
            "--digest",
            "--attr",
            "mail=carol@example.com",
        ])
        .env("STS_USER_PASSWORD", "pw-carol"));
    assert!(ok, "{out}");
    let (ok, out) = run(sts()
        .arg("--data-dir")
        .arg(dir.path())
        .args(["user", "list"]));
    assert!(ok && out.contains("carol\tdigest"), "{out}");
    assert!(!out.contains("pw-carol"));
    let (ok, _) = run(sts()
        .arg("--data-dir")
        .arg(dir.path())
        .args(["user", "add", "carol"])
        .env("STS_USER_PASSWORD", "x"));
    assert!(!ok, "duplicate user accepted");
}

#[test]
fn tokens_list_filter_with_multibyte_characters_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, out) = run(sts().arg("--data-dir").arg(&data).arg("init"));
    assert!(ok, "{out}");
    let list = |filter: &str| {
        run(sts()
            .arg("--data-dir")
            .arg(&data)
            .args(["tokens", "list", "--filter", filter]))
    };
    for (filter, pos) in [
        ("aaaé", 0),
        ("/sts_id éq 'a'", 8),
        ("/sts_id eq 'a' and fals€", 19),
        ("😀", 0),
    ] {
        let (ok, out) = list(filter);
        assert!(!ok, "{filter}: {out}");
        assert!(
            out.contains(&format!("invalid _queryFilter at position {pos}:"))
                && !out.contains("panicked"),
            "{filter}: {out}"
        );
    }
    let (ok, out) = list("/token_principal eq 'José'");
    assert!(ok && out.is_empty(), "{out}");
}

#[test]
fn unsigned_instances_are_announced_when_published_and_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, out) = run(sts().arg("--data-dir").arg(&data).arg("init"));
    assert!(ok, "{out}");
    let unsigned = |element: &str| {
        let mut j = sts::datadir::demo_instance();
        j["deployment-config"]["deployment-url-element"] = element.into();
        j["saml2-config"]["saml2-sign-assertion"] = "false".into();
        serde_json::to_vec(&j).unwrap()
    };
    std::fs::write(
        data.join("instances/soap/unsigned-file.json"),
        unsigned("unsigned-file"),
    )
    .unwrap();
    let api = dir.path().join("api.json");
    std::fs::write(&api, unsigned("unsigned-api")).unwrap();
    let (ok, out) = run(sts()
        .arg("--data-dir")
        .arg(&data)
        .args(["instance", "publish", "soap"])
        .arg(&api));
    assert!(ok, "{out}");
    assert!(
        out.contains("WARNING: `unsigned-api` has saml2-sign-assertion false: it issues UNSIGNED SAML2 assertions"),
        "{out}"
    );
    // At start, the server logs a warning for each unsigned instance, file or stored.
    let data_dir = data.to_str().unwrap();
    let log = LoggedServer::start(dir.path(), &["--data-dir", data_dir], &[]).stop();
    assert!(
        !log.contains('\u{1b}'),
        "terminal colours in a log file: {log}"
    );
    for id in ["unsigned-file", "unsigned-api"] {
        assert!(
            log.lines().any(|l| l.contains("WARN")
                && l.contains(&format!("instance={id}"))
                && l.contains("UNSIGNED SAML2 assertions")),
            "no warning for {id}: {log}"
        );
    }
    assert!(!log.contains("instance=soap-username-transformer"), "{log}");
}

#[test]
fn instance_commands_publish_into_a_running_server() {
    let s = start();
    let data = s.dir.path().to_owned();
    let file = data.join("new.json");
    std::fs::write(
        &file,
        serde_json::to_vec(&rest_instance("cli-published", false)).unwrap(),
    )
    .unwrap();
    let (ok, out) = run(sts()
        .env("STS_DATA_DIR", &data)
        .args(["instance", "publish", "rest"])
        .arg(&file));
    assert!(ok, "{out}");
    assert!(out.contains("\"url_element\":\"cli-published\""), "{out}");
    // The running server picks it up from the store.
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let translate = || {
        s.request(
            "POST",
            "/rest-sts/cli-published?_action=translate",
            &[("iPlanetDirectoryPro", &admin), ("Content-Type", "application/json")],
            r#"{"input_token_state":{"token_type":"USERNAME","username":"alice","password":"s3cret"},
                "output_token_state":{"token_type":"SAML2","subject_confirmation":"BEARER"}}"#,
        )
        .status
    };
    wait_until("the published instance is served", || translate() == 200);
    let (ok, out) = run(sts().env("STS_DATA_DIR", &data).args(["instance", "list"]));
    assert!(
        ok && out.contains("cli-published\trest\t") && out.contains(&format!("{INSTANCE}\tsoap\t")),
        "{out}"
    );
    let (ok, out) =
        run(sts()
            .env("STS_DATA_DIR", &data)
            .args(["instance", "show", "rest", "cli-published"]));
    assert!(ok && out.contains("\"cli-published\": {"), "{out}");
    assert!(
        !out.contains("keystore-secret"),
        "a secret was printed: {out}"
    );
    // Publishing it again is refused, by name.
    let (ok, out) = run(sts()
        .env("STS_DATA_DIR", &data)
        .args(["instance", "publish", "rest"])
        .arg(&file));
    assert!(
        !ok && out.contains("already published at `cli-published`"),
        "{out}"
    );
    let (ok, out) =
        run(sts()
            .env("STS_DATA_DIR", &data)
            .args(["instance", "delete", "rest", "cli-published"]));
    assert!(ok, "{out}");
    wait_until("the deleted instance is no longer served", || {
        translate() == 404
    });
}

#[test]
fn keys_are_listed_rotated_and_imported() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, out) = run(sts().arg("--data-dir").arg(&data).arg("init"));
    assert!(ok, "{out}");
    let (ok, out) = run(sts().arg("--data-dir").arg(&data).args(["keys", "list"]));
    assert!(ok, "{out}");
    assert!(out.contains("sts-signing\tRsa\tkey pair\t"), "{out}");
    assert!(out.contains("sts-signing-ec\tEc\tkey pair\t"), "{out}");
    let before = std::fs::read(data.join("keys/sts-signing.crt.pem")).unwrap();
    let (ok, out) = run(sts()
        .arg("--data-dir")
        .arg(&data)
        .args(["keys", "rotate", "sts-signing"]));
    assert!(ok, "{out}");
    assert_eq!(
        std::fs::read(data.join("keys/sts-signing.previous.crt.pem")).unwrap(),
        before
    );
    assert_ne!(
        std::fs::read(data.join("keys/sts-signing.crt.pem")).unwrap(),
        before
    );
    let sp = dir.path().join("sp.crt.pem");
    std::fs::write(&sp, &before).unwrap();
    let (ok, out) = run(sts()
        .arg("--data-dir")
        .arg(&data)
        .args(["keys", "import", "sp"])
        .arg(&sp));
    assert!(ok, "{out}");
    let (ok, out) = run(sts().arg("--data-dir").arg(&data).args(["keys", "list"]));
    assert!(ok, "{out}");
    assert!(
        out.contains("sts-signing\tRsa\tkey pair (rotated)\t"),
        "{out}"
    );
    assert!(out.contains("sp\tRsa\tcertificate\t"), "{out}");
    // Rotating a certificate, or importing over a taken alias, is refused by name.
    let (ok, out) = run(sts()
        .arg("--data-dir")
        .arg(&data)
        .args(["keys", "rotate", "sp"]));
    assert!(!ok && out.contains("nothing to rotate"), "{out}");
    let (ok, out) = run(sts()
        .arg("--data-dir")
        .arg(&data)
        .args(["keys", "import", "sp"])
        .arg(&sp));
    assert!(!ok && out.contains("taken"), "{out}");
}

#[test]
fn oauth_clients_are_added_listed_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, out) = run(sts().arg("--data-dir").arg(&data).arg("init"));
    assert!(ok, "{out}");
    let (ok, out) = run(sts()
        .arg("--data-dir")
        .arg(&data)
        .args(["client", "add", "rs-1"]));
    assert!(ok, "{out}");
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .unwrap_or_else(|| panic!("no secret in {out}"))
        .to_owned();
    assert_eq!(secret.len(), 43, "{out}");
    let (ok, out) = run(sts()
        .arg("--data-dir")
        .arg(&data)
        .args(["client", "add", "spa", "--method", "none"]));
    assert!(ok && !out.contains("client_secret"), "{out}");
    let (ok, out) = run(sts().arg("--data-dir").arg(&data).args(["client", "list"]));
    assert!(ok, "{out}");
    assert!(out.contains("/\trs-1\tclient_secret_basic"), "{out}");
    assert!(out.contains("/\tspa\tnone"), "{out}");
    assert!(!out.contains(&secret), "the secret is listed: {out}");
    for (args, needle) in [
        (vec!["client", "add", "rs-1"], "already has"),
        (
            vec!["client", "add", "x", "--method", "private_key_jwt"],
            "--method",
        ),
        (vec!["client", "add", "x", "--realm", "nowhere"], "no realm"),
        (vec!["client", "delete", "ghost"], "no client"),
    ] {
        let (ok, out) = run(sts().arg("--data-dir").arg(&data).args(&args));
        assert!(!ok && out.contains(needle), "{args:?}: {out}");
    }
    let (ok, out) = run(sts()
        .arg("--data-dir")
        .arg(&data)
        .args(["client", "delete", "spa"]));
    assert!(ok, "{out}");
    let (_, out) = run(sts().arg("--data-dir").arg(&data).args(["client", "list"]));
    assert!(!out.contains("spa"), "{out}");
}

/// Runs `sts --data-dir DIR user add NAME` on a pseudo-terminal, answering its two
/// password prompts; returns (exit ok, everything the terminal showed).
fn user_add_on_a_terminal(
    dir: &std::path::Path,
    name: &str,
    first: &str,
    again: &str,
) -> (bool, String) {
    let script = r#"
import os, pty, select, signal, sys, termios, time
exe, data, name, first, again = sys.argv[1:6]
pid, fd = pty.fork()
if pid == 0:
    for k in [k for k in os.environ if k.startswith("STS_")]:
        del os.environ[k]
    os.execv(exe, [exe, "--data-dir", data, "user", "add", name])
seen = b""
def read_until(marker):
    global seen
    while marker not in seen:
        # A hang guard only: a prompt that never comes must not block the suite.
        if not select.select([fd], [], [], 60)[0]:
            os.kill(pid, signal.SIGKILL)
            return
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            return
        if not chunk:
            return
        seen += chunk
def type_when_echo_is_off(text):
    # A person types after the prompt has turned echo off; typing earlier would be echoed
    # by the terminal whatever the program does. (The 60 s bound is a hang guard only.)
    guard = time.monotonic() + 60
    while termios.tcgetattr(fd)[3] & termios.ECHO and time.monotonic() < guard:
        time.sleep(0.01)
    os.write(fd, text.encode() + b"\n")
read_until(b"password for")
type_when_echo_is_off(first)
read_until(b"again")
type_when_echo_is_off(again)
read_until(b"\0never")
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace"))
sys.exit(0 if os.waitstatus_to_exitcode(status) == 0 else 1)
"#;
    run(Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_sts"))
        .arg(dir)
        .arg(name)
        .arg(first)
        .arg(again))
}

#[test]
fn user_add_asks_for_the_password_without_echo_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = user_add_on_a_terminal(dir.path(), "tina", "pw-Tina-42", "pw-Tina-42");
    assert!(ok, "{out}");
    assert!(out.contains("password for `tina`:"), "no prompt: {out}");
    assert!(
        !out.contains("pw-Tina-42"),
        "the password was echoed: {out}"
    );
    let users = sts::identity::FileUserStore::open(&dir.path().join("users.json")).unwrap();
    let tina = users
        .list()
        .unwrap()
        .into_iter()
        .find(|u| u.username == "tina")
        .unwrap();
    assert!(sts::identity::verify_password(
        "pw-Tina-42",
        &tina.password_hash
    ));

    let (ok, out) = user_add_on_a_terminal(dir.path(), "uma", "pw-one", "pw-two");
    assert!(!ok && out.contains("the passwords do not match"), "{out}");
    assert!(users.list().unwrap().iter().all(|u| u.username != "uma"));
}

#[test]
fn a_taken_port_fails_before_first_start_creates_anything() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, out) = run(sts()
        .args(["serve", "--listen", &addr])
        .env("STS_DATA_DIR", &data));
    assert!(!ok, "{out}");
    assert!(
        out.contains(&addr) && out.contains("--listen") && out.contains("STS_LISTEN"),
        "the error names the address and how to change it: {out}"
    );
    assert!(!out.contains("password"), "{out}");
    assert!(!data.join("users.json").exists(), "users created: {out}");
    drop(taken);
}

#[test]
fn tokens_cli_lists_shows_and_cancels() {
    let s = server_with(Opts::default());
    let a = issue(&s, "/sts/soap-persist", ("demo", DEMO_PASSWORD)).assertion_text();
    issue(&s, "/sts/soap-persist", ("alice", "s3cret"));
    let id = assertion_id(&a);
    let sts = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sts"));
        c.arg("--data-dir")
            .arg(s.dir.path())
            .env_remove("STS_STORE_URL");
        c
    };
    let (ok, out) = run(sts().args(["tokens", "list", "--principal", "demo"]));
    assert!(
        ok && out.lines().count() == 1
            && out.starts_with(&format!("{id}\tsoap-persist\tdemo\tSAML2\t")),
        "{out}"
    );
    let (ok, out) = run(sts().args(["tokens", "list", "--sts-id", "soap-persist"]));
    assert!(ok && out.lines().count() == 2, "{out}");
    let (ok, out) = run(sts().args(["tokens", "list", "--filter", "/token_principal eq 'nobody'"]));
    assert!(ok && out.is_empty(), "{out}");
    let (ok, out) = run(sts().args(["tokens", "show", &id]));
    assert!(ok && out.trim() == a, "{out}");
    let (ok, out) = run(sts().args(["tokens", "cancel", &id]));
    assert!(ok && out.contains("successfully removed"), "{out}");
    let (ok, _) = run(sts().args(["tokens", "show", &id]));
    assert!(!ok);
    let (ok, out) = run(sts().args(["tokens", "list", "--filter", "/bad"]));
    assert!(!ok && out.contains("position"), "{out}");
}

#[test]
fn store_migrate_runs_alone_on_postgres_and_a_newer_schema_is_refused() {
    let pg = sts::store::testpg::TestPostgres::start();
    let dir = tempfile::tempdir().unwrap();
    let pwfile = dir.path().join("db-password");
    std::fs::write(&pwfile, format!("{}\n", pg.password())).unwrap();
    let with_env = || {
        let mut c = sts();
        c.arg("--data-dir")
            .arg(dir.path())
            .env("STS_STORE_URL", pg.url_without_password())
            .env("STS_STORE_PASSWORD", pg.password());
        c
    };
    let (ok, out) = run(with_env().args(["store", "migrate"]));
    assert!(ok && out.contains("migrated from version 0 to "), "{out}");
    assert!(!out.contains(pg.password()), "the password is shown: {out}");
    // The password may come from a file instead; migrating twice changes nothing.
    let (ok, out) = run(sts()
        .arg("--data-dir")
        .arg(dir.path())
        .env("STS_STORE_URL", pg.url_without_password())
        .env("STS_STORE_PASSWORD_FILE", &pwfile)
        .args(["store", "migrate"]));
    assert!(ok && out.contains("already at version"), "{out}");
    // A password inside the URL works and is not echoed.
    let (ok, out) = run(sts()
        .arg("--data-dir")
        .arg(dir.path())
        .env("STS_STORE_URL", pg.url())
        .args(["store", "migrate"]));
    assert!(ok && !out.contains(pg.password()), "{out}");
    // Without any password the database refuses, and the command fails.
    let (ok, out) = run(sts()
        .arg("--data-dir")
        .arg(dir.path())
        .env("STS_STORE_URL", pg.url_without_password())
        .args(["store", "migrate"]));
    assert!(!ok, "{out}");
    // A schema from a newer sts: this one refuses to use the store.
    let mut c = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
    c.batch_execute("INSERT INTO schema_migrations VALUES (9999, 'future', 0)")
        .unwrap();
    for args in [vec!["store", "migrate"], vec!["tokens", "list"]] {
        let (ok, out) = run(with_env().args(&args));
        assert!(
            !ok && out.contains("newer than this sts knows"),
            "{args:?}: {out}"
        );
    }
}

/// `sts check-config` opens what start-up would write to or parse later: the audit trail
/// (a file or its directory, changing nothing) and the TLS certificate and key; each
/// failure names its setting and file.
#[test]
fn check_config_checks_the_audit_trail_and_the_tls_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, out) = run(sts()
        .env("STS_DATA_DIR", &data)
        .env("STS_DEMO_PASSWORD", DEMO_PASSWORD)
        .arg("init"));
    assert!(ok, "{out}");
    let check = |env: &[(&str, &std::path::Path)]| {
        run(sts()
            .env("STS_DATA_DIR", &data)
            .envs(env.iter().copied())
            .arg("check-config"))
    };
    // The audit trail: a file to be created in a writable directory, then an existing one.
    let audit = dir.path().join("audit.log");
    let (ok, out) = check(&[("STS_AUDIT_LOG", &audit)]);
    assert!(ok && out.contains("created at the first event"), "{out}");
    assert!(!audit.exists(), "check-config created the audit file");
    std::fs::write(&audit, "{\"kept\":1}\n").unwrap();
    let (ok, out) = check(&[("STS_AUDIT_LOG", &audit)]);
    assert!(ok && out.contains("can be appended to"), "{out}");
    assert_eq!(std::fs::read_to_string(&audit).unwrap(), "{\"kept\":1}\n");
    // ... and what cannot be written (for root too): no directory, a directory, a file's child.
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "").unwrap();
    for bad in [
        dir.path().join("no-such-dir/audit.log"),
        dir.path().to_owned(),
        blocker.join("audit.log"),
    ] {
        let (ok, out) = check(&[("STS_AUDIT_LOG", &bad)]);
        assert!(!ok, "{}: {out}", bad.display());
        assert!(
            out.contains(&format!("audit_log {}", bad.display())),
            "{}: {out}",
            bad.display()
        );
    }
    // TLS: the files parse as start-up parses them, each named when it does not.
    let cert = data.join("keys/sts-signing.crt.pem");
    let key = data.join("keys/sts-signing.key.pem");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not PEM\n").unwrap();
    let missing = dir.path().join("missing.pem");
    let tls = |c: &std::path::Path, k: &std::path::Path| {
        check(&[("STS_TLS_CERT_FILE", c), ("STS_TLS_KEY_FILE", k)])
    };
    let (ok, out) = tls(&cert, &key);
    assert!(
        ok && out.contains("TLS: the certificate and its key load"),
        "{out}"
    );
    for (c, k, named) in [
        (&garbage, &key, "tls_cert_file"),
        (&missing, &key, "tls_cert_file"),
        (&cert, &garbage, "tls_key_file"),
        (&cert, &missing, "tls_key_file"),
    ] {
        let (ok, out) = tls(c, k);
        assert!(!ok, "{} {}: {out}", c.display(), k.display());
        let bad = if named == "tls_cert_file" { c } else { k };
        assert!(
            out.contains(named) && out.contains(&bad.display().to_string()),
            "{named}: {out}"
        );
    }
}

/// With a shared store, `sts check-config` loads the keys from it with the master key, as a
/// node does at start: a wrong master key fails it, naming the key it cannot unwrap. A store
/// not migrated yet, or without keys, is reported; none of it is changed.
#[test]
fn check_config_loads_the_keys_of_a_shared_store() {
    let url = sts::store::testpg::TestPostgres::shared().fresh_schema();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (right, wrong) = (dir.path().join("master-a"), dir.path().join("master-b"));
    for file in [&right, &wrong] {
        let (ok, out) = run(sts().args(["keys", "master-key", "generate"]).arg(file));
        assert!(ok, "{out}");
    }
    let with = |master: &std::path::Path| {
        let mut c = sts();
        c.env("STS_DATA_DIR", &data)
            .env("STS_STORE_URL", &url)
            .env("STS_MASTER_KEY_FILE", master);
        c
    };
    let (ok, out) = run(with(&right).arg("check-config"));
    assert!(ok && out.contains("migrated at the first start"), "{out}");
    let (ok, out) = run(with(&right).args(["store", "migrate"]));
    assert!(ok, "{out}");
    let (ok, out) = run(with(&right).arg("check-config"));
    assert!(ok && out.contains("the store holds no keys yet"), "{out}");
    let (ok, out) = run(with(&right).args(["keys", "create", "sts-signing"]));
    assert!(ok, "{out}");
    let (ok, out) = run(with(&right).arg("check-config"));
    assert!(
        ok && out.contains("1 signing key(s) in the shared store load"),
        "{out}"
    );
    let (ok, out) = run(with(&wrong).arg("check-config"));
    assert!(!ok && out.contains("sts-signing"), "{out}");
}
