//! The server's log: one line per event, whatever the events carry, as text or JSON
//! (`log_format`). Field values and messages often hold client text (principals, fault
//! reasons, plug-in answers); every control character in them (CR, LF, NUL, ESC, DEL, C1) is
//! written escaped (`\n`, `\r`, `\t`, `\u{1b}` in text; JSON's `\n`, `\u001b`, `\u0085`
//! in JSON), so that no input can end a line and forge the next one or drive a terminal.
//! Colours only when the log goes to a terminal. The filter can be replaced at run time
//! ([`set_filter`], SIGHUP); libraries that may log request bytes are capped ([`capped`]).

use std::fmt::{self, Write as _};
use std::io::IsTerminal as _;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;

/// Formats the fields of events and spans like the default formatter (`message`, then
/// `name=value` separated by spaces; strings quoted), with control characters escaped.
#[derive(Debug, Default, Clone, Copy)]
pub struct EscapedFields;

impl<'w> FormatFields<'w> for EscapedFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut v = Visitor {
            writer,
            result: Ok(()),
            first: true,
        };
        fields.record(&mut v);
        v.result
    }
}

struct Visitor<'w> {
    writer: Writer<'w>,
    result: fmt::Result,
    first: bool,
}

impl Visitor<'_> {
    fn write(&mut self, field: &Field, value: &str) {
        if self.result.is_err() {
            return;
        }
        let name = field.name();
        if name.starts_with("log.") {
            return;
        }
        let sep = if self.first { "" } else { " " };
        self.first = false;
        self.result = if name == "message" {
            write!(self.writer, "{sep}{}", escape(value))
        } else {
            let name = name.strip_prefix("r#").unwrap_or(name);
            write!(self.writer, "{sep}{name}={}", escape(value))
        };
    }
}

impl Visit for Visitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.write(field, value);
        } else {
            self.write(field, &format!("{value:?}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write(field, &format!("{value:?}"));
    }
}

/// Whether `c` is written escaped: a control character (C0, DEL, C1), a line or paragraph
/// separator (U+2028, U+2029: line breaks to JavaScript and to some log viewers), or a
/// bidirectional control (U+061C, U+200E/F, U+202A-E, U+2066-9), which can make a viewer
/// show a line's text in another order than it has ("Trojan Source").
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// `s` with every character [`needs_escape`] names escaped; other text unchanged.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.into()
}

/// `line` with every character [`needs_escape`] names but the final newline escaped as JSON
/// does (`\u0085`, `\u2028`): serde_json escapes C0 but leaves DEL, C1, the separators and
/// the bidi controls raw. In a JSON text they occur only inside strings, so the result is
/// the same JSON.
pub fn json_controls_escaped(line: &str) -> std::borrow::Cow<'_, str> {
    let body = line.strip_suffix('\n').unwrap_or(line);
    if !body.chars().any(needs_escape) {
        return line.into();
    }
    let mut out = String::with_capacity(line.len() + 12);
    for c in body.chars() {
        if needs_escape(c) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    if body.len() < line.len() {
        out.push('\n');
    }
    out.into()
}

/// stderr, each JSON line passed through [`json_controls_escaped`].
struct JsonStderr;

impl std::io::Write for JsonStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut err = std::io::stderr().lock();
        match std::str::from_utf8(buf) {
            Ok(text) => err.write_all(json_controls_escaped(text).as_bytes())?,
            Err(_) => err.write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// A TOML error as the log may show it: the line and key, and the parser's message with
/// every quoted text (`"..."`, `` `...` ``) replaced by `…`: a value there may be a secret
/// (`invalid type: string "hunter2"`), and so may the source line the error's own `Display`
/// would quote. A message about keys (`unknown field `lisen`, expected one of ...`) names
/// keys only, and is kept; so is what follows the last `, expected ` (what the code
/// accepts: `expected `text` or `json``).
pub fn toml_error_without_values(
    text: &str,
    key: Option<&str>,
    message: &str,
    span: Option<std::ops::Range<usize>>,
) -> String {
    let mut out = String::new();
    if let Some(at) = span.and_then(|s| text.get(..s.start)) {
        let _ = write!(out, "line {}: ", at.matches('\n').count() + 1);
    }
    if let Some(k) = key.filter(|k| !k.is_empty() && *k != "?" && *k != ".") {
        let _ = write!(out, "`{}`: ", escape(k));
    }
    let about_keys = ["unknown field", "missing field", "duplicate field", "duplicate key"]
        .iter()
        .any(|p| message.starts_with(p));
    if about_keys {
        out.push_str(message);
        return escape(out.trim_end()).into_owned();
    }
    // serde writes `{what was found}, expected {what the code accepts}`: only the last
    // `, expected ` is the code's (a value before it may hold those words itself).
    let (told, accepted) = match message.rfind(", expected ") {
        Some(at) => message.split_at(at),
        None => (message, ""),
    };
    let mut open: Option<char> = None;
    // serde quotes a string value with Rust's escapes (`"a\"b"`): an escaped quote is
    // part of the value.
    let mut escaped = false;
    for c in told.chars() {
        match open {
            Some('"') if escaped => escaped = false,
            Some('"') if c == '\\' => escaped = true,
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                open = None;
            }
            Some(_) => {}
            None => {
                out.push(c);
                if c == '"' || c == '`' {
                    open = Some(c);
                }
            }
        }
    }
    if open.is_some() {
        out.push('…');
    }
    out.push_str(accepted);
    escape(out.trim_end()).into_owned()
}

