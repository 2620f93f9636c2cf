//! The registry is process-wide and lib tests run in parallel: each test uses label values of
//! its own and reads only its own series.

use super::*;

fn sample(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn a_request_is_counted_with_its_notes_and_unknown_instances_map_to_one_label() {
    set_instances(["metrics-unit-a"]);
    for (instance, status) in [("metrics-unit-a", 200), ("no-such-instance-x", 200)] {
        let scope = RequestScope::begin(Frontend::OAuth2);
        let ((), note) = scope.capture(|| {
            note_instance(instance);
            note_operation("unit_op");
            note_tokens(Some("USERNAME"), Some("SAML2"));
        });
        scope.finish(note, status);
    }
    let scope = RequestScope::begin(Frontend::OAuth2);
    let ((), note) = scope.capture(|| {
        note_operation("unit_op");
        note_outcome("invalid_client");
    });
    scope.finish(note, 401);
    let text = render();
    let ok = "sts_requests_total{frontend=\"oauth2\",instance=\"metrics-unit-a\",operation=\"unit_op\",token_in=\"USERNAME\",token_out=\"SAML2\",outcome=\"success\"}";
    assert_eq!(sample(&text, ok), Some(1.0), "{text}");
    let unknown = "sts_requests_total{frontend=\"oauth2\",instance=\"unknown\",operation=\"unit_op\",token_in=\"USERNAME\",token_out=\"SAML2\",outcome=\"success\"}";
    assert_eq!(sample(&text, unknown), Some(1.0), "{text}");
    assert!(!text.contains("no-such-instance-x"));
    let fault = "sts_requests_total{frontend=\"oauth2\",instance=\"unknown\",operation=\"unit_op\",token_in=\"none\",token_out=\"none\",outcome=\"invalid_client\"}";
    assert_eq!(sample(&text, fault), Some(1.0), "{text}");
    let count = "sts_request_duration_seconds_count{frontend=\"oauth2\",operation=\"unit_op\"}";
    assert_eq!(sample(&text, count), Some(3.0), "{text}");
}

#[test]
fn a_failure_without_a_fault_code_is_named_by_its_status() {
    let scope = RequestScope::begin(Frontend::Metadata);
    let ((), note) = scope.capture(|| note_operation("unit_status"));
    scope.finish(note, 503);
    let text = render();
    assert!(text.contains("operation=\"unit_status\",token_in=\"none\",token_out=\"none\",outcome=\"unavailable\"} 1"), "{text}");
}

#[test]
fn notes_outside_a_scope_are_ignored_and_stages_are_timed() {
    note_operation("never");
    {
        let _t = time(Stage::Directory);
    }
    let text = render();
    assert!(!text.contains("\"never\""));
    let count = sample(&text, "sts_stage_duration_seconds_count{stage=\"directory\"}");
    assert!(count.is_some_and(|c| c >= 1.0), "{text}");
    assert!(text.contains("sts_build_info{version=\""), "{text}");
}

#[test]
fn the_snapshot_counts_requests_by_front_end() {
    let before = snapshot();
    let scope = RequestScope::begin(Frontend::Rest);
    let ((), note) = scope.capture(|| note_operation("unit_snapshot"));
    scope.finish(note, 200);
    let after = snapshot();
    let rest = |s: &Snapshot| {
        s.requests
            .iter()
            .find(|c| c.frontend == "rest")
            .map(|c| c.success)
    };
    assert!(rest(&after) > rest(&before));
}

/// The only test that sets the master key series (they are process-wide).
#[test]
fn master_key_ids_are_shown_by_role_and_replaced_on_change() {
    let line = |id: &str, role: &str| format!("sts_master_key_info{{id=\"{id}\",role=\"{role}\"}}");
    set_master_key_ids("00000000000000aa", &[]);
    let text = render();
    assert_eq!(sample(&text, &line("00000000000000aa", "current")), Some(1.0), "{text}");
    set_master_key_ids("00000000000000aa", &["00000000000000bb".into()]);
    set_master_key_ids("00000000000000bb", &["00000000000000aa".into()]);
    let text = render();
    assert_eq!(sample(&text, &line("00000000000000bb", "current")), Some(1.0), "{text}");
    assert_eq!(sample(&text, &line("00000000000000aa", "previous")), Some(1.0), "{text}");
    assert_eq!(text.matches("sts_master_key_info{").count(), 2, "{text}");
}
