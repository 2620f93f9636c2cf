//! Packaging (issue 20 item 5): the example configuration (loaded by `sts`, every key of the
//! code in it and explained), shell completions and man pages generated from the CLI, the
//! systemd unit (`systemd-analyze verify` and its exposure rating), the Dockerfile (what a
//! production image needs, and runtime packages that are the ones the binary links), and
//! `sts health`, the image's HEALTHCHECK.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The `sts` binary without any `STS_*` variable of the environment the tests run in.
fn sts() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sts"));
    for (k, _) in std::env::vars() {
        if k.starts_with("STS_") {
            c.env_remove(k);
        }
    }
    c
}

/// Whether `tool` can be run; when not, says why the check is skipped.
fn have(tool: &str, check: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        println!("SKIP {check}: `{tool}` is not installed here");
    }
    found
}

// --- The example configuration ------------------------------------------------------------

const EXAMPLE: &str = "deploy/sts.toml";

/// A deserializer that only records the field names a struct's `Deserialize` asks for: the
/// keys the code accepts, read from the serde definition itself.
struct FieldNames<'a>(&'a mut Vec<&'static str>);

impl<'de> serde::Deserializer<'de> for FieldNames<'_> {
    type Error = serde::de::value::Error;
    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(serde::de::Error::custom("not a struct"))
    }
    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.extend_from_slice(fields);
        Err(serde::de::Error::custom("fields recorded"))
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

fn fields<T: for<'de> serde::Deserialize<'de>>() -> Vec<&'static str> {
    let mut names = Vec::new();
    let _ = T::deserialize(FieldNames(&mut names));
    assert!(
        !names.is_empty(),
        "no fields read from {}",
        std::any::type_name::<T>()
    );
    names
}

/// The example's keys by section (`""` before the first), set or shown commented out
/// (`#key = ...`, `#[section]`).
fn example_keys(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut section = String::new();
    out.insert(section.clone(), BTreeSet::new());
    for line in text.lines() {
        let setting = line.strip_prefix('#').unwrap_or(line);
        if setting.starts_with(' ') || setting.is_empty() {
            continue; // prose
        }
        if let Some(h) = setting.strip_prefix('[') {
            section = h.trim_end_matches(']').to_owned();
            out.entry(section.clone()).or_default();
        } else if let Some((k, _)) = setting.split_once(" = ") {
            out.entry(section.clone()).or_default().insert(k.to_owned());
        } else {
            panic!("{EXAMPLE}: neither prose (`# ...`) nor a setting: {line}");
        }
    }
    out
}

