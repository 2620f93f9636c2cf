-- Failure counters of password sign-ins (identity::throttle), by a digest of what is counted
-- (an account and source, or a source). locked_until_ms is 0 when never locked.
CREATE TABLE IF NOT EXISTS lockout (
    key              BLOB PRIMARY KEY NOT NULL,
    failures         INTEGER NOT NULL,
    window_start_ms  INTEGER NOT NULL,
    locked_until_ms  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS lockout_window ON lockout (window_start_ms);
