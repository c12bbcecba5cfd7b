BEGIN;
ALTER TABLE orders ADD COLUMN region text;
UPDATE orders SET region = 'eu' WHERE user_id < 1000;
UPDATE orders SET amount = amount * 2;
COMMIT;
