-- Issued tokens of persisting instances (OpenAM's CTS entries for the STS). The token text
-- (~3.4 KB for a signed assertion) lives in its own table, so that the rows queries walk stay
-- small. Text columns that queries order or compare by use the "C" collation: byte order, as
-- SQLite's, whatever the database's locale, and usable by the btree indexes.
CREATE TABLE IF NOT EXISTS tokens (
    token_id    text COLLATE "C" PRIMARY KEY,
    sts_id      text COLLATE "C" NOT NULL,
    realm       text COLLATE "C" NOT NULL,
    principal   text COLLATE "C" NOT NULL,
    token_type  text COLLATE "C" NOT NULL,
    issued_ms   bigint NOT NULL,
    expires_ms  bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS token_bodies (
    token_id    text COLLATE "C" PRIMARY KEY,
    token       text NOT NULL
);
CREATE INDEX IF NOT EXISTS tokens_sts ON tokens (sts_id, token_id);
CREATE INDEX IF NOT EXISTS tokens_principal ON tokens (principal, token_id);
CREATE INDEX IF NOT EXISTS tokens_expires ON tokens (expires_ms);
