-- The change feed: one generation per topic, bumped by triggers on the shared tables, that
-- every node polls (see src/store/changes.rs) to reload what it caches.
CREATE TABLE IF NOT EXISTS changes (
    topic       TEXT PRIMARY KEY NOT NULL,
    generation  INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO changes (topic, generation) VALUES ('instances', 0), ('clients', 0);
CREATE TRIGGER IF NOT EXISTS changes_instances_ins AFTER INSERT ON instances
    BEGIN UPDATE changes SET generation = generation + 1 WHERE topic = 'instances'; END;
CREATE TRIGGER IF NOT EXISTS changes_instances_upd AFTER UPDATE ON instances
    BEGIN UPDATE changes SET generation = generation + 1 WHERE topic = 'instances'; END;
CREATE TRIGGER IF NOT EXISTS changes_instances_del AFTER DELETE ON instances
    BEGIN UPDATE changes SET generation = generation + 1 WHERE topic = 'instances'; END;
CREATE TRIGGER IF NOT EXISTS changes_clients_ins AFTER INSERT ON oauth_clients
    BEGIN UPDATE changes SET generation = generation + 1 WHERE topic = 'clients'; END;
CREATE TRIGGER IF NOT EXISTS changes_clients_upd AFTER UPDATE ON oauth_clients
    BEGIN UPDATE changes SET generation = generation + 1 WHERE topic = 'clients'; END;
CREATE TRIGGER IF NOT EXISTS changes_clients_del AFTER DELETE ON oauth_clients
    BEGIN UPDATE changes SET generation = generation + 1 WHERE topic = 'clients'; END;
INSERT OR IGNORE INTO changes (topic, generation) VALUES ('keys', 0);
CREATE TRIGGER IF NOT EXISTS changes_keys_ins AFTER INSERT ON keys
    BEGIN UPDATE changes SET generation = generation + 1 WHERE topic = 'keys'; END;
CREATE TRIGGER IF NOT EXISTS changes_keys_upd AFTER UPDATE ON keys
    BEGIN UPDATE changes SET generation = generation + 1 WHERE topic = 'keys'; END;
CREATE TRIGGER IF NOT EXISTS changes_keys_del AFTER DELETE ON keys
    BEGIN UPDATE changes SET generation = generation + 1 WHERE topic = 'keys'; END;
