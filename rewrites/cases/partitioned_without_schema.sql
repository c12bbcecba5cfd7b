-- No --schema, but the draft shows events is partitioned: no CONCURRENTLY (PostgreSQL refuses it
-- there), the per-partition recipe instead.
CREATE TABLE events_2027 PARTITION OF events FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
CREATE INDEX idx_events_user ON events (user_id);
ALTER TABLE events ADD CONSTRAINT events_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
