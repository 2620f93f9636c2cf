-- Issued tokens of persisting instances (OpenAM's CTS entries for the STS). The token text
-- (~3.4 KB for a signed assertion) lives in its own table, so that the rows queries walk stay
-- small: a page of 1000 results touches a few dozen pages, not a thousand.
CREATE TABLE IF NOT EXISTS tokens (
    token_id    TEXT PRIMARY KEY NOT NULL,
    sts_id      TEXT NOT NULL,
    realm       TEXT NOT NULL,
    principal   TEXT NOT NULL,
    token_type  TEXT NOT NULL,
    issued_ms   INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS token_bodies (
    token_id    TEXT PRIMARY KEY NOT NULL,
    token       TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tokens_sts ON tokens (sts_id, token_id);
CREATE INDEX IF NOT EXISTS tokens_principal ON tokens (principal, token_id);
CREATE INDEX IF NOT EXISTS tokens_expires ON tokens (expires_ms);
