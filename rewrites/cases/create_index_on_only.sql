-- events is partitioned: CONCURRENTLY is not allowed on the parent.
CREATE INDEX idx_events_created_at ON ONLY events (created_at);
