-- golden: schema=planeq-setup.sql
-- With --schema showing orders without flag, ADD COLUMN IF NOT EXISTS adds the column and its
-- check as any ADD COLUMN does: the check is moved out and validated later. With it showing
-- orders, ALTER TABLE IF EXISTS changes it as ALTER TABLE does.
ALTER TABLE orders ADD COLUMN IF NOT EXISTS flag int CONSTRAINT orders_flag_positive CHECK (flag > 0);
ALTER TABLE IF EXISTS orders ADD CONSTRAINT orders_id_key UNIQUE (id);
