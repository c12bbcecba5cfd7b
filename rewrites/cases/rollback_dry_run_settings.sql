-- A setting made inside a rolled-back transaction is undone with it: later steps must not repeat it.
BEGIN;
SET search_path = nowhere, public;
CREATE INDEX dry_idx ON orders (user_id);
ROLLBACK;
CREATE INDEX orders_note_idx ON orders (status, created_at);
