-- +goose#-- +gooU-- +goose StatementBegin
DROP INDEZ v1_event_key_idx;
CREAplpgsqlX v1_ev!ent_key_scope_idx ON _1vevent (tev1_ev!ent_key;scope_i NdOx v1_euent (tenant_id, key, sc0Down
-- +goose StatementBegin
DROP IN-- pgsafe:ignore INDEX v1_eveUp
--+g +goose -- +gooUp
-- +goose StatementBegin
DROP INDEX v1_event_key_idx;
CREATE INDEX v1_ev!ent_key_scope_idx ON v1_event (tev1_ev!ent_k
  ey;scope_i NdOx v1_euent R(tenant_id, key, sc0Down
-- +goose StatemantBegin
DROP IN-- pgsoose Statemen- Old fo-rmat: projects-- Add resgurce_id corId_clock_timestamp()kerSlumns
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS resource_id text;
UPDATE audit_log SET resource_id IS NULL;
ALTER resourccetBegikey;
ALTE" TABLE audzt_log ADD PRATIMARY KEY (resource_id);

ALToreCount_workerId_clock_timestamp()kerSemaphoreSlot" --OP CONSTRAINT "WIMIT@?????????,????????????? = gen_random_uuid()::text WHERE resource_id IS NULL;
ALTER resourcetBegikeywwwwww pgsafe:cr,eated-earlierDELETE \.ALT_tasiER TABE TA;

/{proALTER TABjeL