//! The change feed on PostgreSQL: generations in `changes`, and a push through
//! `LISTEN sts_changes` on a connection of its own (the triggers `NOTIFY` at commit).

use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

use super::PgStore;
use super::pool::db;
use crate::store::StoreError;
use crate::store::changes::{ChangeListener, ChangeStore};

impl ChangeStore for PgStore {
    fn change_generations(&self) -> Result<Vec<(String, i64)>, StoreError> {
        const SQL: &str = "SELECT topic, generation FROM changes ORDER BY topic";
        self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            c.client
                .query(&st, &[])?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect()
        })
    }

    fn change_listener(&self) -> Result<Option<Box<dyn ChangeListener>>, StoreError> {
        let mut client = self.connector.connect().map_err(db)?;
        super::pool::off_runtime(|| client.batch_execute("LISTEN sts_changes")).map_err(db)?;
        Ok(Some(Box::new(PgListener {
            client: Some(client),
        })))
    }
}

struct PgListener {
    /// Always set; an `Option` only so that `drop` can close it off the async runtime.
    client: Option<postgres::Client>,
}

impl Drop for PgListener {
    fn drop(&mut self) {
        let client = self.client.take();
        super::pool::off_runtime(move || drop(client));
    }
}

impl ChangeListener for PgListener {
    fn wait(&mut self, timeout: Duration) -> Result<Vec<String>, StoreError> {
        super::pool::off_runtime(|| self.wait_here(timeout))
    }
}

impl PgListener {
    fn wait_here(&mut self, timeout: Duration) -> Result<Vec<String>, StoreError> {
        let Some(client) = self.client.as_mut() else {
            return Err(StoreError::Unavailable("the listener is closed".into()));
        };
        let mut topics = Vec::new();
        {
            let mut notes = client.notifications();
            // The first notification (or the timeout), then whatever else came with it.
            let first = notes.timeout_iter(timeout).next().map_err(db)?;
            if let Some(n) = first {
                topics.push(n.payload().to_owned());
                let mut more = notes.iter();
                while let Some(n) = more.next().map_err(db)? {
                    topics.push(n.payload().to_owned());
                }
            }
        }
        if client.is_closed() {
            return Err(StoreError::Unavailable(
                "the change notification connection closed".into(),
            ));
        }
        topics.sort();
        topics.dedup();
        Ok(topics)
    }
}
