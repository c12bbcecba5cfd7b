-- The backfill between SAVEPOINT and ROLLBACK TO is undone: it must stay in that transaction.
BEGIN;
ALTER TABLE orders ADD COLUMN note2 text;
SAVEPOINT before_backfill;
UPDATE orders SET note2 = 'x' WHERE status = 'new';
ROLLBACK TO SAVEPOINT before_backfill;
UPDATE orders SET note2 = 'y' WHERE status = 'paid';
COMMIT;
