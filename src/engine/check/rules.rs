//! The time-window and audience rules every token check uses: own and foreign, SAML and
//! JWT. Times are compared in milliseconds with saturating arithmetic, so that absurd claim
//! values are out of range rather than overflowing.
//!
//! Skew: a token's start is always allowed the configured clock skew (the signer's clock may
//! run ahead of ours). Its end is too for another party's token; for a token of this STS it
//! is not, since the end was written by this server's own clock.

use chrono::{DateTime, Duration, Utc};

/// Where `now` lies against a token's validity window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outside {
    /// Before its start, even allowing for skew.
    NotYet,
    /// At or after its end (plus skew where allowed).
    Over,
}

/// A validity window rule: how much skew its start and its end are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    start_skew_ms: i64,
    end_skew_ms: i64,
}

impl TimeWindow {
    /// For tokens this STS issued.
    pub fn own(skew: Duration) -> TimeWindow {
        TimeWindow {
            start_skew_ms: skew.num_milliseconds(),
            end_skew_ms: 0,
        }
    }

    /// For another party's tokens.
    pub fn foreign(skew: Duration) -> TimeWindow {
        TimeWindow {
            start_skew_ms: skew.num_milliseconds(),
            end_skew_ms: skew.num_milliseconds(),
        }
    }

    /// Checks `now` against an optional start and end, each in milliseconds since the epoch.
    pub fn check_ms(
        &self,
        start_ms: Option<i64>,
        end_ms: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<(), Outside> {
        let now = now.timestamp_millis();
        if start_ms.is_some_and(|s| s.saturating_sub(self.start_skew_ms) > now) {
            return Err(Outside::NotYet);
        }
        if end_ms.is_some_and(|e| e.saturating_add(self.end_skew_ms) <= now) {
            return Err(Outside::Over);
        }
        Ok(())
    }

    /// [`Self::check_ms`] with instants.
    pub fn check(
        &self,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), Outside> {
        self.check_ms(
            start.map(|t| t.timestamp_millis()),
            end.map(|t| t.timestamp_millis()),
            now,
        )
    }

    /// [`Self::check_ms`] with JWT NumericDate seconds.
    pub fn check_secs(
        &self,
        start: Option<i64>,
        end: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<(), Outside> {
        let ms = |s: i64| s.saturating_mul(1000);
        self.check_ms(start.map(ms), end.map(ms), now)
    }
}

/// The audience rule: a token is for us when one of the audiences it names is one of
/// `ours`.
pub fn audience_matches<'a>(named: impl IntoIterator<Item = &'a str>, ours: &[String]) -> bool {
    named.into_iter().any(|a| ours.iter().any(|o| o == a))
}

/// The audiences of a JWT `aud` claim (a string or an array of strings).
pub fn jwt_audiences(aud: Option<&serde_json::Value>) -> Vec<&str> {
    match aud {
        Some(serde_json::Value::String(a)) => vec![a.as_str()],
        Some(serde_json::Value::Array(list)) => {
            list.iter().filter_map(serde_json::Value::as_str).collect()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(s, 0).unwrap()
    }

    #[test]
    fn own_tokens_get_skew_on_their_start_only() {
        let w = TimeWindow::own(Duration::seconds(300));
        let now = at(1_800_000_000);
        assert_eq!(w.check(Some(at(1_800_000_300)), None, now), Ok(()));
        assert_eq!(
            w.check(Some(at(1_800_000_301)), None, now),
            Err(Outside::NotYet)
        );
        assert_eq!(w.check(None, Some(at(1_800_000_001)), now), Ok(()));
        // The end is exclusive and has no skew.
        assert_eq!(w.check(None, Some(now), now), Err(Outside::Over));
        assert_eq!(
            w.check(None, Some(at(1_799_999_999)), now),
            Err(Outside::Over)
        );
    }

    #[test]
    fn foreign_tokens_get_skew_both_ways() {
        let w = TimeWindow::foreign(Duration::seconds(300));
        let now = at(1_800_000_000);
        assert_eq!(w.check(None, Some(at(1_799_999_701)), now), Ok(()));
        assert_eq!(
            w.check(None, Some(at(1_799_999_700)), now),
            Err(Outside::Over)
        );
        assert_eq!(w.check(Some(at(1_800_000_300)), None, now), Ok(()));
        assert_eq!(
            w.check(Some(at(1_800_000_301)), None, now),
            Err(Outside::NotYet)
        );
    }

    #[test]
    fn seconds_agree_with_whole_second_comparisons_and_saturate() {
        let w = TimeWindow::own(Duration::zero());
        // Half a second past exp: expired, as `exp <= now` in whole seconds says.
        let now = DateTime::from_timestamp_millis(1_800_000_000_500).unwrap();
        assert_eq!(
            w.check_secs(None, Some(1_800_000_000), now),
            Err(Outside::Over)
        );
        assert_eq!(w.check_secs(None, Some(1_800_000_001), now), Ok(()));
        let f = TimeWindow::foreign(Duration::seconds(300));
        assert_eq!(f.check_secs(None, Some(i64::MAX), now), Ok(()));
        assert_eq!(
            f.check_secs(Some(i64::MAX), None, now),
            Err(Outside::NotYet)
        );
        assert_eq!(f.check_secs(None, Some(i64::MIN), now), Err(Outside::Over));
    }

    #[test]
    fn one_named_audience_of_ours_is_enough() {
        let ours = vec!["sts".to_owned(), "sts-2".to_owned()];
        assert!(audience_matches(["x", "sts-2"], &ours));
        assert!(!audience_matches(["x"], &ours));
        assert!(!audience_matches([], &ours));
        let aud = serde_json::json!(["a", 1, "b"]);
        assert_eq!(jwt_audiences(Some(&aud)), vec!["a", "b"]);
        assert_eq!(jwt_audiences(Some(&serde_json::json!("a"))), vec!["a"]);
        assert!(jwt_audiences(None).is_empty());
    }
}
