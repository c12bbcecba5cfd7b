-- The temporary table is used inside the draft's transaction: the step holds the draft's own
-- BEGIN/COMMIT, as written.
CREATE TEMP TABLE ids AS SELECT id FROM orders WHERE status = 'new';
BEGIN;
ALTER TABLE orders ADD COLUMN flagged boolean;
UPDATE orders SET flagged = true WHERE id IN (SELECT id FROM ids);
COMMIT;
