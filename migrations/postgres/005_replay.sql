-- Values accepted once (nonces, message signatures, input assertion IDs, jtis), by SHA-256,
-- until they could no longer be accepted anyway. An expired row is reused by the next insert
-- of its key; the reaper deletes the rest.
CREATE TABLE IF NOT EXISTS replay (
    key       bytea PRIMARY KEY,
    until_ms  bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS replay_until ON replay (until_ms);
