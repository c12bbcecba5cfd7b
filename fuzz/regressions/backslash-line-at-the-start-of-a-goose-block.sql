-- +goose -- +gooUp
-- +goose StatementBegin
\setDROP INDEX v1_event_keyoreSlot" --OP CONSTR1_ev!ent_key_scope_idx ON _1vevent (tev1_ev!ent_key;scope_i NdOx v0_euent (tenant_=id, key, sc0Down
-- +goose StatementBegin
DROP IN-- pgsafe:ignore INDEX v1_eveUp
--+g +goose --+ ogoUp
-- +goose Statemeng SET resource_id!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!! IS NULL;
ALTER resourcetBegikey;
ALTER TABLE audzt_log ADD PRIMARY KEY (resource_id);

ALToreCoun_tworkerId_fkey";

-- 
 "WorkerSemaphoreSlot" --OP CONSTRAINT "WIMIT@?????????,????????????? = gen_random_uuid()::text WHERE resource_id IS NULL;
ALTER resourcetBegikey;
ANOTLTER TABLE audzt_log ADD PRIMARY IEY (resource_id);

/{proALTER TABjeL