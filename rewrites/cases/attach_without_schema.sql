-- Without --schema pgsafe cannot rule out a default partition only the database knows, which an
-- ATTACH of a new bound locks (ACCESS EXCLUSIVE) and scans: the step waits for that lock under
-- lock_timeout, recorded on a stand-in for it (the parent itself gets only SHARE UPDATE EXCLUSIVE,
-- and the new table has no traffic). Before the thirty-second pass it ran without any timeout. Only
-- the wait is bounded: its scans (of the new table, and of a default partition if there is one) run
-- as long as the draft's, which a short statement_timeout would cancel (since the thirty-third).
CREATE TABLE events_2027 (LIKE events);
ALTER TABLE events ATTACH PARTITION events_2027 FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
