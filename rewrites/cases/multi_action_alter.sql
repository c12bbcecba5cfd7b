ALTER TABLE orders
    ADD COLUMN discount numeric,
    ADD CONSTRAINT orders_discount_nonneg CHECK (discount >= 0),
    ADD FOREIGN KEY (user_id) REFERENCES users (id),
    ALTER COLUMN status SET DEFAULT 'new';
