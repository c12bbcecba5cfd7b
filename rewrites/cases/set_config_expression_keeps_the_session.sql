-- set_config with a value pgsafe cannot read (an expression): later steps, each a new session,
-- could not repeat it, and names there would resolve through another search_path. The rest of
-- the draft stays in one step, as written, with timeouts.
SELECT set_config('search_path', 'public, ' || current_setting('search_path'), false);
CREATE INDEX idx_orders_user_status ON orders (user_id, status);
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
