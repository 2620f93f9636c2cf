//! The README's quick start, as a new user copies it: every `sh` block of "Try it" and the
//! client programs of "Calling it from generated clients", run against a freshly started
//! `sts serve` in an empty folder, with the passwords it printed.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::common::*;

/// The fenced blocks of `lang` between the headings `from` and `to`.
fn blocks(readme: &str, from: &str, to: &str, lang: &str) -> Vec<String> {
    let start = readme.find(from).unwrap();
    let end = start + readme[start..].find(to).unwrap();
    let mut out = Vec::new();
    let mut rest = &readme[start..end];
    let fence = format!("```{lang}\n");
    while let Some(i) = rest.find(&fence) {
        let body = &rest[i + fence.len()..];
        let j = body.find("```\n").unwrap();
        out.push(body[..j].to_owned());
        rest = &body[j..];
    }
    assert!(!out.is_empty(), "no {lang} block between {from} and {to}");
    out
}

struct FirstStart {
    child: std::process::Child,
    base: String,
    admin_password: String,
    demo_password: String,
}

impl Drop for FirstStart {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sts serve` in `dir` with no data directory yet, as `make run` starts it.
fn first_start(dir: &std::path::Path) -> FirstStart {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sts"));
    for (k, _) in std::env::vars() {
        if k.starts_with("STS_") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .current_dir(dir)
        .args(["serve", "--data-dir", "sts-data", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (mut admin_password, mut demo_password) = (String::new(), String::new());
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("sts serve ended before listening")
            .unwrap();
        if let Some(p) = line.split("`amadmin` with password: ").nth(1) {
            admin_password = p.trim().to_owned();
        }
        if let Some(p) = line.split("`demo` with password: ").nth(1) {
            demo_password = p.trim().to_owned();
        }
        if let Some(b) = line.split("listening on ").nth(1) {
            break b.trim().to_owned();
        }
    };
    // Keep reading, so that the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    assert!(!admin_password.is_empty() && !demo_password.is_empty());
    FirstStart {
        child,
        base,
        admin_password,
        demo_password,
    }
}

fn run_in(dir: &std::path::Path, s: &FirstStart, program: &str, args: &[&str]) -> (bool, String) {
    run(Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("ADMIN_PASSWORD", &s.admin_password)
        .env("DEMO_PASSWORD", &s.demo_password)
        .env("NODE_PATH", peers_dir().join("node_modules")))
}

#[test]
fn the_quick_start_works_as_written() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = first_start(dir.path());
    let here = |block: &str| block.replace("http://127.0.0.1:8080", &s.base);

    let script = blocks(&readme, "### Try it", "## Commands", "sh")
        .iter()
        .map(|b| here(b))
        .collect::<Vec<_>>()
        .join("\n");
    let (ok, out) = run_in(dir.path(), &s, "bash", &["-euo", "pipefail", "-c", &script]);
    assert!(ok, "{out}");
    assert!(
        out.contains("OK\nSignedInfo References (ok/all): 1/1"),
        "xmlsec1 did not verify: {out}"
    );
    assert!(
        out.contains("{\"issued_token\":\"eyJ"),
        "no id_token: {out}"
    );

    let clients = "### Calling it from generated clients";
    for (lang, program, file) in [
        ("python", "python3", "issue.py"),
        ("js", "node", "issue.js"),
    ] {
        let code = here(&blocks(&readme, clients, "### Faults", lang)[0]);
        std::fs::write(dir.path().join(file), code).unwrap();
        let (ok, out) = run_in(dir.path(), &s, program, &[file]);
        assert!(ok, "{program} {file}: {out}");
        assert!(out.contains("SAMLV2.0"), "{program} {file}: {out}");
    }
}
