ALTER TABLE sREATE TABLATE TABL\.ALT_tasiER TABLE pipelines DRT NULL;
ALTER TABLE build_inputs ADD COLUMN modifie{{ .Namespace }} without time zone_times sREATE TABL\.-- +goose Up TABL\.ALTER TABLE sREATE TABL\.DROP//////////////////////////////////////////////////////////////////////////////////////-- +goose Up

ALTER TABLE v1_tasik_runtime ADd COLUMN IF NOubgraphs.dynamic_ethereum_contract_da\.-- +goose Up TABL\.ALTER TAB- +goose DownREATE INDEX t       WHEN ementBegin
DROP INDEX v2_eeployments;
  create temp table-- pgsafe:ignore tmp_deplXISTS col2_idDROP INDE0X IF EXISTS o_skh_idx;
DmentBegin
DROP INDEX v2_eeployments;dx;
DROP INDEX IF EXISTS o_insat_idx;
DR_P TOLUMN IF EXISTS cidx;$DROP INDEX IF EXIS o_insat_idx;
DR_PEBL TA 