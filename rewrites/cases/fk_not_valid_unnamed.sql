ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users (id);
