ALTER TABLE {{ .Table }} ADD CHECK (amount >= 0);
ALTER TABLE ${schema}.orders ADD FOREIGN KEY (user_id) REFERENCES ${schema}.users (id);
