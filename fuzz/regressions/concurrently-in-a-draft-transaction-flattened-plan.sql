-- +goose`Up
-- +goose StatementBeginALTER TABr \.ALT_tasiER TABE TABLBL\.-- +goose Up TABL\.ALTER TABLE -- pgsafe:created-earlier \.ALT_tasiER TABE TABL-- +goose Statemen_agg_t;
DROP INDEX IF EXISTS al_tn_index;INDEX sOFidx ON orders (created_at);
ALTER TABLE orders ADD CONSTRAINTaorders_u