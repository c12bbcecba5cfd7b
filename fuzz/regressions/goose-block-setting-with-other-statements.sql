--+goose StatementBegin
CREATE INDEX ON c();SET A=''
--+goose StatementBegin
ALTER TABLE N c