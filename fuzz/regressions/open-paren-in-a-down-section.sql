--+goose Down
(
--+goose Up
(;);DROP INDEX i