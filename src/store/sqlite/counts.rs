//! Table sizes for the gauges: each count reads at most `EXACT_UP_TO + 1` entries of the
//! table's smallest index (SQLite keeps no row count, and no statistics without `ANALYZE`),
//! so a larger table reports that bound as a lower bound.

use rusqlite::params;

use super::{SqliteStore, db};
use crate::store::StoreError;
use crate::store::counts::{Count, CountStore, Counts, EXACT_UP_TO};

impl CountStore for SqliteStore {
    fn counts(&self) -> Result<Counts, StoreError> {
        let limit = i64::try_from(EXACT_UP_TO + 1).unwrap_or(i64::MAX);
        let (tokens, sessions, replay): (i64, i64, i64) = self
            .conn()
            .prepare_cached(
                "SELECT (SELECT count(*) FROM (SELECT 1 FROM tokens LIMIT ?1)), \
                 (SELECT count(*) FROM (SELECT 1 FROM sessions LIMIT ?1)), \
                 (SELECT count(*) FROM (SELECT 1 FROM replay LIMIT ?1))",
            )
            .and_then(|mut st| st.query_row(params![limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))
            .map_err(db)?;
        let count = |n: i64| Count::from_bounded(u64::try_from(n).unwrap_or(0), None);
        Ok(Counts {
            tokens: count(tokens),
            sessions: count(sessions),
            replay: count(replay),
        })
    }
}
