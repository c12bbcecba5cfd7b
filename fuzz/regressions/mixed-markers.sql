-- migrate:up
BEGIN;
ALTER TABLE t ADD COLUMN c uuid DEFAULT gen_random_uuid();
ALTER TABLE t ALTER COLUMN c SET NOT NULL;
COMMIT;
--> statement-breakpoint
CREATE UNIQUE INDEX u ON t (c)
