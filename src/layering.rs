//! The dependency rule of `lib.rs`, checked over the source: a module may name (`crate::x`) only
//! modules of a strictly lower layer, so the graph between top-level modules has no cycle and
//! nothing below the engine knows about HTTP. Read with `cargo test --lib layering`.

use std::path::Path;

/// Top-level modules by layer, lowest first. Same layer means "may not import each other".
const LAYERS: &[&[&str]] = &[
    &["secret", "clock", "fs", "xml", "logging", "metrics"],
    &["crypto", "net", "audit"],
    &["plugin", "xmldsig", "soap", "wstrust"],
    &["config", "keyring", "tokens"],
    &["store"],
    &["identity"],
    &["instance", "oauth"],
    &["engine"],
    &["datadir"],
    &["http"],
    &["frontends"],
    &["app"],
    &["cli", "fuzzing"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level module a file under `src/` belongs to (`lib` for lib.rs itself).
fn module_of(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    first
        .unwrap_or_default()
        .trim_end_matches(".rs")
        .to_string()
}

/// Every top-level module a file names as `crate::name` or `crate::{name::.., ..}`, comments aside.
fn named_modules(source: &str) -> Vec<String> {
    let code: Vec<&str> = source
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect();
    let code = code.join("\n");
    let mut out = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = rest.get(at + "crate::".len()..).unwrap_or("");
        match rest.strip_prefix('{') {
            Some(group) => out.extend(group_items(group).into_iter().map(ident)),
            None => out.push(ident(rest)),
        }
    }
    out.retain(|name| !name.is_empty());
    out
}

/// The leading identifier of `s`.
fn ident(s: &str) -> String {
    s.trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The top-level items of a `{a::b, c::{d, e}}` group (the text after its `{`).
fn group_items(group: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut from) = (0usize, 0usize);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(group.get(from..i).unwrap_or(""));
                return items;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(group.get(from..i).unwrap_or(""));
                from = i + 1;
            }
            _ => {}
        }
    }
    items
}

/// Test code composes whatever it needs (a bootstrapped data directory, say): files that are
/// only tests are not held to the rule.
fn is_test_file(rel: &Path) -> bool {
    let name = rel
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name == "tests.rs"
        || name.ends_with("_tests.rs")
        || rel.components().any(|c| c.as_os_str() == "tests")
}

/// The source up to its inline `#[cfg(test)] mod tests {` block, which by convention comes last.
fn without_test_module(source: &str) -> &str {
    let mut at = 0;
    let mut lines = source.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        let next_is_mod = lines.peek().is_some_and(|n| {
            let n = n.trim();
            n.starts_with("mod ") && n.ends_with('{')
        });
        if line.trim() == "#[cfg(test)]" && next_is_mod {
            return source.get(..at).unwrap_or(source);
        }
        at += line.len();
    }
    source
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_imports_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(
        files.len() > 50,
        "found only {} files under {}",
        files.len(),
        src.display()
    );
    let mut wrong = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap_or(&file);
        let module = module_of(rel);
        if module == "lib" || module == "main" || module == "layering" || is_test_file(rel) {
            continue;
        }
        let Some(own) = layer_of(&module) else {
            wrong.push(format!(
                "{}: module `{module}` is in no layer of LAYERS",
                rel.display()
            ));
            continue;
        };
        let source = std::fs::read_to_string(&file).unwrap_or_default();
        let source = without_test_module(&source);
        for dep in named_modules(source) {
            if dep == module {
                continue;
            }
            match layer_of(&dep) {
                Some(l) if l < own => {}
                _ => wrong.push(format!(
                    "{}: `{module}` names `crate::{dep}`",
                    rel.display()
                )),
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "the dependency rule is broken:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_checker_sees_imports_and_skips_comments() {
    let names = named_modules(
        "use crate::xml::Element;\n// crate::app\nlet x = crate::clock::now();\nuse crate::{\n    soap::{a, b},\n    store,\n};",
    );
    assert_eq!(names, ["xml", "clock", "soap", "store"]);
    let cut =
        without_test_module("use crate::xml;\n#[cfg(test)]\nmod tests {\n    use crate::app;\n}\n");
    assert_eq!(named_modules(cut), ["xml"]);
}
