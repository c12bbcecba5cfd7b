-- The index is new, its table is not: DROP INDEX takes ACCESS EXCLUSIVE on order_notes, which has
-- traffic, so the drop is made CONCURRENTLY like any other.
CREATE INDEX order_notes_body_idx ON order_notes (body);
DROP INDEX order_notes_body_idx;
