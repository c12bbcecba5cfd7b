-- A Flyway or Go-template placeholder inside a constraint or column name. A constraint's name is
-- read from the draft's bytes, so the VALIDATE repeats it as written (the tool substitutes both);
-- a column's, which pgsafe reads only through a stand-in, is kept as written, with timeouts.
ALTER TABLE orders ADD CONSTRAINT fk_${x} FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE orders ADD CONSTRAINT ${p}_chk CHECK (amount >= 0);
ALTER TABLE orders ADD CONSTRAINT chk_{{ .P }} CHECK (amount < 1000);
ALTER TABLE orders ALTER COLUMN ${col} SET NOT NULL;
