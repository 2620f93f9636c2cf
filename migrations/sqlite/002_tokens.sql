-- Issued tokens of persisting instances (OpenAM's CTS entries for the STS).
CREATE TABLE IF NOT EXISTS tokens (
    token_id    TEXT PRIMARY KEY NOT NULL,
    sts_id      TEXT NOT NULL,
    realm       TEXT NOT NULL,
    principal   TEXT NOT NULL,
    token_type  TEXT NOT NULL,
    issued_ms   INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL,
    token       TEXT NOT NULL
) WITHOUT ROWID;
-- Covering indexes: queries by instance or principal never read the (large) token text.
CREATE INDEX IF NOT EXISTS tokens_sts ON tokens (sts_id, token_id, realm, principal, token_type, issued_ms, expires_ms);
CREATE INDEX IF NOT EXISTS tokens_principal ON tokens (principal, token_id, sts_id, realm, token_type, issued_ms, expires_ms);
CREATE INDEX IF NOT EXISTS tokens_expires ON tokens (expires_ms);
