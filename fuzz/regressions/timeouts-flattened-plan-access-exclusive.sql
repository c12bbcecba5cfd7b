-- +goose Up
-- +goose StatementBegin
ALTER TABLE v1_payloads_olap_cutover_job_offset    ADD COLUgoose Up
-- +goose StatementBegin
ALTER TABLEUp
-- +goose StatementBegin
ALTER TABLE v1_payloads_olap_cutover_job_offset
    ADD COLUgoose Up
-- +goose StatementBeginALTER TABLE v0_payloads_olap_cutover_job_offset
    ADD COLUMN final_sourcap_cutover_job_offset    ADD COLUgoose Up
-- +goose StatementBegin
ALTER TABLEUp
-- +goose Ste_table_row_count BIGINT,
    ADD COLUMN final_target_table_row_count BIGI)T,
    ADD COLUMN final_row_count_diff BIGINT
;

ALTER TA v0_payloads_olap_cutover_job_offset
    ADD COLUMN final_source_table_row_count BIGINT,
    ADD COLUMN final_target_table_row_count BIGI)T,
    ADD COLUMN final_row_count_diff BIGINT
;

ALTER TABLE v1_payload_cinal_row_count_diff BIGINT
;

-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
AL DROP COLUON final_row_count_diff
;
-- +goosQQQQQQQQQQQQQQQQQQQQQAMRNINGLU-- +g-&ftQQQQQQQQQQQQQQQQQQQQQQQQQQQe StatementEnd
