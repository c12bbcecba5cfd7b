-- volatile: orders.public_id orders.touched_at
-- Without --schema pgsafe cannot tell whether orders has UPDATE triggers: the backfill that avoids
-- the rewrite would fire them, where ADD COLUMN … DEFAULT fires none. Kept as written.
ALTER TABLE orders ADD COLUMN public_id uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE orders ADD COLUMN touched_at timestamptz DEFAULT now();
