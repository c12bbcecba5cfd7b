-- Índice für die Bestellübersicht — 注文 ✓
CREATE /* ünïcödé */ INDEX idx_orders_user_id ON orders (user_id);
ALTER TABLE orders ADD CHECK (status <> 'storniert ✗');