/// The example with every commented-out setting and section turned on.
fn everything_on(text: &str) -> String {
    text.lines()
        .filter_map(|l| match l.strip_prefix('#') {
            Some(rest) if rest.starts_with(' ') || rest.is_empty() => None,
            Some(setting) => Some(setting),
            None => Some(l),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_example_configuration_loads() {
    let (ok, out) = run(sts().args([
        "--config",
        &repo(EXAMPLE).display().to_string(),
        "check-config",
    ]));
    assert!(ok && out.contains("configuration ok"), "{out}");
    assert!(out.contains("listen: 127.0.0.1:8080"), "{out}");
    // Every example value shown is one the code accepts (names and types), too.
    let on = everything_on(&read(EXAMPLE));
    let cfg: sts::config::Config = toml::from_str(&on).unwrap_or_else(|e| panic!("{e}\n{on}"));
    assert!(cfg.adfs.is_some() && cfg.realms.contains_key("/"));
    assert_eq!(cfg.http_validators.len() + cfg.http_providers.len(), 2);
    // A mistake in the file is an error, named.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("sts.toml");
    std::fs::write(&bad, read(EXAMPLE).replace("listen = ", "lisen = ")).unwrap();
    let (ok, out) = run(sts().args(["--config", &bad.display().to_string(), "check-config"]));
    assert!(!ok && out.contains("lisen"), "{out}");
}

#[test]
fn every_key_of_the_code_is_in_the_example_and_explained() {
    let text = read(EXAMPLE);
    let keys = example_keys(&text);
    let missing = |section: &str, names: Vec<&'static str>| -> Vec<String> {
        let have = keys
            .iter()
            .filter(|(s, _)| s.as_str() == section || s.starts_with(&format!("{section}.")))
            .flat_map(|(_, k)| k.iter().cloned())
            .collect::<BTreeSet<_>>();
        names
            .into_iter()
            .filter(|n| !have.contains(*n))
            .map(|n| format!("{section}: {n}"))
            .collect()
    };
    let top = keys.get("").unwrap();
    let mut absent: Vec<String> = fields::<sts::config::Config>()
        .into_iter()
        // A table is shown by its section.
        .filter(|f| {
            !top.contains(*f)
                && !keys
                    .keys()
                    .any(|s| s == f || s.starts_with(&format!("{f}.")))
        })
        .map(|f| format!("top level: {f}"))
        .collect();
    absent.extend(missing("adfs", fields::<sts::config::AdfsConfig>()));
    absent.extend(missing(
        "realms.\"/\".ldap",
        fields::<sts::config::LdapConfig>(),
    ));
    absent.extend(missing(
        "http_validators",
        fields::<sts::plugin::http::HttpPluginConfig>(),
    ));
    assert!(
        absent.is_empty(),
        "keys of the code missing from {EXAMPLE} (add each, commented, with its default): {absent:?}"
    );
    // ...and the example names none the code does not have (also checked by loading it).
    let known: BTreeSet<&str> = fields::<sts::config::Config>().into_iter().collect();
    for k in top {
        assert!(known.contains(k.as_str()), "{EXAMPLE}: unknown key {k}");
    }
    // Every setting is explained: the line above it is prose, or the setting of its group.
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let setting = line.strip_prefix('#').unwrap_or(line);
        if setting.is_empty() || setting.starts_with(' ') || setting.starts_with('[') {
            continue;
        }
        let above = lines[..i].last().copied().unwrap_or("");
        assert!(
            above.starts_with("# "),
            "{EXAMPLE}:{}: `{line}` has no explanation above it",
            i + 1
        );
    }
}

// --- Completions and man pages ------------------------------------------------------------

#[test]
fn completions_are_generated_for_bash_zsh_and_fish_and_parse() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, check) in [
        ("bash", vec!["bash", "-n"]),
        ("zsh", vec!["zsh", "-n"]),
        ("fish", vec!["fish", "--no-execute"]),
    ] {
        let out = sts().args(["completions", shell]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let script = String::from_utf8(out.stdout).unwrap();
        // The subcommands and their flags come from the CLI definition.
        for word in ["serve", "check-config", "completions", "listen", "out-dir"] {
            assert!(script.contains(word), "{shell}: no {word} in\n{script}");
        }
        let file = dir.path().join(format!("sts.{shell}"));
        std::fs::write(&file, &script).unwrap();
        if have(check[0], &format!("{shell} completion syntax")) {
            let (ok, out) = run(Command::new(check[0]).args(&check[1..]).arg(&file));
            assert!(ok, "{shell} refuses the completion script: {out}");
        }
    }
    let (ok, out) = run(sts().args(["completions", "tcsh"]));
    assert!(!ok && out.contains("tcsh"), "{out}");
}

#[test]
fn man_pages_are_generated_and_render() {
    let out = sts().arg("man").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.starts_with(".ie") || page.contains(".TH sts 1"),
        "{page}"
    );
    for s in [".SH NAME", ".SH SYNOPSIS", "serve", "check\\-config"] {
        assert!(page.contains(s), "no {s} in\n{page}");
    }
    let dir = tempfile::tempdir().unwrap();
    let man1 = dir.path().join("man1");
    let (ok, out) = run(sts().args(["man", "--out-dir"]).arg(&man1));
    assert!(ok, "{out}");
    for f in ["sts.1", "sts-serve.1", "sts-user.1", "sts-keys.1"] {
        assert!(man1.join(f).is_file(), "no {f}");
    }
    if have("groff", "man page rendering") {
        // -ww: every warning; -z: no output, only the diagnostics.
        let (ok, out) = run(Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(man1.join("sts.1")));
        assert!(ok && out.trim().is_empty(), "groff: {out}");
        let (ok, text) = run(Command::new("groff")
            .args(["-man", "-Tutf8"])
            .arg(man1.join("sts-serve.1")));
        assert!(ok && text.contains("listen"), "{text}");
    }
}

