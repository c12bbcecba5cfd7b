-- golden: schema=schema-with-trigger.sql
-- volatile: orders.public_id
-- orders has an UPDATE trigger: a batched backfill would fire it for every row. Kept as written.
ALTER TABLE orders ADD COLUMN public_id uuid DEFAULT gen_random_uuid();
