-- STS instances published at run time (`/sts-publish`, `sts instance publish`). `id` is the
-- realm-qualified url element, one namespace for REST and SOAP instances, because issued
-- tokens name their instance by it. Every change bumps `instance_generation`, which each node
-- polls to reload its instances: a publish on one node goes live on all nodes sharing the store.
CREATE TABLE IF NOT EXISTS instances (
    id          TEXT PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL,
    rev         TEXT NOT NULL,
    config      TEXT NOT NULL,
    updated_ms  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS instance_generation (
    one  INTEGER PRIMARY KEY CHECK (one = 1),
    gen  INTEGER NOT NULL
);
INSERT OR IGNORE INTO instance_generation (one, gen) VALUES (1, 0);
CREATE TRIGGER IF NOT EXISTS instances_ins AFTER INSERT ON instances
    BEGIN UPDATE instance_generation SET gen = gen + 1; END;
CREATE TRIGGER IF NOT EXISTS instances_upd AFTER UPDATE ON instances
    BEGIN UPDATE instance_generation SET gen = gen + 1; END;
CREATE TRIGGER IF NOT EXISTS instances_del AFTER DELETE ON instances
    BEGIN UPDATE instance_generation SET gen = gen + 1; END;
