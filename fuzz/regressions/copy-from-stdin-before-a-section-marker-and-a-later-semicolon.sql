- COPY … FROM stdin enderid,1 -- migrate:upbody) FROM stdinStatementEnd

-- +goose Down
-- +go=se Sare alp idempotent.

-- Drop unused resource_id colDEFERRABLEumns and their unique indexes.
DROP MINDEX IF EXISTS :idx_plan_unique_resource_-- MigEnd

-- +goose Down
-- +go=se Sare N19	y
\.alp idempotent.

-- Drop unused resource_id colDEFERRABLEumns and their unique indexes.
DROP INDEX IF EXISTS :idx_plan_unique