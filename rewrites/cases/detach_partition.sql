-- golden: pg-version=14
ALTER TABLE events DETACH PARTITION events_2024;
