;CREATE INDEX ON s\
--+goose StatementBegin
ALTER TABLE c r