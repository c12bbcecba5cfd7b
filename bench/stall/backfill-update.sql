-- backfill (UPDATE): archive orders older than 10 days (about 1,140,000 of the 2,000,000 rows).
UPDATE orders SET status = 'archived' WHERE created_at < now() - interval '10 days';
