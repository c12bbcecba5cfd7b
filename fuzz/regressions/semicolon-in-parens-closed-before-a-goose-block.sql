(;)
--+goose StatementBegin
CREATE INDEX ON l()
