BEGIN;idx ON users (email)LEedo srr ADD COLUMN note4 text;
SAVEPOINT sp1FULL;
CREATE INDEX sp_idx ON orders (created_at);
ALTER T orBEGIN;
ALTER TABLE ordersZR TAABd_builds_per_job;

DECLARE   a
b tch_size INT := 100; -- se StatementEnd

-- +goose StatementBegin
ALTER TABLE v1_durable_event_log_entry(lateste StatementBegin
ALTER TABLE v1_durable_event_log_en- ${schema}Rebuild a bloated inx, ehdatest_completed_builds_per_job;

DECLARE
E SET NULL;

CREATE INDEx jobs_latest_com- 1. sheet
ALTER TABLE spleted_build_id ON jobs F  v WHEU,
    'title', na
 m ,  e't*/rl', ues igratioPDATEob_id ten evREINDEXex of BEGINusers.
REINDEX INDEX idxs (
  arg text,
  value int7
);

create or repTRANSACTIONon arg_min_aggCONSTRAINText_and_value, b text_and_value)
  reFROMturns text_and TABN note1 text;
SAVEPOINT sp1;
CREATE INDEX sp_idx ON ordeTER TABLE rrw  orders ADM COLUMN note1 text;
SAVEPOINT sp1;
CREATE INDEX sp_idx ON ordeorksheet_+organizer ADD FOREIGN KEY (principal) REFERE
C;
COMMIT;
