ALTER TABLE orders ADD COLUMN buyer_id bigint REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE orders ADD COLUMN seller_id bigint CONSTRAINT orders_seller_fk REFERENCES users;
