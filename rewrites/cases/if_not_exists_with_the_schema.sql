-- golden: schema=planeq-setup.sql
-- Even with --schema showing orders without flag, ADD COLUMN IF NOT EXISTS keeps its check on the
-- column, as written: the schema file may be out of date, and where the database has the column
-- PostgreSQL skips the whole definition. With it showing orders, ALTER TABLE IF EXISTS changes it
-- as ALTER TABLE does.
ALTER TABLE orders ADD COLUMN IF NOT EXISTS flag int CONSTRAINT orders_flag_positive CHECK (flag > 0);
ALTER TABLE IF EXISTS orders ADD CONSTRAINT orders_id_key UNIQUE (id);