// --- systemd ------------------------------------------------------------------------------

/// The unit with `ExecStart` naming the binary under test (verify checks that it exists).
fn unit_for_test(dir: &Path) -> PathBuf {
    let unit = read("deploy/sts.service");
    assert!(unit.contains("ExecStart=/usr/local/bin/sts "), "{unit}");
    let path = dir.join("sts.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/sts", env!("CARGO_BIN_EXE_sts")),
    )
    .unwrap();
    path
}

#[test]
fn the_systemd_unit_is_hardened() {
    let unit = read("deploy/sts.service");
    let settings: BTreeSet<&str> = unit
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .collect();
    for s in [
        "User=sts",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "StateDirectory=sts",
        "ReadWritePaths=/var/lib/sts",
        "Environment=STS_DATA_DIR=/var/lib/sts",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "CapabilityBoundingSet=",
        "SystemCallFilter=@system-service",
    ] {
        assert!(settings.contains(s), "deploy/sts.service lacks {s}");
    }
    if !have("systemd-analyze", "systemd unit verification") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = unit_for_test(dir.path());
    // Documentation=man:sts(1) is checked too: against the pages `sts man` writes.
    let man1 = dir.path().join("man/man1");
    let (ok, out) = run(sts().args(["man", "--out-dir"]).arg(&man1));
    assert!(ok, "{out}");
    let (ok, out) = run(Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .env("MANPATH", dir.path().join("man")));
    assert!(ok && out.trim().is_empty(), "systemd-analyze verify: {out}");
    // The exposure rating (0 best, 10 worst; "OK" up to about 2): 2.0 at most.
    let (ok, out) = run(Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--threshold=20", "--no-pager"])
        .arg(&path));
    assert!(ok, "systemd-analyze security: {out}");
    println!("{}", out.lines().last().unwrap_or_default());
}

// --- The container image ------------------------------------------------------------------

/// The Dockerfile's instructions, continuation lines joined, comments dropped.
fn dockerfile() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in read("Dockerfile").lines() {
        let t = line.trim();
        if t.starts_with('#') || (t.is_empty() && current.is_empty()) {
            continue;
        }
        match t.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(t);
                if let Some((instr, args)) = current.split_once(' ') {
                    out.push((instr.to_ascii_uppercase(), args.trim().to_owned()));
                }
                current.clear();
            }
        }
    }
    out
}

