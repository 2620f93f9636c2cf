//! The server's log: one line per event, whatever the events carry. Field values and
//! messages often hold client text (principals, fault reasons, plug-in answers); every
//! control character in them (CR, LF, NUL, ESC, DEL, C1) is written escaped (`\n`, `\r`,
//! `\t`, `\u{1b}`), so that no input can end a line and forge the next one or drive a
//! terminal. Colours only when the log goes to a terminal.

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

/// `s` with every control character escaped; other text unchanged.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.into()
}

/// Installs the server's log on stderr with the `tracing` filter `filter`.
pub fn init(filter: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(filter)?)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .fmt_fields(EscapedFields)
        .try_init()
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
    fn plain_text_is_unchanged() {
        assert_eq!(escape("Zoë said \"hi\" \\ ok"), "Zoë said \"hi\" \\ ok");
        assert_eq!(escape("a\tb\u{7f}"), "a\\tb\\u{7f}");
    }
}
