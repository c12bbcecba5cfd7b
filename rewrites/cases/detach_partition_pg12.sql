-- DETACH PARTITION … CONCURRENTLY needs PostgreSQL 14; the default target is 12.
ALTER TABLE events DETACH PARTITION events_2024;
