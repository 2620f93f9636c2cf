-- Signing key pairs and certificates shared by the nodes of a cluster (on one SQLite node
-- keys stay files under keys/ unless this table holds some). The private key is stored
-- only wrapped with the master key (STS_MASTER_KEY_FILE): AES-256-GCM, bound to the alias.
-- `rev` changes on every write: compare-and-swap for rotation, and the nodes' change poll.
CREATE TABLE IF NOT EXISTS keys (
    alias              TEXT PRIMARY KEY NOT NULL,
    kind               TEXT NOT NULL,
    cert_pem           BLOB NOT NULL,
    wrapped_key        BLOB,
    previous_cert_pem  BLOB,
    rev                TEXT NOT NULL,
    updated_ms         INTEGER NOT NULL
) WITHOUT ROWID;
