-- A dry run: nothing in it may commit, so no CONCURRENTLY, NOT VALID or batched rewrite.
BEGIN;
CREATE INDEX dry_idx ON orders (created_at);
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
UPDATE orders SET status = 'paid' WHERE status = 'new';
ROLLBACK;
