-- Sessions (the iPlanetDirectoryPro tokens). The token itself is never stored: `handle` is the
-- SHA-256 of it, so a copy of the database does not yield usable tokens.
CREATE TABLE IF NOT EXISTS sessions (
    handle       BLOB PRIMARY KEY NOT NULL,
    uid          TEXT NOT NULL UNIQUE,
    realm        TEXT NOT NULL,
    username     TEXT NOT NULL,
    interim      INTEGER NOT NULL,
    created_ms   INTEGER NOT NULL,
    accessed_ms  INTEGER NOT NULL,
    max_until_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (realm, username);
CREATE INDEX IF NOT EXISTS sessions_max ON sessions (max_until_ms);
