-- PostgreSQL names these orders_amount_check and orders_amount_check1.
ALTER TABLE orders ADD CHECK (amount >= 0);
ALTER TABLE orders ADD CHECK (amount < 1000000);
