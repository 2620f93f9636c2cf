-- The change feed: one generation per topic, bumped by triggers on the shared tables, that
-- every node polls (see src/store/changes.rs) to reload what it caches. The same trigger
-- sends NOTIFY sts_changes with the topic, delivered at commit: nodes that LISTEN reload at
-- once, and poll only as the fallback after a lost connection.
CREATE TABLE IF NOT EXISTS changes (
    topic       text PRIMARY KEY,
    generation  bigint NOT NULL
);
INSERT INTO changes (topic, generation) VALUES ('instances', 0), ('clients', 0), ('keys', 0)
    ON CONFLICT DO NOTHING;
CREATE OR REPLACE FUNCTION changes_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE changes SET generation = generation + 1 WHERE topic = TG_ARGV[0];
    PERFORM pg_notify('sts_changes', TG_ARGV[0]);
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS changes_instances ON instances;
CREATE TRIGGER changes_instances AFTER INSERT OR UPDATE OR DELETE ON instances
    FOR EACH ROW EXECUTE FUNCTION changes_bump('instances');
DROP TRIGGER IF EXISTS changes_clients ON oauth_clients;
CREATE TRIGGER changes_clients AFTER INSERT OR UPDATE OR DELETE ON oauth_clients
    FOR EACH ROW EXECUTE FUNCTION changes_bump('clients');
DROP TRIGGER IF EXISTS changes_keys ON keys;
CREATE TRIGGER changes_keys AFTER INSERT OR UPDATE OR DELETE ON keys
    FOR EACH ROW EXECUTE FUNCTION changes_bump('keys');
