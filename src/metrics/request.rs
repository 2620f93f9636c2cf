//! Per-request recording: the HTTP layer opens a [`RequestScope`] once a request is admitted;
//! the front end and the engine, running synchronously on one blocking thread, note what they
//! learn (instance, operation, token types, fault code) in a thread-local [`Note`] that the
//! scope collects with the reply's status.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::{METRICS, OperationLabels, RequestLabels, ShedLabels, enabled, instance_label};

/// The protocol family that answered: a closed set, one label value each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frontend {
    /// WS-Trust over SOAP (`/sts`, the AD FS paths).
    Soap,
    /// The REST STS (`/rest-sts`).
    Rest,
    /// The JSON admin and session APIs (`/json`, `/sts-publish`, `/sts-tokengen`, `/sts-clients`).
    JsonAdmin,
    /// OAuth 2.0 (`/oauth2`).
    OAuth2,
    /// Published metadata (`/FederationMetadata`).
    Metadata,
}

impl Frontend {
    /// Every front end, in [`super::snapshot`] order.
    pub const ALL: [Frontend; 5] = [
        Frontend::Soap,
        Frontend::Rest,
        Frontend::JsonAdmin,
        Frontend::OAuth2,
        Frontend::Metadata,
    ];

    /// Its label value.
    pub fn label(self) -> &'static str {
        match self {
            Frontend::Soap => "soap",
            Frontend::Rest => "rest",
            Frontend::JsonAdmin => "json_admin",
            Frontend::OAuth2 => "oauth2",
            Frontend::Metadata => "metadata",
        }
    }

    fn index(self) -> usize {
        match self {
            Frontend::Soap => 0,
            Frontend::Rest => 1,
            Frontend::JsonAdmin => 2,
            Frontend::OAuth2 => 3,
            Frontend::Metadata => 4,
        }
    }
}

/// What the front end and the engine learnt about the request being handled on this thread.
#[derive(Debug, Default, Clone)]
pub struct Note {
    instance: Option<Arc<str>>,
    operation: Option<&'static str>,
    token_in: Option<&'static str>,
    token_out: Option<&'static str>,
    outcome: Option<&'static str>,
}

thread_local! {
    static NOTE: RefCell<Option<Note>> = const { RefCell::new(None) };
}

fn with_note(f: impl FnOnce(&mut Note)) {
    NOTE.with(|n| {
        if let Ok(mut n) = n.try_borrow_mut()
            && let Some(note) = n.as_mut()
        {
            f(note);
        }
    });
}

/// The request is for the published instance `subpath` (mapped to [`super::UNKNOWN`] if it is
/// not in the published set).
pub fn note_instance(subpath: &str) {
    if enabled() {
        let label = instance_label(Some(subpath));
        with_note(|n| n.instance = Some(label));
    }
}

/// The request's operation (`issue`, `validate`, `introspect`, ...): a fixed name.
pub fn note_operation(operation: &'static str) {
    with_note(|n| n.operation = Some(operation));
}

/// The input and output token types (their wire names: `USERNAME`, `SAML2`, ...); `None`
/// leaves a side as it was.
pub fn note_tokens(token_in: Option<&'static str>, token_out: Option<&'static str>) {
    with_note(|n| {
        n.token_in = token_in.or(n.token_in);
        n.token_out = token_out.or(n.token_out);
    });
}

/// The fault code the request was answered with (`InvalidRequest`, `invalid_client`, ...).
pub fn note_outcome(code: &'static str) {
    with_note(|n| n.outcome = Some(code));
}

/// A request admitted and not yet answered: counted in flight until dropped.
#[derive(Debug)]
pub struct RequestScope {
    frontend: Frontend,
    start: Instant,
    active: bool,
}

impl RequestScope {
    /// Opens the scope of an admitted request of `frontend`.
    pub fn begin(frontend: Frontend) -> RequestScope {
        let active = enabled();
        if active {
            METRICS.in_flight.inc();
        }
        RequestScope {
            frontend,
            start: Instant::now(),
            active,
        }
    }

    /// Runs the front end's handler with an empty note on this thread and returns what it
    /// noted (nothing when metrics are off).
    pub fn capture<T>(&self, handler: impl FnOnce() -> T) -> (T, Note) {
        if !self.active {
            return (handler(), Note::default());
        }
        NOTE.with(|n| n.replace(Some(Note::default())));
        let out = handler();
        let note = NOTE.with(|n| n.take()).unwrap_or_default();
        (out, note)
    }

    /// Records the request, answered with `status`, with what its handler noted.
    pub fn finish(self, note: Note, status: u16) {
        if !self.active {
            return;
        }
        let m = &*METRICS;
        let ok = (200..400).contains(&status);
        let outcome = match note.outcome {
            // A reply that changed after the handler (a lost store write) tells by its status.
            Some(code) if !ok || code != SUCCESS => code,
            _ if ok => SUCCESS,
            _ => status_outcome(status),
        };
        let operation = note.operation.unwrap_or("other");
        m.requests
            .get_or_create(&RequestLabels {
                frontend: self.frontend.label(),
                instance: note.instance.unwrap_or_else(|| instance_label(None)),
                operation,
                token_in: note.token_in.unwrap_or(NONE),
                token_out: note.token_out.unwrap_or(NONE),
                outcome,
            })
            .inc();
        m.durations
            .get_or_create(&OperationLabels {
                frontend: self.frontend.label(),
                operation,
            })
            .observe(self.start.elapsed().as_secs_f64());
        if let Some([succeeded, failed]) = m.totals.get(self.frontend.index()) {
            if ok { succeeded } else { failed }.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drop for RequestScope {
    fn drop(&mut self) {
        if self.active {
            METRICS.in_flight.dec();
        }
    }
}

/// The outcome label of a request answered without a fault.
pub const SUCCESS: &str = "success";
/// The token-type label when there is none (an admin call, a failure before it was known).
const NONE: &str = "none";

/// A failure that noted no fault code, by its HTTP status: a fixed set of names.
fn status_outcome(status: u16) -> &'static str {
    match status {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        412 => "precondition_failed",
        413 => "too_large",
        415 => "unsupported_media_type",
        429 => "too_many_requests",
        500 => "internal_error",
        501 => "not_implemented",
        503 => "unavailable",
        504 => "timeout",
        s if s < 500 => "client_error",
        _ => "server_error",
    }
}

static SHED_TOTAL: AtomicU64 = AtomicU64::new(0);

/// A request of `frontend` refused before its handler ran: `busy` (503), `too_large`,
/// `timed_out` or `broken`.
pub fn shed(frontend: Frontend, reason: &'static str) {
    if enabled() {
        SHED_TOTAL.fetch_add(1, Ordering::Relaxed);
        METRICS
            .shed
            .get_or_create(&ShedLabels {
                frontend: frontend.label(),
                reason,
            })
            .inc();
    }
}

pub(super) fn shed_total() -> u64 {
    SHED_TOTAL.load(Ordering::Relaxed)
}
