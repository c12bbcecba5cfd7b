-- Settings made after a savepoint are undone by the rollback to it: later steps must not repeat
-- them, and a lock_timeout the draft set and undid bounds nothing, so pgsafe's own applies.
BEGIN;
SAVEPOINT before_settings;
SET search_path = billing, public;
SET lock_timeout = '1s';
ROLLBACK TO SAVEPOINT before_settings;
COMMIT;
ALTER TABLE orders ADD COLUMN gift_note text;
CREATE INDEX orders_gift_note_idx ON orders (gift_note);
