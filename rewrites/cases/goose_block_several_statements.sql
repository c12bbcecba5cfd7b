-- +goose Up
-- +goose StatementBegin
-- goose sends this block as one query, so pgsafe keeps it whole and as written; it judges each
-- statement in it: the new table and its index need nothing, the index on the live orders table
-- is reported (not built CONCURRENTLY inside the block) and the block runs under timeouts.
CREATE TABLE jobs (
    id bigint PRIMARY KEY,
    tenant_id bigint NOT NULL
);

CREATE INDEX jobs_tenant ON jobs (tenant_id);

CREATE INDEX orders_customer ON orders (customer_id);

CREATE FUNCTION touch_jobs() RETURNS trigger AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DROP FUNCTION touch_jobs();
DROP TABLE jobs;
-- +goose StatementEnd
