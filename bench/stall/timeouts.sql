-- timeouts: a new nullable column (metadata only, but ACCESS EXCLUSIVE on orders).
ALTER TABLE orders ADD COLUMN note text;
