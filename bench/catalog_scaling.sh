#!/usr/bin/env bash
# Does the cost of many tables stay linear? A draft of N foreign keys then N `DROP TABLE`s; one of
# N tables each created, referenced, renamed and dropped (5N statements); and one that creates,
# indexes, alters and drops the same table N times (4N). Each drop or rename used to scan every
# table's foreign keys (quadratic: 40k + 40k took 88 s), and each statement every earlier creation
# of its table's name. And N primary keys added to tables with traffic: each key's NOT NULL
# proof looked through every unit made so far (quadratic: 30k keys took 14.6 s, now 0.37 s). And N
# unique constraints on one table: each looked for its index name through all the table's indexes
# (quadratic: 20k took 1.82 s, now 0.15 s). And the same table in N schemas (a schema per tenant):
# each lookup by name scanned every table of that name (quadratic: 20k took 4.31 s, now 0.09 s).
# And N unnamed unique constraints on one column of one table: each name was found by trying
# `t_c_key`, `t_c_key1`, … from the start (quadratic: 20k took 16.6 s, now 0.16 s). And N
# statements each under a `-- pgsafe:ignore`: each directive looked through every finding
# (quadratic: 20k took 16.9 s, now 0.26 s). And N `ADD COLUMN … NOT NULL` without a default on one
# table: each looked through every later statement for an UPDATE that fills it (quadratic: 20k took
# 0.96 s, now 0.14 s).
# Twenty-second pass, the shapes a helper's hunt found still superlinear (times at 20k, before ->
# after): one line of N `WHEN`s and an `IN` list of N values (each location walked its line:
# 10k+10k values 56.8 s -> 0.42 s); one `ALTER TABLE` of N `ADD UNIQUE` actions (each change
# carried every edit of the statement: 10k took 50 s and 10 GB, now 0.33 s at 20k); N partitions
# of one parent then N `ADD COLUMN`s on it (each op copied every partition: 5.15 s, 397 MB ->
# 0.14 s); N indexes on one table then N `DROP INDEX` (1.2 -> 0.10 s); N UPDATE triggers and
# volatile defaults on one table (2.24 s, 1.4 GB -> 0.28 s); N savepoints in one transaction
# (0.65 -> 0.06 s); N `USING INDEX` keys on one table (0.39 -> 0.13 s); N type changes, each a
# long step (0.50 -> 0.10 s).
# Thirty-second pass: the partitions shape had grown quadratic again (each new bound walked every
# partition for the parent's default one: 2.26 s at 40k -> 0.22 s).
#
#   bash bench/catalog_scaling.sh        # N = 10k, 20k, 40k; wall time, per statement, peak RSS
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release
pgsafe="$PWD/target/release/pgsafe"
inputs="$PWD/target/bench-inputs"
mkdir -p "$inputs"
printf '%-20s %10s %8s %14s %9s\n' draft statements wall "per statement" "peak RSS"
for n in 10000 20000 40000; do
    python3 - "$n" "$inputs" <<'PY'
import sys
n, out = int(sys.argv[1]), sys.argv[2]
with open(f"{out}/fk_drops_{n}.sql", "w") as f:
    f.writelines(f"ALTER TABLE t{i} ADD COLUMN c int REFERENCES u{i} (id);\n" for i in range(n))
    f.writelines(f"DROP TABLE x{i};\n" for i in range(n))
with open(f"{out}/fk_renames_{n}.sql", "w") as f:
    for i in range(n):
        f.write(f"CREATE TABLE a{i} (id int PRIMARY KEY);\nCREATE TABLE b{i} (a int REFERENCES a{i} (id));\n")
    for i in range(n):
        f.write(f"ALTER TABLE a{i} RENAME TO c{i};\nALTER TABLE o{i} ADD FOREIGN KEY (x) REFERENCES t{i} (id);\n"
                f"DROP TABLE c{i} CASCADE;\n")
with open(f"{out}/primary_keys_{n}.sql", "w") as f:
    f.writelines(f"ALTER TABLE t{i} ADD PRIMARY KEY (id);\n" for i in range(n))
with open(f"{out}/unique_one_table_{n}.sql", "w") as f:
    f.writelines(f"ALTER TABLE t ADD CONSTRAINT u{i} UNIQUE (c{i});\n" for i in range(n))
with open(f"{out}/tenant_schemas_{n}.sql", "w") as f:
    f.writelines(f"ALTER TABLE tenant{i}.users ADD COLUMN x int;\n" for i in range(n))
