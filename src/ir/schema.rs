//! Loading `--schema`: a `pg_dump --schema-only`, or earlier migrations, read by pgsafe's own front
//! end (split → lower) and applied op by op to a [`Catalog`].

use super::catalog::Catalog;
use super::migration::{Migration, Section};
use crate::front::split::{split, SplitError};
use crate::source::Source;
use crate::InputError;
use std::path::{Path, PathBuf};

impl Catalog {
    /// The catalogue described by `text` (a schema dump or migrations). Input the splitter refuses
    /// gives an empty catalogue; use [`Catalog::parse`] to report it.
    pub fn from_sql(text: &str) -> Catalog {
        Catalog::parse(text).unwrap_or_default()
    }

    pub fn parse(text: &str) -> Result<Catalog, SplitError> {
        let mut c = Catalog::default();
        c.add_sql(text)?;
        Ok(c)
    }

    /// Read `--schema PATH`: a schema dump or migration file, or a directory whose `*.sql` files
    /// (searched recursively; down, revert and verify scripts skipped) apply in the runners'
    /// order: numbers in names compared as numbers (`V2__` before `V10__`, `9_x` before `10_y`),
    /// and a sqitch project's deploy scripts in its plan's order. Sorted as text, `V10__add_c`
    /// ran before `V1__create_t`, and the catalogue lost the column. An unreadable file or one the
    /// splitter refuses is an input error.
    pub fn load(path: &Path) -> Result<Catalog, InputError> {
        let mut files = Vec::new();
        if path.is_dir() {
            sql_files(path, &mut files)?;
            let plan = std::fs::read_to_string(path.join("sqitch.plan")).unwrap_or_default();
            let planned: Vec<&str> = plan
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with(['%', '@', '#', ' ']))
                .filter_map(|l| l.split_whitespace().next())
                .collect();
            let in_plan = |f: &PathBuf| {
                let change = f.strip_prefix(path.join("deploy")).ok()?.with_extension("");
                planned.iter().rposition(|c| Path::new(c) == change)
            };
            files.sort_by_cached_key(|f| (in_plan(f), version_order(f)));
        } else {
            files.push(path.to_path_buf());
        }
        let mut c = Catalog::default();
        for f in &files {
            let name = f.display().to_string();
            let bytes = std::fs::read(f)
                .map_err(|e| InputError::in_file(name.as_str(), format!("cannot read the schema: {e}")))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| InputError::in_file(name.as_str(), "the schema is not UTF-8 text"))?;
            c.add_sql(&text).map_err(|e| {
                let source = Source::new(name.as_str(), text.as_str());
                InputError::located(&source, e.offset, format!("in the schema: {}", e.message))
            })?;
        }
        Ok(c)
    }

    /// Apply every statement of `text` (the up sections of a migration file) in order.
    pub fn add_sql(&mut self, text: &str) -> Result<(), SplitError> {
        let pieces = split(text)?;
        let m = Migration::lower_knowing(text, &pieces, std::mem::take(&mut self.functions));
        for (i, s) in m.stmts.iter().enumerate().filter(|(_, s)| s.section == Section::Up) {
            self.defers_checks |= s.defers_checks;
            m.declared_by(i).for_each(|n| self.declare(n));
            if let Some(d) = m.domain_constrained_by(i) {
                d.record(&mut self.constrained_domains);
            }
            if let Some(t) = m.row_type_made_by(i) {
                t.record(&mut self.row_types);
            }
            self.operators.extend(m.operators_made_by(i).map(str::to_string));
            for op in &s.ops {
                self.apply(op);
            }
        }
        self.functions = m.functions;
        Ok(())
    }
}

/// `path` as a key that compares the runs of digits in it as numbers.
fn version_order(path: &Path) -> Vec<(u8, u128, String)> {
    let text = path.to_string_lossy();
    let mut key = Vec::new();
    let mut rest = text.as_ref();
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            let (run, after) = rest.split_at(digits);
            key.push((0, run.parse().unwrap_or(u128::MAX), run.to_string()));
            rest = after;
        } else {
            let len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
            key.push((1, 0, rest[..len].to_string()));
            rest = &rest[len..];
        }
    }
    key
}

