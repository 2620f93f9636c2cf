//! `xs:dateTime` as the protocols read and write it. Reading is lenient (any offset, any
//! fraction); writing is in UTC with the precision each protocol's peers expect.

use chrono::{DateTime, Utc};

/// Parses an `xs:dateTime` with a zone (`Z` or an offset) and optional fractional seconds,
/// as WS-Security and SAML peers write it; surrounding whitespace is ignored.
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// UTC with millisecond precision, as WS-Security writes `wsu:Created`/`wsu:Expires`.
pub fn wsu_datetime(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// UTC to the second, as SAML 2.0 assertions carry their instants.
pub fn saml_datetime(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_offsets_and_fractions_and_writes_utc() {
        let t = parse_datetime(" 2026-01-02T04:04:05.5+01:00 ").unwrap();
        assert_eq!(wsu_datetime(t), "2026-01-02T03:04:05.500Z");
        assert_eq!(saml_datetime(t), "2026-01-02T03:04:05Z");
        assert_eq!(
            parse_datetime("2026-01-02T03:04:05Z"),
            Some(t - chrono::Duration::milliseconds(500))
        );
        assert_eq!(parse_datetime("2026-01-02T03:04:05"), None);
        assert_eq!(parse_datetime("2026-01-02"), None);
        assert_eq!(parse_datetime("yesterday"), None);
        let round = parse_datetime(&wsu_datetime(t)).unwrap();
        assert_eq!(round, t);
    }
}
