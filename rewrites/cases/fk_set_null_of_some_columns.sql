-- PostgreSQL 15's `ON DELETE SET NULL (col)`: the key is added NOT VALID and validated later,
-- its column list kept as written.
ALTER TABLE order_notes ADD CONSTRAINT order_notes_order_fk FOREIGN KEY (user_id, order_id)
    REFERENCES orders (user_id, id) ON DELETE SET NULL (user_id);