/// The packages the runtime stage installs.
fn runtime_packages(stage: &[(String, String)]) -> Vec<String> {
    stage
        .iter()
        .filter(|(i, a)| i == "RUN" && a.contains("apt-get install"))
        .flat_map(|(_, a)| {
            let after = a.split("apt-get install").nth(1).unwrap_or_default();
            let first = after.split("&&").next().unwrap_or_default();
            first
                .split_whitespace()
                .filter(|w| !w.starts_with('-'))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_dockerfile_builds_a_slim_unprivileged_image_with_a_healthcheck() {
    let all = dockerfile();
    let froms: Vec<usize> = (0..all.len()).filter(|&i| all[i].0 == "FROM").collect();
    assert!(froms.len() >= 2, "multi-stage: {all:?}");
    assert!(all[froms[0]].1.contains("rust:") && all[froms[0]].1.contains(" AS build"));
    let runtime = &all[*froms.last().unwrap()..];
    assert!(
        runtime[0].1.contains("-slim"),
        "slim runtime: {:?}",
        runtime[0]
    );
    let get = |name: &str| -> Vec<&str> {
        runtime
            .iter()
            .filter(|(i, _)| i == name)
            .map(|(_, a)| a.as_str())
            .collect()
    };
    let user = get("USER");
    assert!(
        user.len() == 1 && !user[0].starts_with("root") && !user[0].starts_with('0'),
        "runs as a non-root user: {user:?}"
    );
    let env = get("ENV").join(" ");
    assert!(env.contains("STS_DATA_DIR=/var/lib/sts"), "{env}");
    assert!(env.contains("STS_LISTEN=0.0.0.0:8080"), "{env}");
    assert_eq!(get("VOLUME"), vec!["[\"/var/lib/sts\"]"]);
    let health = get("HEALTHCHECK");
    assert!(
        health.len() == 1 && health[0].contains("\"health\""),
        "HEALTHCHECK runs `sts health`: {health:?}"
    );
    assert!(
        get("COPY")
            .iter()
            .any(|c| c.contains("--from=build") && c.contains("/usr/local/bin/sts"))
    );
    assert_eq!(get("CMD"), vec!["[\"serve\"]"]);
    // The runtime packages: libxmlsec1 with its OpenSSL back end, and the package of every
    // library the binary names (DT_NEEDED), beyond what every Debian image has.
    let pkgs = runtime_packages(runtime);
    for p in [
        "libxmlsec1",
        "libxmlsec1-openssl",
        "libxml2",
        "libssl3",
        "ca-certificates",
    ] {
        assert!(
            pkgs.iter().any(|x| x == p),
            "runtime installs {p}: {pkgs:?}"
        );
    }
    // The .dockerignore keeps build output and data directories out of the context.
    let ignore = read(".dockerignore");
    for p in ["target", ".git", "sts-data"] {
        assert!(ignore.lines().any(|l| l == p), ".dockerignore lacks {p}");
    }
    if !(have("dpkg-query", "runtime packages vs linked libraries")
        && have("ldd", "runtime packages vs linked libraries")
        && have("objdump", "runtime packages vs linked libraries"))
    {
        return;
    }
    // This machine is Debian: the runtime names must be its packages, installed here as
    // dependencies of the -dev packages the build uses (scripts/deps.sh).
    for p in &pkgs {
        let (ok, out) = run(Command::new("dpkg-query").args(["-W", "-f=${Status}", p]));
        assert!(
            ok && out.contains("installed"),
            "{p} is not a Debian package installed here: {out}"
        );
    }
    let bin = env!("CARGO_BIN_EXE_sts");
    let (ok, dynamic) = run(Command::new("objdump").args(["-p", bin]));
    assert!(ok, "{dynamic}");
    let needed: Vec<&str> = dynamic
        .lines()
        .filter_map(|l| l.trim().strip_prefix("NEEDED"))
        .map(str::trim)
        .collect();
    assert!(
        needed.iter().any(|n| n.starts_with("libxmlsec1")),
        "{needed:?}"
    );
    let (ok, ldd) = run(Command::new("ldd").arg(bin));
    assert!(ok, "{ldd}");
    let base = ["libc6", "libgcc-s1"];
    // The dynamic loader is libc6's, named by path rather than resolved.
    for lib in needed.into_iter().filter(|l| !l.starts_with("ld-linux")) {
        let path = ldd
            .lines()
            .filter_map(|l| l.trim().split_once(" => "))
            .find(|(name, _)| *name == lib)
            .and_then(|(_, p)| p.split_whitespace().next())
            .unwrap_or_else(|| panic!("ldd does not resolve {lib}: {ldd}"));
        let (ok, owner) = run(Command::new("dpkg-query").args(["-S", path]));
        let real = std::fs::canonicalize(path).unwrap();
        let (ok2, owner2) = run(Command::new("dpkg-query").arg("-S").arg(&real));
        let owner = if ok { owner } else { owner2 };
        assert!(ok || ok2, "no package owns {path}");
        let pkg = owner.split(':').next().unwrap_or_default().trim();
        assert!(
            base.contains(&pkg) || pkgs.iter().any(|p| p == pkg),
            "{lib} ({path}) comes from {pkg}, which the runtime stage does not install: {pkgs:?}"
        );
    }
    if !Command::new("docker")
        .arg("info")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        println!(
            "SKIP docker build: no Docker daemon here (the Dockerfile is checked by reading it)"
        );
    }
}

// --- sts health ---------------------------------------------------------------------------

#[test]
fn sts_health_succeeds_only_on_a_live_server() {
    let s = start();
    let (ok, out) = run(sts().args(["health", "--url", &format!("{}/health", s.base)]));
    assert!(ok && out.contains(": ok"), "{out}");
    let (ok, out) = run(sts().args(["health", "--url", &format!("{}/no-such-path", s.base)]));
    assert!(!ok && out.contains("HTTP 404"), "{out}");
    drop(s);
    // A listener that never answers: the probe gives up at its bound. The default URL is
    // built from STS_LISTEN (an unspecified address probed on loopback).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let (ok, out) = run(sts().env("STS_LISTEN", format!("0.0.0.0:{port}")).args([
        "health",
        "--timeout-secs",
        "1",
    ]));
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!("http://127.0.0.1:{port}/health/live")),
        "{out}"
    );
    drop(silent);
}

