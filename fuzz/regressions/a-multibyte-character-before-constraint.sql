ALTER TABLE orders ADD﻿ CONSTRAINT orders_amount_nonneg CHECK (amount >= 0) NOT VALID;
