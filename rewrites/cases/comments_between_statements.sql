-- Migration 0042: index and constrain orders.user_id
/* Step one: the index the FK lookups need. */
CREATE INDEX idx_orders_user_id ON orders (user_id); -- trailing comment on the same line

-- Step two: the foreign key.
--   (users.id is the primary key)
ALTER TABLE orders
    ADD CONSTRAINT fk_orders_users
    FOREIGN KEY (user_id) REFERENCES users (id);

/* a final block comment
   spanning two lines */
