//! The change feed on SQLite: polled (SQLite has no notifications across processes).

use super::{SqliteStore, db};
use crate::store::StoreError;
use crate::store::changes::{ChangeListener, ChangeStore};

impl ChangeStore for SqliteStore {
    fn change_generations(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let conn = self.conn();
        let mut st = conn
            .prepare_cached("SELECT topic, generation FROM changes ORDER BY topic")
            .map_err(db)?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)
    }

    fn change_listener(&self) -> Result<Option<Box<dyn ChangeListener>>, StoreError> {
        Ok(None)
    }
}
