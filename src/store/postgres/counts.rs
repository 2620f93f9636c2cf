//! Table sizes for the gauges, in one round trip: each table counted up to
//! `EXACT_UP_TO + 1` rows (a bounded index scan), and beyond that the planner's estimate
//! (`pg_class.reltuples`, which autovacuum and `ANALYZE` keep current; -1 when the table was
//! never analysed), never a full `COUNT(*)` of a large table.

use super::PgStore;
use crate::store::StoreError;
use crate::store::counts::{Count, CountStore, Counts, EXACT_UP_TO};

impl CountStore for PgStore {
    fn counts(&self) -> Result<Counts, StoreError> {
        const SQL: &str = "SELECT \
             (SELECT count(*) FROM (SELECT 1 FROM tokens LIMIT $1) t), \
             (SELECT reltuples::int8 FROM pg_class WHERE oid = 'tokens'::regclass), \
             (SELECT count(*) FROM (SELECT 1 FROM sessions LIMIT $1) s), \
             (SELECT reltuples::int8 FROM pg_class WHERE oid = 'sessions'::regclass), \
             (SELECT count(*) FROM (SELECT 1 FROM replay LIMIT $1) r), \
             (SELECT reltuples::int8 FROM pg_class WHERE oid = 'replay'::regclass)";
        let limit = i64::try_from(EXACT_UP_TO + 1).unwrap_or(i64::MAX);
        let row = self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            let r = c.client.query_one(&st, &[&limit])?;
            let mut v = [0i64; 6];
            for (i, slot) in v.iter_mut().enumerate() {
                *slot = r.try_get::<_, Option<i64>>(i)?.unwrap_or(-1);
            }
            Ok(v)
        })?;
        let count = |seen: i64, estimate: i64| {
            Count::from_bounded(u64::try_from(seen).unwrap_or(0), u64::try_from(estimate).ok())
        };
        let [t, te, s, se, r, re] = row;
        Ok(Counts {
            tokens: count(t, te),
            sessions: count(s, se),
            replay: count(r, re),
        })
    }
}
