-- Token queries answered from the index alone: `_queryFilter` by sts_id or principal returns
-- the listed columns, so covering indexes serve a page from the index without a lookup of each
-- row in the table. They replace the plain indexes of 002 (the same meaning as PostgreSQL's 010).
CREATE INDEX IF NOT EXISTS tokens_sts_cover
    ON tokens (sts_id, token_id, realm, principal, token_type, issued_ms, expires_ms);
DROP INDEX IF EXISTS tokens_sts;
CREATE INDEX IF NOT EXISTS tokens_principal_cover
    ON tokens (principal, token_id, sts_id, realm, token_type, issued_ms, expires_ms);
DROP INDEX IF EXISTS tokens_principal;
