-- Sessions (the iPlanetDirectoryPro tokens). The token itself is never stored: `handle` is the
-- SHA-256 of it, so a copy of the database does not yield usable tokens.
CREATE TABLE IF NOT EXISTS sessions (
    handle       bytea PRIMARY KEY,
    uid          text NOT NULL UNIQUE,
    realm        text NOT NULL,
    username     text NOT NULL,
    interim      boolean NOT NULL,
    created_ms   bigint NOT NULL,
    accessed_ms  bigint NOT NULL,
    max_until_ms bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (realm, username);
CREATE INDEX IF NOT EXISTS sessions_max ON sessions (max_until_ms);