with open(f"{out}/unnamed_keys_{n}.sql", "w") as f:
    f.writelines("ALTER TABLE t ADD UNIQUE (c);\n" for i in range(n))
with open(f"{out}/ignored_{n}.sql", "w") as f:
    f.writelines(f"-- pgsafe:ignore concurrent-index\nCREATE INDEX i{i} ON t{i} (c);\n" for i in range(n))
with open(f"{out}/not_null_no_default_{n}.sql", "w") as f:
    f.writelines(f"ALTER TABLE t ADD COLUMN c{i} int NOT NULL;\n" for i in range(n))
with open(f"{out}/one_line_{n}.sql", "w") as f:
    half = range(n // 2)
    f.write("UPDATE t SET s = CASE id " + " ".join(f"WHEN {i} THEN 's{i}'" for i in half) + " END WHERE id IN ("
            + ",".join(str(i) for i in half) + ");\n")
with open(f"{out}/one_alter_{n}.sql", "w") as f:
    f.write("ALTER TABLE t " + ",\n  ".join(f"ADD UNIQUE (c{i})" for i in range(n)) + ";\n")
with open(f"{out}/partitions_{n}.sql", "w") as f:
    f.write("CREATE TABLE parent (id int, d int) PARTITION BY RANGE (d);\n")
    f.writelines(f"CREATE TABLE p{i} PARTITION OF parent FOR VALUES FROM ({i}) TO ({i + 1});\n" for i in range(n // 2))
    f.writelines(f"ALTER TABLE parent ADD COLUMN c{i} int;\n" for i in range(n // 2))
with open(f"{out}/drop_indexes_{n}.sql", "w") as f:
    f.write("CREATE TABLE t (id int, c int);\n")
    f.writelines(f"CREATE INDEX i{i} ON t (c);\n" for i in range(n // 2))
    f.writelines(f"DROP INDEX i{i};\n" for i in range(n // 2))
with open(f"{out}/triggers_{n}.sql", "w") as f:
    f.writelines(f"CREATE TRIGGER tr{i} BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f();\n"
                 f"ALTER TABLE t ADD COLUMN c{i} timestamptz DEFAULT clock_timestamp();\n" for i in range(n // 2))
with open(f"{out}/savepoints_{n}.sql", "w") as f:
    f.write("BEGIN;\n" + "".join(f"SAVEPOINT s{i};\nUPDATE t{i} SET c = 1;\n" for i in range(n // 2)) + "COMMIT;\n")
with open(f"{out}/using_index_{n}.sql", "w") as f:
    f.writelines(f"CREATE UNIQUE INDEX CONCURRENTLY k{i} ON t (id);\n"
                 f"ALTER TABLE t ADD CONSTRAINT pk{i} PRIMARY KEY USING INDEX k{i};\n" for i in range(n // 2))
with open(f"{out}/type_changes_{n}.sql", "w") as f:
    f.writelines(f"ALTER TABLE t{i} ALTER COLUMN c TYPE bigint;\n" for i in range(n))
with open(f"{out}/recreate_{n}.sql", "w") as f:
    f.writelines("CREATE TABLE tmp (a int);\nCREATE INDEX tmp_a ON tmp (a);\n"
                 "ALTER TABLE tmp ADD COLUMN b int NOT NULL;\nDROP TABLE tmp;\n" for _ in range(n))
PY
    for kind in fk_drops fk_renames recreate primary_keys unique_one_table tenant_schemas unnamed_keys ignored \
        not_null_no_default one_line one_alter partitions drop_indexes triggers savepoints using_index type_changes; do
        f="$inputs/${kind}_$n.sql"
        # Statements, or for one statement its parts (values, actions).
        stmts=$(grep -c ';' "$f")
        [ "$stmts" -gt 1 ] || stmts=$n
        /usr/bin/time -f '%e %M' -o "$inputs/time.out" "$pgsafe" check "$f" >/dev/null || true
        # (`check` exits 1 on a draft it would rewrite; time then adds a line before its own.)
        read -r wall rss < <(tail -n 1 "$inputs/time.out")
        printf '%-20s %10s %7ss %12sµs %6s MB\n' "${kind}_$n" "$stmts" "$wall" \
            "$(python3 -c "print(round($wall / $stmts * 1e6, 1))")" "$((rss / 1024))"
    done
done
