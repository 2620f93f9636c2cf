//! The audit trail: one JSON line per security-relevant action (a token issued, validated,
//! renewed or cancelled; a sign-in, a lockout, a logout; an instance, key, OAuth client or
//! user changed, with the administrator who did it), on a stream of its own (`audit_log`:
//! a file, `stdout` or `syslog`), apart from the diagnostic log.
//!
//! Who records an event knows only [`Audit`] and [`Event`]; where lines go is an
//! [`AuditSink`] (`sink.rs`), written by a thread of its own (`trail.rs`) from a bounded
//! queue, so that a slow disk never holds a request without bound. When the queue is full,
//! or the sink fails, the event is dropped and counted ([`AuditStats`]), and the failure
//! logged; with `audit_required` the request is refused instead ([`Unaudited`]), and it waits
//! until its event is written (at most [`trail::REQUIRED_WAIT`]; an event not written by then
//! is withdrawn, or retracted if the sink has it already, so the trail never claims it).
//!
//! An event never carries a token, a password, a session handle or a secret: only ids,
//! names and types. Its values are JSON strings with every control character escaped.

#[cfg(test)]
pub(crate) mod memory;
mod scope;
mod sink;
mod trail;

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::clock::Clock;

pub use scope::{RequestScope, current, in_request};
pub use sink::{AuditSink, FileSink, StdoutSink, SyslogSink, check_target};
pub use trail::REQUIRED_WAIT;

/// The audit trail of this server (cheap to clone); [`Audit::off`] records nothing.
#[derive(Clone, Default)]
pub struct Audit {
    trail: Option<Arc<trail::Trail>>,
    clock: Option<Arc<dyn Clock>>,
}

/// An event that could not be recorded while `audit_required` is set: the request is refused.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the audit trail cannot be written; the request is refused (audit_required)")]
pub struct Unaudited;

/// Counters of the trail since the start (for metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditStats {
    /// Events written.
    pub written: u64,
    /// Events lost: the queue was full, or the sink failed to write them.
    pub dropped: u64,
    /// Failed writes (and reopens) of the sink.
    pub write_failures: u64,
}

impl Audit {
    /// No audit trail.
    pub fn off() -> Audit {
        Audit::default()
    }

    /// The trail `audit_log` names: `stdout`, `syslog`, or a file path (appended, created
    /// owner-only). A file that cannot be opened now is logged and retried: with `required`,
    /// requests are refused until it can be written.
    pub fn open(target: &str, required: bool, clock: Arc<dyn Clock>) -> Audit {
        let sink: Box<dyn AuditSink> = match target {
            "stdout" => Box::new(StdoutSink),
            "syslog" => Box::new(SyslogSink::new("/dev/log")),
            path => Box::new(FileSink::new(path.into())),
        };
        Audit::with_sink(sink, required, trail::CAPACITY, clock)
    }

    /// A trail writing to `sink` from a queue of `capacity` events.
    pub fn with_sink(
        sink: Box<dyn AuditSink>,
        required: bool,
        capacity: usize,
        clock: Arc<dyn Clock>,
    ) -> Audit {
        Audit {
            trail: Some(trail::Trail::start(sink, required, capacity)),
            clock: Some(clock),
        }
    }

    /// Whether events are recorded at all.
    pub fn enabled(&self) -> bool {
        self.trail.is_some()
    }

    /// Records `event` with the time, and the request id and client address of the request
    /// being handled on this thread ([`in_request`]). Fails only with `audit_required`; a
    /// line that failed so is never written later without its retraction (see `trail.rs`).
    pub fn record(&self, event: Event) -> Result<(), Unaudited> {
        let (Some(trail), Some(clock)) = (&self.trail, &self.clock) else {
            return Ok(());
        };
        let scope = current();
        let line = event.line(clock.now(), scope.as_ref());
        trail.push(line, || {
            event
                .with("outcome", "failed")
                .with("reason", "audit_timeout")
                .line(clock.now(), scope.as_ref())
        })
    }

    /// Records a follow-up of an event recorded already (its retraction: `outcome` failed),
    /// best effort: queued without waiting, also with `audit_required`, so that a request
    /// (or the task awaiting a commit) is never held by it.
    pub fn note(&self, event: Event) {
        self.note_in(current().as_ref(), event);
    }

    /// [`Audit::note`] for the request `scope` (captured when the follow-up was arranged):
    /// a commit settles on another thread than the request's, after its scope has ended.
    pub fn note_in(&self, scope: Option<&RequestScope>, event: Event) {
        if let (Some(trail), Some(clock)) = (&self.trail, &self.clock) {
            trail.push_nowait(event.line(clock.now(), scope));
        }
    }

    /// Reopens the sink (a file moved by logrotate: SIGHUP).
    pub fn reopen(&self) {
        if let Some(t) = &self.trail {
            t.reopen();
        }
    }

    /// The counters since the start.
    pub fn stats(&self) -> AuditStats {
        self.trail.as_ref().map(|t| t.stats()).unwrap_or_default()
    }

    /// Waits until every event recorded so far has been handed to the sink (or failed), up
    /// to `limit`: at shutdown, and in tests.
    pub fn flush(&self, limit: std::time::Duration) -> bool {
        self.trail.as_ref().is_none_or(|t| t.flush(limit))
    }
}

/// The longest field value an event keeps, in characters.
pub const MAX_FIELD_CHARS: usize = 256;

/// One audit event: an action (`token.issued`, `login.failure`, ...) and its fields.
#[derive(Debug, Clone)]
pub struct Event {
    action: &'static str,
    fields: Map<String, Value>,
}

impl Event {
    /// An event of `action`.
    pub fn new(action: &'static str) -> Event {
        Event {
            action,
            fields: Map::new(),
        }
    }

    /// Adds the field `key`: never give it a secret. A value longer than [`MAX_FIELD_CHARS`]
    /// (a user name as an unauthenticated client sent it, say) is cut there and marked, so
    /// that no client can make the trail's lines, its queue or its disk grow at will.
    pub fn with(mut self, key: &'static str, value: impl std::fmt::Display) -> Event {
        let mut text = value.to_string();
        if let Some((cut, _)) = text.char_indices().nth(MAX_FIELD_CHARS) {
            text.truncate(cut);
            text.push_str("...(truncated)");
        }
        self.fields.insert(key.to_owned(), Value::String(text));
        self
    }

    /// Adds `key` if `value` is some.
    pub fn with_opt(self, key: &'static str, value: Option<impl std::fmt::Display>) -> Event {
        match value {
            Some(v) => self.with(key, v),
            None => self,
        }
    }

    /// The administrator (or principal) who acted.
    pub fn actor(self, realm: &str, name: &str) -> Event {
        self.with("actor", name).with("actor_realm", realm)
    }

    /// The action's name.
    pub fn action(&self) -> &'static str {
        self.action
    }

    /// The JSON line: `time`, `action`, `request_id` and `client` (when known), then the fields.
    fn line(&self, now: chrono::DateTime<chrono::Utc>, scope: Option<&RequestScope>) -> String {
        let mut out = Map::new();
        out.insert(
            "time".into(),
            Value::String(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        );
        out.insert("action".into(), Value::String(self.action.into()));
        if let Some(s) = scope {
            out.insert("request_id".into(), Value::String(s.request_id.clone()));
            if let Some(c) = s.client {
                out.insert("client".into(), Value::String(c.to_string()));
            }
        }
        for (k, v) in &self.fields {
            out.insert(k.clone(), v.clone());
        }
        crate::logging::json_controls_escaped(&Value::Object(out).to_string()).into_owned()
    }
}

#[cfg(test)]
mod tests;
