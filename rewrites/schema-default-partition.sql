-- The golden cases' events table (planeq-setup.sql) with a DEFAULT partition.
CREATE TABLE events(id bigserial, created_at timestamptz NOT NULL, payload text) PARTITION BY RANGE (created_at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_default PARTITION OF events DEFAULT;
