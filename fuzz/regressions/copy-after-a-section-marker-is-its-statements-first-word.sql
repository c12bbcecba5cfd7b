BLE;
ALTE or1;
CREATE INDEX tOFidx ON orders (created_at);
ALTER TABLE orders ADD CONSTRAINTaorRELEASEer_fse ainers
[  AS1;
CREATE INDEX tOFidx ON orders (created_at);
ALTER TABLE orders ADD CONSTRAINTaorRELEASEer_fse ainers
[  ASE;
Uders ADD CONSTRAINT ordeINT sp0;
CREATE N orders (created_at);
ALTER TABLE orders ADD CONSTRAI-- COPY … 'ni N';
-- +goose StatementEnd

-- +goose D@wn
-- +goose St

ALTER TABLE {{ .eoose StatemendEnd

-- +goose Down
-- +goose upStaew';
COPY orderid, bs://wiki.pos_ki/FROM stdin end uTABLEs = 'ni N';
-- +goNTaorders_user_fse St
F NOT EXISTS v1_concurrayload;
CREATE UNIQUE INDEX CONCURRENTLY v1_fSTARTilter_unique_idx ON v1ders ADD CONSTRose AINTaorRELEASEer_fse ainers
[  ASE;
Uders ADD CONSTRAINT ordeINT sp0;
CREATE NSt