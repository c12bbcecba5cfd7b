-- golden: pg-version=18
-- A NOT ENFORCED constraint (PostgreSQL 18) checks no row, and PostgreSQL refuses to VALIDATE
-- it: left as written, with the timeouts.
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT ENFORCED;
ALTER TABLE orders ADD CONSTRAINT orders_amount_positive CHECK (amount > 0) NOT ENFORCED;
