-- golden: schema=planeq-setup.sql
-- With the primary key known, batches are key ranges fixed before the first batch.
UPDATE orders SET status = lower(status) WHERE status <> lower(status);
DELETE FROM orders o WHERE o.status = 'void';
