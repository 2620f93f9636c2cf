-- Users and realms of the local identity store, when nodes share the store (see
-- src/store/users.rs). digest_secret is wrapped with the master key; rev counts changes.
CREATE TABLE IF NOT EXISTS realms (
    realm  text PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS users (
    realm          text NOT NULL,
    username       text NOT NULL,
    password_hash  text NOT NULL,
    digest_secret  bytea,
    attributes     text NOT NULL,
    disabled       boolean NOT NULL,
    admin          boolean NOT NULL,
    rev            bigint NOT NULL,
    PRIMARY KEY (realm, username)
);
