-- Índice für die Bestellübersicht — 注文 ✓
CREATE INDEX idx_orders_user_id ON orders (user_id);
-- Prüfung: storniert ≠ bezahlt
ALTER TABLE orders ADD CHECK (status <> 'storniert ✗');