/// The forward migrations under `dir` (down, revert and verify scripts left out).
fn sql_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), InputError> {
    let err =
        |e: std::io::Error| InputError::in_file(dir.display().to_string(), format!("cannot read the schema: {e}"));
    for entry in std::fs::read_dir(dir).map_err(err)? {
        let p = entry.map_err(err)?.path();
        if p.is_dir() {
            sql_files(&p, out)?;
        } else if crate::runner::is_forward_migration(&p) {
            out.push(p);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::catalog::SqlType;
    use crate::ir::name::Name;

    const DUMP: &str = r#"
SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);
CREATE TABLE public.users (
    id bigint NOT NULL,
    email character varying(255),
    "displayName" text
);
CREATE TABLE public.orders (
    id bigint NOT NULL,
    user_id bigint,
    status character varying(50) NOT NULL,
    amount numeric(10,2),
    created_at timestamp without time zone
);
CREATE TABLE public.events (
    id bigint NOT NULL,
    created_at timestamp with time zone NOT NULL
)
PARTITION BY RANGE (created_at);
CREATE TABLE public.events_2024 (
    id bigint NOT NULL,
    created_at timestamp with time zone NOT NULL
);
CREATE TABLE public.events_other (
    id bigint NOT NULL,
    created_at timestamp with time zone NOT NULL
);
ALTER TABLE ONLY public.events ATTACH PARTITION public.events_2024 FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2025-01-01 00:00:00+00');
ALTER TABLE ONLY public.events ATTACH PARTITION public.events_other DEFAULT;
ALTER TABLE ONLY public.users ADD CONSTRAINT users_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id);
CREATE INDEX idx_orders_status ON public.orders USING btree (status);
CREATE INDEX idx_orders_lower ON public.orders USING btree (lower((status)::text), amount);
CREATE INDEX idx_orders_recent ON public.orders USING btree (created_at) WHERE (status = 'new');
CREATE INDEX events_created_idx ON ONLY public.events USING btree (created_at);
ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);
"#;

    #[test]
    fn reads_a_schema_dump() {
        let c = Catalog::from_sql(DUMP);
        let orders = Name::new("orders");
        let col = c.column(&orders, "status").unwrap();
        assert_eq!(col.type_text, "character varying(50)");
        assert!(!col.nullable);
        assert_eq!(c.is_nullable(&orders, "amount"), Some(true));
        assert_eq!(c.is_nullable(&Name::new("public.users"), "id"), Some(false));
        assert!(c.column(&Name::new("users"), "\"displayName\"").is_some());
        assert!(c.column(&Name::new("users"), "displayname").is_none());
        assert!(c.has_index_on(&orders, &["status".into()]));
        assert!(c.has_index_on(&orders, &["id".into()]));
        assert!(!c.has_index_on(&orders, &["user_id".into()]));
        assert!(!c.has_index_on(&orders, &["amount".into()]), "second column of an expression index");
        assert!(!c.has_index_on(&orders, &["created_at".into()]), "partial index");
        assert!(c.is_partitioned(&Name::new("events")));
        assert!(!c.is_partitioned(&orders));
        let parts: Vec<&str> = c.partitions(&Name::new("events")).iter().map(|t| &*t.name.text).collect();
        assert_eq!(parts, ["public.events_2024", "public.events_other"]);
        assert_eq!(&*c.default_partition(&Name::new("events")).unwrap().name.text, "public.events_other");
        assert_eq!(c.foreign_keys_to(&[&Name::new("users")]).len(), 1);
    }

    #[test]
    fn keys_with_index_parameters_are_recorded() {
        // As pg_dump writes them, and inside CREATE TABLE: sqlparser reads neither with the parameters.
        let c = Catalog::from_sql(
            "CREATE TABLE public.t (id int, a text, b text, c text PRIMARY KEY WITH (fillfactor = 70), \
             UNIQUE (b) USING INDEX TABLESPACE fast);\n\
             ALTER TABLE ONLY public.t ADD CONSTRAINT t_a_key UNIQUE (a) WITH (fillfactor='70');\n",
        );
        let t = Name::new("t");
        for column in ["a", "b", "c"] {
            assert!(c.has_index_on(&t, &[column.into()]), "{column}");
        }
        assert!(c.table(&t).unwrap().indexes.has_key("t_a_key"));
        assert_eq!(c.is_nullable(&t, "c"), Some(false));
    }

    #[test]
    fn unqualified_names_resolve_through_the_search_path() {
        let mut c = Catalog::from_sql(
            "CREATE TABLE public.orders (id int);\nCREATE TABLE billing.orders (id int, d date) PARTITION BY RANGE (d);\n",
        );
        let orders = Name::new("orders");
        let schema_of = |c: &Catalog| c.table(&orders).map(|t| t.name.text.to_string());
        // Unknown path: two tables of that name, neither is the one.
        assert_eq!(schema_of(&c), None);
        c.resolve_through(&["billing".into(), "public".into()]);
        assert_eq!(schema_of(&c).as_deref(), Some("billing.orders"));
        assert!(c.is_partitioned(&orders));
        c.resolve_through(&["app".into(), "public".into()]);
        assert_eq!(schema_of(&c).as_deref(), Some("public.orders"));
        // A qualified name is what it says, whatever the path.
        assert!(c.is_partitioned(&Name::new("billing.orders")));
    }

    #[test]
    fn triggers_are_created_replaced_and_dropped() {
        let mut c = Catalog::from_sql("CREATE TABLE t (id int);\n");
        let t = Name::new("t");
        let updates = |c: &Catalog| c.table(&t).unwrap().update_triggers().map(String::from).collect::<Vec<_>>();
        c.add_sql(
            "CREATE TRIGGER a BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f();\n\
             CREATE TRIGGER b BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();\n\
             CREATE TRIGGER c AFTER UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f();\n",
        )
        .unwrap();
        assert_eq!(updates(&c), ["a", "c"]);
        c.add_sql(
            "DROP TRIGGER a ON t;\nCREATE OR REPLACE TRIGGER c BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();\n",
        )
        .unwrap();
        assert!(updates(&c).is_empty());
        c.add_sql("CREATE TRIGGER a BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f();\n").unwrap();
        assert_eq!(updates(&c), ["a"]);
    }

    #[test]
    fn later_migrations_apply_in_order() {
        let mut c = Catalog::from_sql(DUMP);
        c.add_sql(
            "ALTER TABLE orders ADD COLUMN note text NOT NULL DEFAULT '', ALTER COLUMN status TYPE text, \
             ALTER COLUMN amount SET NOT NULL;\n\
             ALTER TABLE orders RENAME COLUMN user_id TO buyer_id;\n\
             CREATE INDEX CONCURRENTLY idx_buyer ON orders (buyer_id DESC);\n\
             ALTER TABLE orders DROP COLUMN created_at;\n\
             DROP TABLE users;\n\
             ALTER TABLE orders RENAME TO purchases;\n\
             CREATE TABLE p (id int PRIMARY KEY, k int) PARTITION BY LIST (k);",
        )
        .unwrap();
        let p = Name::new("purchases");
        assert_eq!(c.column(&p, "note").unwrap().type_text, "text");
        assert_eq!(c.is_nullable(&p, "note"), Some(false));
        assert_eq!(c.column(&p, "status").unwrap().type_text, "text");
        assert_eq!(c.is_nullable(&p, "amount"), Some(false));
        assert!(c.has_index_on(&p, &["buyer_id".into()]));
        assert!(c.column(&p, "created_at").is_none());
        assert!(c.table(&Name::new("users")).is_none());
        assert!(c.foreign_keys_to(&[&Name::new("users")]).is_empty());
        assert!(c.table(&Name::new("orders")).is_none());
        assert!(c.is_partitioned(&Name::new("p")));
        assert!(c.has_index_on(&Name::new("p"), &["id".into()]));
    }

    #[test]
    fn renames_and_drops_follow_the_columns_of_indexes_and_foreign_keys() {
        // Columns no index or key names are renamed and dropped without looking at the lists;
        // the ones they name are followed through a rename, twice, and a drop takes them away.
        let mut c = Catalog::from_sql(
            "CREATE TABLE u (id int PRIMARY KEY);\nCREATE TABLE t (a int, b int, x int, y int);\n\
             CREATE INDEX t_a ON t (a);\nALTER TABLE t ADD CONSTRAINT t_b FOREIGN KEY (b) REFERENCES u (id);",
        );
        let t = Name::new("t");
        c.add_sql("ALTER TABLE t RENAME COLUMN x TO x2;\nALTER TABLE t DROP COLUMN y;").unwrap();
        assert!(c.has_index_on(&t, &["a".into()]));
        c.add_sql("ALTER TABLE t RENAME COLUMN a TO a2;\nALTER TABLE t RENAME COLUMN a2 TO a3;\nALTER TABLE t RENAME COLUMN b TO b2;").unwrap();
        assert!(c.has_index_on(&t, &["a3".into()]) && !c.has_index_on(&t, &["a".into()]));
        assert_eq!(c.table(&t).unwrap().foreign_keys[0].columns, ["b2"]);
        c.add_sql("ALTER TABLE t DROP COLUMN a3;\nALTER TABLE t DROP COLUMN b2;").unwrap();
        let table = c.table(&t).unwrap();
        assert!(table.indexes.is_empty() && table.foreign_keys.is_empty());
    }

    #[test]
    fn down_sections_and_unparsable_tables() {
        let c = Catalog::from_sql("-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\nDROP TABLE a;\n");
        assert!(c.table(&Name::new("a")).is_some());
        let c =
            Catalog::from_sql("CREATE UNLOGGED TABLE IF NOT EXISTS s.b (x weird type here ,,) PARTITION BY HASH (x);");
        let b = c.table(&Name::new("b")).expect("recorded without its columns");
        assert!(!b.columns_known && b.is_partitioned());
    }

    #[test]
    fn types_normalise() {
        let t = SqlType::parse("character varying(50)");
        assert_eq!((t.base.as_str(), t.mods.as_slice()), ("varchar", &[50][..]));
        assert_eq!(SqlType::parse("VARCHAR(50)"), t);
        assert_eq!(SqlType::parse("numeric(10)").mods, vec![10, 0]);
        assert_eq!(SqlType::parse("timestamp(3) without time zone").base, "timestamp");
        assert_eq!(SqlType::parse("TIMESTAMP WITH TIME ZONE").base, "timestamptz");
        assert_eq!(SqlType::parse("text[]").array, 1);
        assert_eq!(SqlType::parse("public.citext").base, "citext");
        assert_eq!(SqlType::parse("int").base, SqlType::parse("integer").base);
    }

    #[test]
    fn a_migrations_folder_applies_in_the_runners_order() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        // Flyway: V10 after V9, not after V1 (as text, the column was added before the table).
        write("flyway/V1__create_t.sql", "CREATE TABLE t (id int PRIMARY KEY);\n");
        for k in 2..10 {
            write(&format!("flyway/V{k}__index.sql"), &format!("CREATE INDEX i{k} ON t (id);\n"));
        }
        write("flyway/V10__add_c.sql", "ALTER TABLE t ADD COLUMN c int;\n");
        write("flyway/U10__undo.sql", "ALTER TABLE t DROP COLUMN c;\n");
        let c = Catalog::load(&dir.path().join("flyway")).unwrap();
        assert!(c.table(&Name::new("t")).unwrap().column("c").is_some());
        // sqitch: deploy scripts in the plan's order; revert scripts are no migrations.
        write("db/sqitch.plan", "%project=p\n\nb_add_c 2024-01-01T00:00:00Z T <t@t>\n");
        write("db/base.sql", "CREATE TABLE s (id int PRIMARY KEY);\n");
        write("db/deploy/b_add_c.sql", "ALTER TABLE s ADD COLUMN c int;\n");
        write("db/revert/b_add_c.sql", "ALTER TABLE s DROP COLUMN c;\n");
        let c = Catalog::load(&dir.path().join("db")).unwrap();
        assert!(c.table(&Name::new("s")).unwrap().column("c").is_some());
    }
}
