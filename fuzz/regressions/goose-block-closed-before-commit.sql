-- +goose Up
-- +goose StatementBegin
DROP INDEX a;
CREATE INDEX b ON t (k);
-- +goose StatementEnd

CREATE INDEX c ON t (k);