/// How log lines are written (`log_format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `time LEVEL span{fields}: target: message fields`, control characters escaped.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, the event's fields at the
    /// top level, `span` with the request's `request_id`); JSON escapes control characters.
    Json,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            other => Err(format!("`{other}` is not text or json")),
        }
    }
}

/// Libraries whose `debug` and `trace` lines may carry request bytes, headers, queries with
/// their parameters or key material: they log at `info` at most unless the filter names them.
const CAPPED: &[&str] = &[
    "hyper",
    "hyper_util",
    "h2",
    "warp",
    "rustls",
    "tokio_rustls",
    "tokio_postgres",
    "postgres",
    "ureq",
    "ureq_proto",
    "ldap3",
    "lber",
    "native_tls",
    "tower",
    "mio",
    "want",
    "reqwest",
    "rusqlite",
];

/// The verbosity of a level name (`off` 0 .. `trace` 5); `None` for anything else.
fn level_rank(s: &str) -> Option<u8> {
    match s.trim().to_ascii_lowercase().as_str() {
        "off" => Some(0),
        "error" => Some(1),
        "warn" => Some(2),
        "info" => Some(3),
        "debug" => Some(4),
        "trace" => Some(5),
        _ => None,
    }
}

/// `filter` with [`CAPPED`] libraries held at `info`, those it names aside: `trace` must not
/// put a password that a library saw into the log. A library the filter would log at `info`
/// or less (`warn`, a filter of `sts` only) is left alone: a cap must never raise a level.
pub fn capped(filter: &str) -> String {
    // (target, verbosity) of each directive: `warn` is every target's; `sts` alone is
    // `sts=trace`; a span filter (`[request]=debug`) applies to every target inside it.
    let directives: Vec<(&str, u8)> = filter
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| match d.rsplit_once('=') {
            Some((lhs, level)) => (lhs, level_rank(level).unwrap_or(5)),
            None => match level_rank(d) {
                Some(rank) => ("", rank),
                None => (d, 5),
            },
        })
        .map(|(lhs, rank)| (lhs.split('[').next().unwrap_or("").trim(), rank))
        .collect();
    let named = |lib: &str| {
        directives
            .iter()
            .any(|(t, _)| *t == lib || t.starts_with(&format!("{lib}::")))
    };
    // EnvFilter matches a directive's target as a prefix of the event's.
    let louder_than_info = |lib: &str| {
        directives
            .iter()
            .any(|(t, rank)| lib.starts_with(t) && *rank > 3)
    };
    let mut out = filter.trim().to_owned();
    for lib in CAPPED
        .iter()
        .filter(|l| !named(l) && louder_than_info(l))
    {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(lib);
        out.push_str("=info");
    }
    out
}

type Reload = tracing_subscriber::reload::Handle<
    tracing_subscriber::EnvFilter,
    tracing_subscriber::Registry,
>;

/// The installed log's filter, replaced by [`set_filter`] (SIGHUP).
static FILTER: std::sync::OnceLock<Reload> = std::sync::OnceLock::new();

/// Installs the server's log on stderr in `format` with the `tracing` filter `filter`
/// (dependencies capped: [`capped`]).
pub fn init(filter: &str, format: Format) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let env = tracing_subscriber::EnvFilter::try_new(capped(filter))?;
    let (env, handle) = tracing_subscriber::reload::Layer::new(env);
    let registry = tracing_subscriber::registry().with(env);
    match format {
        Format::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(std::io::stderr().is_terminal())
                    .fmt_fields(EscapedFields),
            )
            .try_init()?,
        Format::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(|| JsonStderr),
            )
            .try_init()?,
    }
    let _ = FILTER.set(handle);
    Ok(())
}

