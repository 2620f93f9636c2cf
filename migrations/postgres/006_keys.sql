-- Signing key pairs and certificates shared by the nodes of a cluster. The private key is
-- stored only wrapped with the master key (STS_MASTER_KEY_FILE): AES-256-GCM, bound to the
-- alias. `rev` changes on every write: compare-and-swap for rotation, and the nodes' change poll.
CREATE TABLE IF NOT EXISTS keys (
    alias              text COLLATE "C" PRIMARY KEY,
    kind               text NOT NULL,
    cert_pem           bytea NOT NULL,
    wrapped_key        bytea,
    previous_cert_pem  bytea,
    rev                text NOT NULL,
    updated_ms         bigint NOT NULL
);
