-- unique-using-index (UNIQUE): a composite key other tables can reference.
ALTER TABLE orders ADD CONSTRAINT orders_user_id_id_key UNIQUE (user_id, id);
