-- golden: pg-version=18
-- PostgreSQL 18's named NOT NULL constraint and virtual generated columns, which sqlparser does
-- not read: each is understood with the lock measured on 18.4 (tests/postgresql_18.rs). The
-- constraint checks every row under ACCESS EXCLUSIVE unless NOT VALID, so for a plan that runs on
-- 18 it is added NOT VALID and validated later (check-not-valid); a virtual column is computed
-- when read, so adding one rewrites nothing, unless a constraint on it must check the rows.
ALTER TABLE orders ADD CONSTRAINT orders_status_not_null NOT NULL status;

ALTER TABLE users ADD CONSTRAINT users_email_not_null NOT NULL email NOT VALID;

ALTER TABLE orders ADD COLUMN amount_cents numeric GENERATED ALWAYS AS (amount * 100) VIRTUAL;

ALTER TABLE users ADD COLUMN domain text GENERATED ALWAYS AS (split_part(email, '@', 2)) VIRTUAL NOT NULL;
