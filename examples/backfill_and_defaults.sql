-- Public ids for orders, archive old notes, and a cleanup.
ALTER TABLE orders ADD COLUMN public_id uuid NOT NULL DEFAULT gen_random_uuid();

UPDATE orders SET note = 'legacy' WHERE created_at < now() - interval '10 years';

DELETE FROM order_notes WHERE body = 'note 1';

ALTER TABLE users ADD COLUMN score float8 DEFAULT random();
