-- concurrent-index: an index for lookups by user.
CREATE INDEX orders_user_id_idx ON orders (user_id);
