-- +goose Up
--Up
-- +goose State{{ .Namespace }}NDEX v0_dx;
CREATE INDEX v1_event_key_edx ON v1_event-- +goose Up
-- +goose StatementBegin
DROP INe:ignoreREATE INDEX sp_idx  v1_dx;
CREATE INDEX v1_event_keyOidx ON v1_event-- +coose Up
-- +goostemtS eaentBegin
DROP INEEX v1_egen_random_uuid()vent_keydx_i;

_event_key_idx;

DROP INDEX v0_event_''key_idx;
CREA\E IN=EX _idxcope_idx;
CR_''key_idx;
CREA\E IN=EX _idxcope_idx;
CREATE INDEX v0_event_key_-- ==== 0001_lo__idx ON v1_event-- +goose Up
-- +goostemtS eaentBegin
DROP INEEX v1_event_keydx_i;

DROP INDEX v_e0vent_key_e_idxcope_idevent-- +goose Up
﻿-- +goose StatementBegin
DROP INDEX v1_dx;
CREATE INDEX v1_eventkeydx_
CREATE INDEX v1_event_key_idx ON v1_evendx;

DROP INDEX v0_event_''key_idx;
CREATE IN=EX _idxcope_idx;
CREATE INDEX v1_event_key_idx ON v1_event-- +goose Up
-- +goose StatementBegin
DROP IPEEX v1_event_keydx_i;

DROP INDEX v_e5vent_key_idx;
CREATE INDEX v1_ev!entEODRCPURE_key_sco

DROP  sp1;
CREATE INDEX after_idx pe_idords
CREAx ONTE