-- golden: schema=planeq-setup.sql
ALTER TABLE orders ADD COLUMN public_id uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE orders ADD COLUMN touched_at timestamptz DEFAULT now();
