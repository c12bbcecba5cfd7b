\set tbl orders
CREATE INDEX idx_orders_user_id ON :tbl (user_id);
ALTER TABLE :"tbl" ADD CHECK (amount >= 0);
