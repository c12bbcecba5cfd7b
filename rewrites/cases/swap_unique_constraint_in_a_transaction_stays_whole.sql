-- A transaction that drops a key and adds its replacement: split, the drop committed first and
-- the new key was built concurrently after it, so a duplicate written in between made the build
-- fail, leaving the table with neither key and an INVALID index (found by a probe). The
-- transaction stays whole, as written, with timeouts. (One ALTER TABLE … DROP CONSTRAINT …, ADD
-- CONSTRAINT … gets the safe recipe: build first, then swap.)
BEGIN;
ALTER TABLE products DROP CONSTRAINT IF EXISTS products_sku_key;
ALTER TABLE products ADD CONSTRAINT products_sku_cat_key UNIQUE (sku, category);
COMMIT;
