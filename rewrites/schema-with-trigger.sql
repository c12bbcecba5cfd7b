-- A schema for golden cases: orders has an UPDATE trigger (as an audit or updated_at trigger would).
CREATE TABLE users(id bigserial PRIMARY KEY, email text);
CREATE TABLE orders(id bigserial PRIMARY KEY, user_id bigint, status text, amount numeric);
CREATE FUNCTION orders_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION orders_touch();
