ALTER TABLE orders ADD COLUMN region text NOT NULL;
UPDATE orders SET region = 'eu';
