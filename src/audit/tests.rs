use std::sync::Arc;
use std::time::Duration;

use super::*;

use super::memory::MemorySink as Memory;

fn clock() -> Arc<dyn Clock> {
    crate::clock::FixedClock::new(
        chrono::DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
            .unwrap()
            .to_utc(),
    )
}

const LONG: Duration = Duration::from_secs(60);

#[test]
fn events_carry_time_request_and_escaped_fields() {
    let mem = Memory::default();
    let audit = Audit::with_sink(Box::new(mem.clone()), false, 16, clock());
    let scope = RequestScope {
        request_id: "req-1".into(),
        client: Some("192.0.2.7".parse().unwrap()),
    };
    in_request(scope, || {
        audit
            .record(
                Event::new("login.failure")
                    .with("principal", "eve\n{\"forged\":1}\u{85}\u{7f}")
                    .with("realm", "/"),
            )
            .unwrap();
    });
    audit.record(Event::new("key.rotated")).unwrap();
    assert!(audit.flush(LONG));
    let lines = mem.lines.lock().unwrap().clone();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let first = &lines[0];
    assert!(!first.chars().any(char::is_control), "{first}");
    let v: serde_json::Value = serde_json::from_str(first).unwrap();
    assert_eq!(v["time"], "2026-12-07T10:00:00.000Z");
    assert_eq!(v["action"], "login.failure");
    assert_eq!(v["request_id"], "req-1");
    assert_eq!(v["client"], "192.0.2.7");
    assert_eq!(v["principal"], "eve\n{\"forged\":1}\u{85}\u{7f}");
    let second: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
    assert!(second.get("request_id").is_none(), "{second}");
    assert_eq!(audit.stats().written, 2);
}

#[test]
fn a_failing_sink_is_counted_and_refuses_only_when_required() {
    let mem = Memory::default();
    *mem.broken.lock().unwrap() = true;
    let lenient = Audit::with_sink(Box::new(mem.clone()), false, 16, clock());
    lenient.record(Event::new("token.issued")).unwrap();
    assert!(lenient.flush(LONG));
    let s = lenient.stats();
    assert_eq!((s.written, s.dropped), (0, 1), "{s:?}");
    assert!(s.write_failures >= 1, "{s:?}");

    let strict = Audit::with_sink(Box::new(mem.clone()), true, 16, clock());
    assert!(strict.record(Event::new("token.issued")).is_err());
    *mem.broken.lock().unwrap() = false;
    // Reopened within a second or so, then written, and the event is accepted.
    let guard = std::time::Instant::now() + LONG;
    while strict.record(Event::new("token.issued")).is_err() {
        assert!(std::time::Instant::now() < guard, "never recovered");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(strict.stats().written >= 1);
}

#[test]
fn a_full_queue_drops_without_waiting_unless_required() {
    let mem = Memory::default();
    let audit = Audit::with_sink(Box::new(mem.clone()), false, 2, clock());
    let stuck = mem.stuck.lock().unwrap();
    // The writer takes the first line and blocks on it; two more fill the queue.
    for _ in 0..40 {
        audit.record(Event::new("token.validated")).unwrap();
    }
    assert!(audit.stats().dropped >= 36, "{:?}", audit.stats());
    drop(stuck);
    assert!(audit.flush(LONG));
    let s = audit.stats();
    assert_eq!(s.written + s.dropped, 40, "{s:?}");
}

#[test]
fn off_records_nothing() {
    let a = Audit::off();
    assert!(!a.enabled());
    a.record(Event::new("token.issued")).unwrap();
    assert_eq!(a.stats(), AuditStats::default());
}

#[test]
fn file_sink_appends_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let mut sink = FileSink::new(path.clone());
    sink.write_line("{\"a\":1}").unwrap();
    std::fs::rename(&path, dir.path().join("audit.log.1")).unwrap();
    sink.reopen().unwrap();
    sink.write_line("{\"a\":2}").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":2}\n");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0);
    let mut bad = FileSink::new(path.join("not-a-dir"));
    assert!(bad.write_line("x").is_err());
}

#[test]
fn a_long_field_is_cut_so_no_client_sets_the_size_of_a_line() {
    let mem = Memory::default();
    let audit = Audit::with_sink(Box::new(mem.clone()), false, 16, clock());
    let name = "é".repeat(1 << 20);
    audit
        .record(Event::new("login.failure").with("principal", &name))
        .unwrap();
    assert!(audit.flush(LONG));
    let lines = mem.lines.lock().unwrap().clone();
    assert_eq!(lines.len(), 1);
    let v: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    let kept = v["principal"].as_str().unwrap();
    assert_eq!(
        kept,
        format!("{}...(truncated)", "é".repeat(MAX_FIELD_CHARS))
    );
    assert!(lines[0].len() < 2048, "{} bytes", lines[0].len());
}

/// `audit_required`: a line not written by its deadline refuses its request, and the trail
/// does not claim it later: a line still queued is withdrawn, one the writer holds already
/// is followed by its retraction. Driven by hand (no writer thread): no timing involved.
#[test]
fn a_line_given_up_on_is_withdrawn_or_retracted() {
    let mem = Memory::default();
    let mut sink = mem.clone();
    let trail = trail::Trail::new(true, 16);
    // Still queued at the deadline: withdrawn, never written.
    let a = trail.queue("{\"a\":1}");
    assert!(trail.give_up(a, "{\"a\":\"retracted\"}").is_err());
    // Taken by the writer (being written) at the deadline: written, then retracted.
    let b = trail.queue("{\"b\":1}");
    let batch = trail.take();
    assert!(trail.give_up(b, "{\"b\":\"retracted\"}").is_err());
    trail.write(&mut sink, batch);
    let batch = trail.take();
    trail.write(&mut sink, batch);
    // Written in time: accepted.
    let c = trail.queue("{\"c\":1}");
    let batch = trail.take();
    trail.write(&mut sink, batch);
    assert!(trail.give_up(c, "{\"c\":\"retracted\"}").is_ok());
    assert!(trail.flush(LONG), "a withdrawn line holds up the flush");
    assert_eq!(
        *mem.lines.lock().unwrap(),
        ["{\"b\":1}", "{\"b\":\"retracted\"}", "{\"c\":1}"]
    );
    let s = trail.stats();
    assert_eq!((s.written, s.dropped), (3, 1), "{s:?}");
}

/// A follow-up ([`Audit::note`]: a retraction) is written like any event, with its request.
#[test]
fn a_follow_up_is_written_with_its_request() {
    let mem = Memory::default();
    let audit = Audit::with_sink(Box::new(mem.clone()), false, 16, clock());
    let scope = RequestScope {
        request_id: "req-9".into(),
        client: None,
    };
    in_request(scope, || {
        audit.note(Event::new("token.renewed").with("outcome", "failed"));
    });
    assert!(audit.flush(LONG));
    let lines = mem.lines.lock().unwrap().clone();
    let v: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(
        (&v["action"], &v["outcome"], &v["request_id"]),
        (&serde_json::json!("token.renewed"), &serde_json::json!("failed"), &serde_json::json!("req-9"))
    );
}
