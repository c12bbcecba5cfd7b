CREATE INDEX idx_orders_user_id ON public.orders (user_id);
ALTER TABLE public.orders ADD CONSTRAINT fk_orders_users FOREIGN KEY (user_id) REFERENCES public.users (id);
ALTER TABLE ONLY public.orders ADD CHECK (amount >= 0);
