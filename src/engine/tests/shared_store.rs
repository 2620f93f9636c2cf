//! Every per-node state the engine keeps in a shared store (replay cache, lockout counters,
//! users), shared by two "nodes" (two caches, throttles, user stores) on one real PostgreSQL.

#[test]
fn replay_lockout_and_users_are_shared_by_nodes_on_postgres() {
    let url = crate::store::testpg::TestPostgres::shared().fresh_schema();
    let store = crate::store::open(&url).unwrap();
    crate::engine::replay::tests::shared_by_nodes(store.clone());
    crate::identity::throttle::tests::nodes_share_counters(store.clone());
    crate::identity::stored::tests::shared_by_nodes(store);
}
