//! The change feed: one generation per topic in the `changes` table, bumped by triggers on the
//! shared tables, so that every node sharing the store reloads what it caches (instances, keys,
//! users) soon after any node, or an `sts` command, changed it. Backends that can push (the
//! PostgreSQL `LISTEN`/`NOTIFY`) hand out a listener; the others are polled.

use std::time::Duration;

use super::StoreError;

/// Published instances (`instances`).
pub const INSTANCES: &str = "instances";
/// OAuth clients (`oauth_clients`).
pub const CLIENTS: &str = "clients";
/// Signing and encryption keys (`keys`).
pub const KEYS: &str = "keys";

/// The generations of the change feed.
pub trait ChangeStore: Send + Sync {
    /// Every topic with its generation, which changes whenever a row of its table does.
    fn change_generations(&self) -> Result<Vec<(String, i64)>, StoreError>;
    /// A push subscription on its own connection, where the backend has one; `None` where
    /// changes are only seen by polling [`ChangeStore::change_generations`].
    fn change_listener(&self) -> Result<Option<Box<dyn ChangeListener>>, StoreError>;
}

/// A subscription to change notifications.
pub trait ChangeListener: Send {
    /// Waits at most `timeout` for notifications; returns the topics notified (none when the
    /// time ran out). An error means the subscription is lost: drop it and subscribe again.
    fn wait(&mut self, timeout: Duration) -> Result<Vec<String>, StoreError>;
}

/// The generation of `topic` in `gens` (0 when absent).
pub fn generation_of(gens: &[(String, i64)], topic: &str) -> i64 {
    gens.iter()
        .find(|(t, _)| t == topic)
        .map_or(0, |(_, g)| *g)
}

/// Changes to instances and clients bump their topics; a listener, if any, hears them.
#[cfg(test)]
pub fn conformance(store: &dyn super::Store) {
    use super::{ClientRecord, InstanceRecord};
    let gens = || store.change_generations().unwrap();
    let mut listener = store.change_listener().unwrap();
    let g0 = gens();
    let rec = InstanceRecord {
        id: "feed".into(),
        kind: "rest".into(),
        rev: "r1".into(),
        config: "{}".into(),
        updated_ms: 1,
    };
    assert!(store.insert_instance(&rec).unwrap());
    let g1 = gens();
    assert_ne!(generation_of(&g0, INSTANCES), generation_of(&g1, INSTANCES));
    assert_eq!(generation_of(&g0, CLIENTS), generation_of(&g1, CLIENTS));
    if let Some(l) = listener.as_mut() {
        // Bounded only to fail a broken backend instead of hanging; a notification is prompt.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut heard = Vec::new();
        while !heard.iter().any(|t| t == INSTANCES) && std::time::Instant::now() < deadline {
            heard.extend(l.wait(Duration::from_millis(200)).unwrap());
        }
        assert!(heard.iter().any(|t| t == INSTANCES), "no notification");
    }
    assert!(store.delete_instance("feed", None).unwrap());
    let g2 = gens();
    assert_ne!(generation_of(&g1, INSTANCES), generation_of(&g2, INSTANCES));
    let client = ClientRecord {
        realm: "/".into(),
        client_id: "feed-client".into(),
        auth_method: "none".into(),
        secret_hash: Vec::new(),
        created_ms: 1,
    };
    assert!(store.insert_client(&client).unwrap());
    let g3 = gens();
    assert_ne!(generation_of(&g2, CLIENTS), generation_of(&g3, CLIENTS));
    assert!(store.delete_client("/", "feed-client").unwrap());
    assert_ne!(generation_of(&g3, CLIENTS), generation_of(&gens(), CLIENTS));
}
