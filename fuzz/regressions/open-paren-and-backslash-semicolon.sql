(\;
;(;);CREATE INDEX ON c