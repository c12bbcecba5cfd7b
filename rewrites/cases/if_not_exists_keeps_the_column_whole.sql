-- ADD COLUMN IF NOT EXISTS skips the whole column definition where the column is there already
-- (orders.status is): its inline CHECK and REFERENCES, and its volatile default, must not be moved
-- out of it into statements that would run anyway. Without --schema pgsafe cannot tell, so it
-- leaves each as written. ALTER TABLE IF EXISTS on a table that may be missing: the unique
-- index the recipe would build has no IF EXISTS for its table.
ALTER TABLE orders ADD COLUMN IF NOT EXISTS status text CONSTRAINT orders_status_known CHECK (status <> '');
ALTER TABLE orders ADD COLUMN IF NOT EXISTS user_id bigint CONSTRAINT orders_user_fk REFERENCES users (id);
ALTER TABLE orders ADD COLUMN IF NOT EXISTS status text DEFAULT gen_random_uuid()::text;
ALTER TABLE IF EXISTS archived_orders ADD CONSTRAINT archived_orders_key UNIQUE (id);
