-- Token queries answered from the index alone: `_queryFilter` by sts_id or principal returns
-- the listed columns, so covering indexes serve a page of 1000 results from a dozen index pages
-- (an index-only scan; autovacuum keeps the visibility map current for this insert-mostly
-- table) instead of a heap page per row. They replace the plain indexes of 002: still two
-- indexes to maintain per insert.
CREATE INDEX IF NOT EXISTS tokens_sts_cover ON tokens (sts_id, token_id)
    INCLUDE (realm, principal, token_type, issued_ms, expires_ms);
DROP INDEX IF EXISTS tokens_sts;
CREATE INDEX IF NOT EXISTS tokens_principal_cover ON tokens (principal, token_id)
    INCLUDE (sts_id, realm, token_type, issued_ms, expires_ms);
DROP INDEX IF EXISTS tokens_principal;
-- A token's text (~3.4 KB signed, base64 signature values that hardly compress; compression would cost CPU on the busiest write path) stays in its row
-- and uncompressed: no TOAST table insert and no compression attempt per token. Texts longer
-- than a page still go out of line (uncompressed).
ALTER TABLE token_bodies SET (toast_tuple_target = 8160);
ALTER TABLE token_bodies ALTER COLUMN token SET STORAGE EXTERNAL;
