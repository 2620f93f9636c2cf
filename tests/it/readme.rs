//! The README's quick start, as a new user copies it: every `sh` block of "Try it" and the
//! client programs of "Calling it from generated clients", run against a freshly started
//! `sts serve` in an empty folder, with the passwords it printed.

use std::process::Command;

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

/// `sts serve` in `dir` with no data directory yet, as `make run` starts it, and the two
/// passwords it printed.
fn first_start(dir: &std::path::Path) -> (LoggedServer, String, String) {
    let s = LoggedServer::start(dir, &["--data-dir", "sts-data"], &[]);
    let printed = |who: &str| {
        s.printed
            .iter()
            .find_map(|l| l.split(&format!("`{who}` with password: ")).nth(1))
            .unwrap_or_else(|| panic!("no password for {who}: {:?}", s.printed))
            .trim()
            .to_owned()
    };
    let (admin, demo) = (printed("amadmin"), printed("demo"));
    (s, admin, demo)
}

fn run_in(
    dir: &std::path::Path,
    (admin, demo): (&str, &str),
    program: &str,
    args: &[&str],
) -> (bool, String) {
    run(Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("ADMIN_PASSWORD", admin)
        .env("DEMO_PASSWORD", demo)
        .env("NODE_PATH", peers_dir().join("node_modules")))
}

#[test]
fn the_quick_start_works_as_written() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (s, admin, demo) = first_start(dir.path());
    let passwords = (admin.as_str(), demo.as_str());
    let here = |block: &str| block.replace("http://127.0.0.1:8080", &s.base);

    let script = blocks(&readme, "### Try it", "## Commands", "sh")
        .iter()
        .map(|b| here(b))
        .collect::<Vec<_>>()
        .join("\n");
    let (ok, out) = run_in(
        dir.path(),
        passwords,
        "bash",
        &["-euo", "pipefail", "-c", &script],
    );
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
        let (ok, out) = run_in(dir.path(), passwords, program, &[file]);
        assert!(ok, "{program} {file}: {out}");
        assert!(out.contains("SAMLV2.0"), "{program} {file}: {out}");
    }
}
