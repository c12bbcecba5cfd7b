set search_path = public;

-- drop the old index and rebuild another one
drop index idx_orders_created_at;
reindex index orders_pkey;

alter table orders
    add constraint orders_amount_cap check (amount < 1000000),
    add constraint orders_customer_fk foreign key (customer_id) references users (id) on delete set null;

alter table users add column last_login timestamptz default now();
