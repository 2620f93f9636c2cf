-- Users and realms of the local identity store, when nodes share the store (see
-- src/store/users.rs). digest_secret is wrapped with the master key; rev counts changes.
CREATE TABLE IF NOT EXISTS realms (
    realm  TEXT PRIMARY KEY NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS users (
    realm          TEXT NOT NULL,
    username       TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    digest_secret  BLOB,
    attributes     TEXT NOT NULL,
    disabled       INTEGER NOT NULL,
    admin          INTEGER NOT NULL,
    rev            INTEGER NOT NULL,
    PRIMARY KEY (realm, username)
) WITHOUT ROWID;
