-- The draft's SET LOCAL applies to every statement of its transaction, also to the index build
-- the plan moves out of it (as a session SET there).
BEGIN;
SET LOCAL search_path = public;
CREATE INDEX idx_orders_note ON orders (status, amount);
ALTER TABLE orders ADD COLUMN region text;
ALTER TABLE users ADD COLUMN nickname text;
COMMIT;
