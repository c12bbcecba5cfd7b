-- A PERIOD foreign key (PostgreSQL 18's temporal one) for a plan that may run before 18 (the
-- default pg-version): NOT VALID and VALIDATE were proved for it on 18.4 only, so it stays as
-- written, under the timeouts, and fk-not-valid says why.
ALTER TABLE order_lines ADD CONSTRAINT order_lines_price_fk FOREIGN KEY (price_id, PERIOD valid_at) REFERENCES prices (id, PERIOD valid_at);
