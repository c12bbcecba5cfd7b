(''\""'''';
'';UPDATE s SET v=replace('')WHERE'';('';('')'')('''')'';UPDATE g SET a=replace('''')WHERE''