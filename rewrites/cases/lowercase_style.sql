create index idx_orders_user_id on orders (user_id);
alter table orders add constraint fk_orders_users foreign key (user_id) references users (id);
alter table orders add constraint orders_amount_nonneg check (amount >= 0);
drop index idx_orders_status;
