-- An inline UNIQUE builds its index over every row inside ADD COLUMN, under ACCESS EXCLUSIVE: the
-- column is added alone, then its index built concurrently and attached with USING INDEX, under
-- the name PostgreSQL gives the inline key.
ALTER TABLE users ADD COLUMN external_id text UNIQUE;
ALTER TABLE users ADD COLUMN handle text CONSTRAINT users_handle_uq UNIQUE NOT NULL;
alter table users add column last_seen_at timestamptz unique default null;
-- Kept: a value in every row could collide (the draft fails whole), words the recipe does not
-- carry, a column that may exist already, and a table the draft creates (no traffic).
ALTER TABLE users ADD COLUMN code text DEFAULT 'x' UNIQUE;
ALTER TABLE users ADD COLUMN ref text UNIQUE NULLS NOT DISTINCT;
ALTER TABLE users ADD COLUMN IF NOT EXISTS slug text UNIQUE;
CREATE TABLE teams (id bigint);
ALTER TABLE teams ADD COLUMN slug text UNIQUE;
