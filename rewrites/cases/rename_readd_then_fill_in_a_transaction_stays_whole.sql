-- TypeORM retypes a column through a copy: renamed away, a new one added under its name, filled
-- from the old one, the old one dropped, in one transaction. Split, the rename and the add
-- committed first, and the running code's writes to amount landed in the new column, which the
-- batched fill then overwrote with amount_old (the app's update reverted, an insert's value
-- NULL), where the draft keeps them (found by a probe). From the rename to the fill the draft
-- stays as written, in one transaction step.
BEGIN;
ALTER TABLE orders RENAME COLUMN amount TO amount_old;
ALTER TABLE orders ADD COLUMN amount numeric(12, 2);
UPDATE orders SET amount = amount_old;
ALTER TABLE orders DROP COLUMN amount_old;
COMMIT;
