ALTER TABLE IF EXISTS orders ADD CONSTRAINT orders_amount_nonneg CHECK (amount >= 0);