/// `sts check-config` resolves what start-up resolves: a store that cannot be reached, keys
/// that do not load, an instance file that does not resolve each fail it, with the reason;
/// nothing is created on the way.
#[test]
fn check_config_fails_on_what_would_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let check = |env: &[(&str, &str)]| {
        run(sts()
            .env("STS_DATA_DIR", &data)
            .envs(env.iter().copied())
            .arg("check-config"))
    };
    // A fresh directory: fine, and still empty afterwards (nothing created, no port bound).
    let (ok, out) = check(&[]);
    assert!(ok && out.contains("created at the first start"), "{out}");
    assert!(!data.exists(), "check-config created the data directory");
    let (ok, out) = run(sts()
        .env("STS_DATA_DIR", &data)
        .env("STS_DEMO_PASSWORD", DEMO_PASSWORD)
        .arg("init"));
    assert!(ok, "{out}");
    let (ok, out) = check(&[]);
    assert!(
        ok && out.contains("signing key(s) load") && out.contains("resolve"),
        "{out}"
    );
    let db = data.join("sts.db");
    assert!(!db.exists(), "check-config created the store");
    // A PostgreSQL server that is not there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://sts:pw-not-shown@127.0.0.1:{port}/sts");
    let (ok, out) = check(&[
        ("STS_STORE_URL", url.as_str()),
        ("STS_STORE_WAIT_MILLIS", "500"),
    ]);
    assert!(!ok && out.contains("unavailable"), "{out}");
    assert!(!out.contains("pw-not-shown"), "{out}");
    // A signing key that does not load.
    let key = data.join("keys/sts-signing.key.pem");
    let pem = std::fs::read(&key).unwrap();
    std::fs::write(
        &key,
        b"-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let (ok, out) = check(&[]);
    assert!(!ok && out.contains("sts-signing"), "{out}");
    std::fs::write(&key, pem).unwrap();
    // An instance file that names a key nobody has.
    let inst = data.join("instances/soap/soap-username-transformer.json");
    let text = std::fs::read_to_string(&inst).unwrap();
    std::fs::write(&inst, text.replace("\"sts-signing\"", "\"no-such-key\"")).unwrap();
    let (ok, out) = check(&[]);
    assert!(!ok && out.contains("soap-username-transformer"), "{out}");
    std::fs::write(&inst, text).unwrap();
    let (ok, out) = check(&[]);
    assert!(ok, "{out}");
}

/// `sts health` agrees with the endpoints it probes: live and ready while the store answers;
/// live but not ready once it is gone; neither once the server is.
#[test]
fn sts_health_agrees_with_live_and_ready() {
    let mut c = Cluster::start(1, std::time::Duration::from_millis(200));
    let base = c.node(0).base.clone();
    let probe = |path: &str| {
        let (ok, out) = run(sts()
            .args(["health", "--timeout-secs", "5", "--url"])
            .arg(format!("{base}{path}")));
        (ok, out)
    };
    let agree = |c: &Cluster, path: &str| {
        let http = c.node(0).get(path).status == 200;
        let (cli, out) = probe(path);
        assert_eq!(
            cli, http,
            "{path}: sts health says {cli}, HTTP says {http}: {out}"
        );
        http
    };
    assert!(agree(&c, "/health/live") && agree(&c, "/health/ready"));
    c.pg.stop();
    wait_until("readiness reports the store down", || {
        c.node(0).get("/health/ready").status == 503
    });
    assert!(agree(&c, "/health/live"));
    assert!(!agree(&c, "/health/ready"));
    let (ok, out) = probe("/health/ready");
    assert!(!ok && out.contains("HTTP 503"), "{out}");
    c.pg.restart();
    wait_until("readiness recovers", || {
        c.node(0).get("/health/ready").status == 200
    });
    assert!(agree(&c, "/health/ready"));
}
