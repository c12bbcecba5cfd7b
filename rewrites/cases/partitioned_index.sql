-- golden: schema=planeq-setup.sql
-- events is partitioned (planeq-setup.sql): no CONCURRENTLY for it, a per-partition recipe instead.
CREATE INDEX idx_events_payload ON events (payload);
