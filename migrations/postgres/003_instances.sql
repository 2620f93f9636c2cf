-- STS instances published at run time (`/sts-publish`, `sts instance publish`). `id` is the
-- realm-qualified url element, one namespace for REST and SOAP instances, because issued
-- tokens name their instance by it. Every change bumps `instance_generation`, which each node
-- polls to reload its instances: a publish on one node goes live on all nodes sharing the store.
CREATE TABLE IF NOT EXISTS instances (
    id          text COLLATE "C" PRIMARY KEY,
    kind        text NOT NULL,
    rev         text NOT NULL,
    config      text NOT NULL,
    updated_ms  bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS instance_generation (
    one  integer PRIMARY KEY CHECK (one = 1),
    gen  bigint NOT NULL
);
INSERT INTO instance_generation (one, gen) VALUES (1, 0) ON CONFLICT DO NOTHING;
CREATE OR REPLACE FUNCTION instances_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE instance_generation SET gen = gen + 1;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS instances_changed ON instances;
CREATE TRIGGER instances_changed AFTER INSERT OR UPDATE OR DELETE ON instances
    FOR EACH ROW EXECUTE FUNCTION instances_bump();
