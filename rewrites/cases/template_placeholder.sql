CREATE INDEX idx_orders_user_id ON {{ .Schema }}.orders (user_id);
ALTER TABLE {{ .Schema }}.orders ADD FOREIGN KEY (user_id) REFERENCES {{ .Schema }}.users (id);
