-- A token's text is stored in its `tokens` row: one heap tuple and four index entries per
-- issued token instead of two tuples and five entries in two tables (the persisting Issue's
-- database work). Pages of query results still come from the covering indexes of 010 alone
-- (index-only scans), so the wider rows cost queries nothing.
-- Only additions: nodes of the previous version keep writing `tokens` (text NULL) and
-- `token_bodies` during a rolling upgrade, and nodes of this version read the text from either
-- table. `token_bodies` keeps the texts stored before this migration until they expire.
ALTER TABLE tokens ADD COLUMN IF NOT EXISTS token text;
-- As 010 did for token_bodies: in the row, uncompressed (signed tokens hardly compress).
ALTER TABLE tokens SET (toast_tuple_target = 8160);
ALTER TABLE tokens ALTER COLUMN token SET STORAGE EXTERNAL;
