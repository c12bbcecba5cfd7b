-- Each locks tables it does not name, which only the database knows: a domain's new constraint
-- scans every column of the domain under SHARE; a DROP … CASCADE may drop columns, defaults or
-- triggers under ACCESS EXCLUSIVE (here the trigger on orders). They run under the lock timeout;
-- a NOT VALID domain constraint scans nothing and locks no table.
CREATE DOMAIN posint AS integer;
ALTER TABLE orders ADD COLUMN qty posint;
CREATE FUNCTION touch_orders() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch_orders();
ALTER DOMAIN posint ADD CONSTRAINT posint_positive CHECK (VALUE > 0);
ALTER DOMAIN posint ADD CONSTRAINT posint_small CHECK (VALUE < 1000000) NOT VALID;
DROP FUNCTION touch_orders() CASCADE;
