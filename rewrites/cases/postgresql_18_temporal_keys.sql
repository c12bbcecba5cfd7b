-- golden: pg-version=18
-- PostgreSQL 18's temporal keys, which sqlparser does not read: each is understood with the locks
-- measured on 18.4 (tests/postgresql_18.rs). A new table with them is only a new table (its
-- keys' GiST indexes and NOT NULL columns in the catalogue). On a table with traffic, a WITHOUT
-- OVERLAPS key builds its GiST index under ACCESS EXCLUSIVE, and nothing builds that index apart
-- (no unique GiST index is built concurrently, and USING INDEX takes only a unique index): kept
-- as written, with the reason in its long-step warning. A PERIOD foreign key is kept as written
-- too, even for a plan that runs on 18: on 18.4 its VALIDATE accepts a row whose period the
-- referenced rows cover only in part, which its plain ADD refuses. The key's index is an
-- exclusion constraint's, which REINDEX … CONCURRENTLY refuses: kept as written.
CREATE TABLE bookings (
    id int,
    room_id int,
    valid_at tstzrange,
    CONSTRAINT bookings_pk PRIMARY KEY (id, valid_at WITHOUT OVERLAPS),
    FOREIGN KEY (room_id, PERIOD valid_at) REFERENCES rooms (id, PERIOD valid_at)
);

CREATE INDEX bookings_room_id_idx ON bookings (room_id);

ALTER TABLE prices ADD CONSTRAINT prices_pk PRIMARY KEY (id, valid_at WITHOUT OVERLAPS);

ALTER TABLE prices ADD UNIQUE (sku, valid_at WITHOUT OVERLAPS);

ALTER TABLE order_lines ADD CONSTRAINT order_lines_price_fk FOREIGN KEY (price_id, PERIOD valid_at) REFERENCES prices (id, PERIOD valid_at);

REINDEX INDEX prices_pk;
