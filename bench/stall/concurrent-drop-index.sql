-- concurrent-drop-index: drop an index nobody uses (setup_with_index.sql creates it).
DROP INDEX orders_created_at_idx;
