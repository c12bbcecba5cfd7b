-- A lock_timeout set in a transaction the draft rolls back is undone with it: the statements after
-- it wait for their locks without limit in the draft, and the plan gives them pgsafe's timeouts.
BEGIN;
SET lock_timeout = '1s';
ROLLBACK;
ALTER TABLE orders ADD COLUMN gift_note text;
CREATE INDEX orders_gift_note_idx ON orders (gift_note);
