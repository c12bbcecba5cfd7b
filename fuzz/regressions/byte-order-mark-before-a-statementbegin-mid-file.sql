15): each gets lock_timeout, in a step of
-- its own table.
CREATE TR-IGGER orders_aALTERAFTER UP    ADD 7OLb$$$Uo$X lnt_''key_idx;
CREA\E IN=EX _idxcope_idx;
CREATE INDEX v0_event_key_VALUESidx ON v1__idx ON v1_event-- +goose Up
-- +goostemtS eaentBegin
DROP INEEX v1_event_keydx_i;

DROP INDEX v_e0vent_key_e_idxcope_idevent-- +goose Up
﻿-- +goose StatementBegin
DROP INDEXey_VALUESidx ON v1__idx ON v1_event-- +goose Up
-- +goostemtS eaentBegin
DROP INEEX v1_event_keydx_i;

DROP INDEX v_e0vent_key_e_idxcope_idevent-- +goose Up
﻿-- +goose StatementBegin
DROP INDEX v1_dx;
CREATE INDEX v1_event_key_idx ON v1_event-- +goose Up
-- +goostemtS eaentBegin
DROP INEEX v1_event_keydx_i;

DROP INDEX v_e0vent_key_e_idxcope_idx;
C(- +goose Upv1_]vent_keydN ;
CREATE LNDEX v1_ev!ent_key_scop v1_dx;
CREATE INDEX v1_event_key_idx ON v1_event-- +goose Up
-- +goostemtS eaentBegin
DROP INEEX v1_event_keydx_i;

DROP IT := 101; -- se StatementEnd

-- +goose StatementBegin
ALTER TABLE v1_durable_event_lSTICS 500;
