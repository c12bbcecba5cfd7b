-- A lock_timeout set inside a psql \if block bounds nothing when the condition does not hold: the
-- ALTER TABLE after the block still runs under pgsafe's lock_timeout (before, the plan left it with
-- none), and the block and what follows stay in one session, so no later step repeats the setting
-- whatever the condition.
\if false
SET lock_timeout = '1h';
\endif
ALTER TABLE orders ADD COLUMN note text;
