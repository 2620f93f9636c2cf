-- Failure counters of password sign-ins (identity::throttle), by a digest of what is counted
-- (an account and source, or a source). locked_until_ms is 0 when never locked.
CREATE TABLE IF NOT EXISTS lockout (
    key              bytea PRIMARY KEY,
    failures         bigint NOT NULL,
    window_start_ms  bigint NOT NULL,
    locked_until_ms  bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS lockout_window ON lockout (window_start_ms);
