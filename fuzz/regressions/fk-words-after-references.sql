alter table s.m
  add constraint f
      foreign key (id) references
      s.p     END AS status;
