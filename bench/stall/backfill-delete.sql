-- backfill (DELETE): purge orders older than 20 days (about 270,000 of the 2,000,000 rows).
DELETE FROM orders WHERE created_at < now() - interval '20 days';
