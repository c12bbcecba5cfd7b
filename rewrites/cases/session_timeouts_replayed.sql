-- The draft's session settings are repeated at the top of each later step (each runs in a session
-- of its own). (With a statement_timeout of the draft's own, the statements would stay as written:
-- case draft_statement_timeout_keeps_its_statements_as_written.)
SET lock_timeout = '2s';
SET work_mem = '64MB';
ALTER TABLE orders ADD COLUMN note text;
CREATE INDEX idx_orders_user_id ON orders (user_id);
ALTER TABLE orders ADD CHECK (amount >= 0);
