-- A table created inside a psql \if block exists only when the condition held: otherwise the name
-- is the live table, with its rows and its traffic. After the block the index is built
-- CONCURRENTLY and the ALTER TABLE runs under lock_timeout, and no step says the table was created
-- earlier.
\if false
CREATE TABLE order_notes (order_id bigint, body text);
\endif
CREATE INDEX order_notes_body_idx ON order_notes (body);
ALTER TABLE order_notes ADD COLUMN pinned boolean;
