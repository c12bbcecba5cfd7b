-- One column: PostgreSQL calls it orders_amount_check.
ALTER TABLE orders ADD CHECK (amount >= 0);
-- Two columns: PostgreSQL calls it orders_check.
ALTER TABLE orders ADD CHECK (amount >= 0 OR status IS NULL);
