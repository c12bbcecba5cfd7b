BEGIN;
ALTER TABLE orders ADD COLUMN note2 text;
SAVEPOINT sp1;
CREATE INDEX sp_idx ON orders (created_at);
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
RELEASE SAVEPOINT sp1;
CREATE INDEX after_idx ON users (email);
COMMIT;
