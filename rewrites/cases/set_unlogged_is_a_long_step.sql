-- SET UNLOGGED (like SET LOGGED, SET TABLESPACE and SET ACCESS METHOD) copies the table under
-- ACCESS EXCLUSIVE: a long step, which the step's short statement_timeout would cancel.
ALTER TABLE order_notes SET UNLOGGED;
