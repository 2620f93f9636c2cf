-- A token's text is stored in its `tokens` row: one B-tree fewer to update per issued token
-- (the same meaning as PostgreSQL's 011). Pages of query results still come from the covering
-- indexes of 010 alone. `token_bodies` keeps the texts stored before this migration until
-- they expire; reads look in both.
ALTER TABLE tokens ADD COLUMN token TEXT;