/// Replaces the installed log's filter (SIGHUP re-reads `log`); an invalid filter leaves
/// the old one in place and says why.
pub fn set_filter(filter: &str) -> Result<(), String> {
    let env = tracing_subscriber::EnvFilter::try_new(capped(filter)).map_err(|e| e.to_string())?;
    match FILTER.get() {
        Some(handle) => handle.reload(env).map_err(|e| e.to_string()),
        None => Err("no log installed".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn client_text_comes_out_as_one_escaped_line() {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .fmt_fields(EscapedFields)
            .finish();
        let hostile =
            "alice\n2026-12-04T16:00:00Z  INFO sts::engine: FORGED\r\0\u{1b}[31mred\u{85}";
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(principal = %hostile, quoted = hostile, debugged = ?hostile, "issued to {hostile}");
            tracing::info_span!("request", user = %hostile).in_scope(|| {
                tracing::warn!("inside");
            });
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.split_terminator('\n').collect();
        assert_eq!(lines.len(), 2, "{text:?}");
        assert!(text.ends_with('\n'));
        for line in &lines {
            assert!(!line.chars().any(char::is_control), "{line:?}");
            assert!(!line.starts_with("2026-12-04T16:00:00Z"), "{line:?}");
        }
        let first = lines[0];
        assert!(
            first.contains("issued to alice\\n2026-12-04T16:00:00Z  INFO sts::engine: FORGED\\r\\u{0}\\u{1b}[31mred\\u{85}"),
            "{first}"
        );
        assert!(first.contains("principal=alice\\n"), "{first}");
        assert!(first.contains("quoted=\"alice\\n"), "{first}");
        assert!(lines[1].contains("user=alice\\n"), "{}", lines[1]);
    }

    #[test]
    fn json_lines_escape_every_control_character() {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(move || writer.clone())
            .finish();
        let hostile = "alice\n{\"level\":\"ERROR\"}\r\0\u{1b}[31m\u{85}\u{7f}";
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(principal = %hostile, "issued to {hostile}");
        });
        let raw = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let text = json_controls_escaped(&raw);
        assert_eq!(text.matches('\n').count(), 1, "{text:?}");
        assert!(text.ends_with('\n'));
        assert!(!text.trim_end().chars().any(char::is_control), "{text:?}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["principal"], hostile);
        assert_eq!(v["message"], format!("issued to {hostile}"));
        assert_eq!(json_controls_escaped("{}\n"), "{}\n");
    }

    #[test]
    fn libraries_are_capped_unless_named() {
        let f = capped("trace");
        assert!(f.starts_with("trace,hyper=info,"), "{f}");
        assert!(f.contains("tokio_postgres=info"), "{f}");
        let f = capped("sts=debug,hyper=trace, rustls::conn=debug");
        let has = |d: &str| f.split(',').any(|x| x == d);
        assert!(!has("hyper=info") && !has("rustls=info"), "{f}");
        // `hyper=trace` reaches hyper_util (a prefix); nothing reaches tokio_rustls, which
        // therefore needs no cap (it used to get one: `tokio_rustls=info`, a level raised).
        assert!(has("hyper_util=info") && !has("tokio_rustls=info"), "{f}");
        tracing_subscriber::EnvFilter::try_new(capped("")).unwrap();
        // A cap never raises a level: at warn, or with only sts verbose, nothing is added.
        assert_eq!(capped("warn"), "warn");
        assert_eq!(capped("info"), "info");
        assert_eq!(capped("sts=trace"), "sts=trace");
        assert_eq!(capped("error,sts=debug"), "error,sts=debug");
        assert!(capped("debug").contains("hyper=info"));
        assert!(capped("warn,[request]=trace").contains("warn,[request]=trace,hyper=info"));
    }

    #[test]
    fn toml_errors_name_line_and_key_but_quote_no_value() {
        let text = "listen = \"127.0.0.1:1\"\nlog_format = \"hunter2\"\n";
        let at = text.find("\"hunter2").unwrap();
        let e = toml_error_without_values(
            text,
            Some("log_format"),
            "unknown variant `hunter2`, expected `text` or `json`",
            Some(at..at + 9),
        );
        assert_eq!(
            e,
            "line 2: `log_format`: unknown variant `…`, expected `text` or `json`"
        );
        let e = toml_error_without_values(text, None, "invalid type: string \"s3cr3t", None);
        assert_eq!(e, "invalid type: string \"…");
        let e = toml_error_without_values(text, Some("?"), "unknown field `lisen`, expected `listen`", None);
        assert_eq!(e, "unknown field `lisen`, expected `listen`");
        // A value that holds the words itself (review): nothing of it is kept.
        for secret in ["unexpected-S3cret", "expected-S3cret", "x, expected S3cret", "a\"expected S3cret"] {
            let message = format!("invalid type: string {secret:?}, expected u32");
            let e = toml_error_without_values(text, None, &message, None);
            assert!(!e.contains("S3cret"), "{secret}: {e}");
            assert!(e.ends_with(", expected u32"), "{e}");
        }
    }

    #[test]
    fn separators_and_bidi_controls_are_escaped() {
        let hostile = "a\u{2028}b\u{2029}c\u{202e}d\u{2066}e\u{200f}f";
        assert_eq!(
            escape(hostile),
            "a\\u{2028}b\\u{2029}c\\u{202e}d\\u{2066}e\\u{200f}f"
        );
        let line = serde_json::json!({ "v": hostile }).to_string();
        let escaped = json_controls_escaped(&line);
        assert!(!escaped.chars().any(needs_escape), "{escaped}");
        let back: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back["v"], hostile);
        // Other text outside ASCII is left alone.
        assert_eq!(escape("Zoë → ✓"), "Zoë → ✓");
    }

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(escape("Zoë said \"hi\" \\ ok"), "Zoë said \"hi\" \\ ok");
        assert_eq!(escape("a\tb\u{7f}"), "a\\tb\\u{7f}");
    }
}
