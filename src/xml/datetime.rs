//! `xs:dateTime` as the protocols read and write it. Reading is lenient (any offset, any
//! fraction); writing is in UTC with the precision each protocol's peers expect.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// Parses an `xs:dateTime` with a zone (`Z` or an offset) and optional fractional seconds,
/// as WS-Security and SAML peers write it; surrounding whitespace is ignored.
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// UTC with millisecond precision, as WS-Security writes `wsu:Created`/`wsu:Expires`.
pub fn wsu_datetime(t: DateTime<Utc>) -> String {
    let mut s = String::with_capacity(24);
    write_datetime(&mut s, t, true);
    s
}

/// UTC to the second, as SAML 2.0 assertions carry their instants.
pub fn saml_datetime(t: DateTime<Utc>) -> String {
    let mut s = String::with_capacity(20);
    write_datetime(&mut s, t, false);
    s
}

/// Writes `YYYY-MM-DDThh:mm:ss[.mmm]Z` digit by digit: these run several times per token, and
/// a `strftime` pattern would be parsed again on every call. Years outside 0..=9999 (which
/// only a misconfigured lifetime could produce) go through chrono, signed as it writes them.
fn write_datetime(out: &mut String, t: DateTime<Utc>, millis: bool) {
    let year = t.year();
    if !(0..=9999).contains(&year) {
        let pattern = if millis {
            "%Y-%m-%dT%H:%M:%S%.3fZ"
        } else {
            "%Y-%m-%dT%H:%M:%SZ"
        };
        out.push_str(&t.format(pattern).to_string());
        return;
    }
    let digits = |out: &mut String, v: u32, n: u32| {
        for i in (0..n).rev() {
            let d = (v / 10u32.pow(i)) % 10;
            out.push(char::from_digit(d, 10).unwrap_or('0'));
        }
    };
    digits(out, year.unsigned_abs(), 4);
    out.push('-');
    digits(out, t.month(), 2);
    out.push('-');
    digits(out, t.day(), 2);
    out.push('T');
    digits(out, t.hour(), 2);
    out.push(':');
    digits(out, t.minute(), 2);
    out.push(':');
    // chrono carries a leap second as nanoseconds past 10^9: second 60, as %S wrote it.
    digits(out, t.second() + t.nanosecond() / 1_000_000_000, 2);
    if millis {
        out.push('.');
        digits(out, (t.nanosecond() % 1_000_000_000) / 1_000_000, 3);
    }
    out.push('Z');
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

    #[test]
    fn writes_what_the_strftime_patterns_wrote() {
        for s in [
            "0001-01-01T00:00:00.001Z",
            "1999-12-31T23:59:59.999Z",
            "2026-02-28T09:08:07.060Z",
            "9999-12-31T23:59:59.5Z",
            "+10000-01-01T00:00:00Z",
            "-0001-06-15T12:00:00Z",
        ] {
            let t = DateTime::parse_from_rfc3339(s).map_or_else(
                |_| {
                    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ")
                        .unwrap()
                        .and_utc()
                },
                |d| d.with_timezone(&Utc),
            );
            assert_eq!(
                wsu_datetime(t),
                t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                "{s}"
            );
            assert_eq!(
                saml_datetime(t),
                t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                "{s}"
            );
        }
    }
}
