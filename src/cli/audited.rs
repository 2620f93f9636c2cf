//! Audit events of the offline commands (`sts keys rotate`, `sts user add`, ...) and of the
//! bootstrap (`sts init`, the first `sts serve`): written to the configured `audit_log` at
//! once, before the command ends. The actor is `cli:<user>` in realm `local`, where `<user>`
//! is `$SUDO_USER` or `$USER` (else the uid): an unauthenticated claim of the environment,
//! not an identity the server checked; whoever can run `sts` on the data directory can set
//! it. The action is done when this runs: a trail that cannot be written is reported, and
//! with `audit_required` the command fails.

use super::AnyError;
use crate::audit::{Audit, Event};
use crate::config::Config;

/// Who runs this command, as `cli:<user>`: `$SUDO_USER` or `$USER`, else the numeric uid.
fn operator() -> String {
    format!("cli:{}", local_user())
}

fn local_user() -> String {
    use std::os::unix::fs::MetadataExt as _;
    std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .ok()
        .filter(|u| crate::http::request_id::sane(u).is_some())
        .unwrap_or_else(|| match std::fs::metadata("/proc/self") {
            Ok(m) => format!("uid {}", m.uid()),
            Err(_) => "unknown".into(),
        })
}

/// Records `action` with `fields` on `cfg`'s audit trail, if it has one.
pub(super) fn record(
    cfg: &Config,
    action: &'static str,
    fields: &[(&'static str, &str)],
) -> Result<(), AnyError> {
    let Some(target) = &cfg.audit_log else {
        return Ok(());
    };
    let audit = Audit::open(
        target,
        cfg.audit_required,
        std::sync::Arc::new(crate::clock::SystemClock),
    );
    let mut event = Event::new(action)
        .actor("local", &operator())
        .with("via", "cli");
    for (k, v) in fields {
        event = event.with(k, v);
    }
    let recorded = audit.record(event).is_ok() && audit.flush(crate::audit::REQUIRED_WAIT);
    if recorded && audit.stats().dropped == 0 {
        return Ok(());
    }
    let message = format!(
        "the audit trail ({target}) could not be written: `{action}` is done but not recorded"
    );
    if cfg.audit_required {
        return Err(message.into());
    }
    eprintln!("sts: warning: {message}");
    Ok(())
}
