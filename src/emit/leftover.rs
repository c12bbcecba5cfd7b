//! What a failed run of a concurrent build pgsafe made leaves, and the guard that drops it.
//!
//! Why: the draft's plain `CREATE [UNIQUE] INDEX` fails whole, leaving nothing. `CONCURRENTLY`
//! fails leaving its index INVALID: failed in its last phase, that index is kept up to date by
//! every write and a unique one refuses duplicates (measured on PostgreSQL 15), and running the
//! step again fails on its name (with `IF NOT EXISTS`, keeps it). So the step drops such a
//! leftover before the build, in a `DO` block (one statement, which a runner sending statements
//! one by one runs as it is): `DROP INDEX CONCURRENTLY` cannot run there, so it is a plain `DROP
//! INDEX` (ACCESS EXCLUSIVE on the table, an instant once granted) under the plan's
//! `lock_timeout`, and only of an INVALID index of that name on that table (not on a partitioned
//! table: that would drop its partitions' indexes too). A valid one stays, and the build fails on
//! it as the draft does; one another session is building holds its table, so the guard gives up
//! at its lock timeout and the step fails, as the draft would on the name. A runner that sends a
//! file as one query cannot run the guard before the build: the comment before it says what to
//! drop by hand.

use crate::passes::Leftover;

/// How the guard begins: `pgsafe apply` knows it by this (it may run again whenever it likes).
pub const GUARD: &str = "DO $pgsafe_leftover$";

/// The comment before the build: what a failed run leaves and how to drop it by hand. Writes
/// may still keep the INVALID index up to date (one that failed once ready); only a unique one
/// can refuse them.
pub fn comment(l: &Leftover) -> String {
    let table = crate::emit::one_line(&l.table.text);
    let still = if l.unique { "it may still refuse writes" } else { "writes may still keep it up to date" };
    match &l.index {
        Some(index) => {
            let index = crate::emit::one_line(index);
            // The index lives in its table's schema.
            let schema = &l.table.text[..l.table.text.len() - l.table.base_text().len()];
            let schema = crate::emit::one_line(schema.trim());
            format!(
                "-- If this build fails, it leaves {index} INVALID ({still}), and running it again \
                 fails on that name; by hand: DROP INDEX CONCURRENTLY IF EXISTS {schema}{index};\n"
            )
        }
        None => format!(
            "-- If this build fails, it leaves its index INVALID ({still}), and running it again \
             builds another beside it; by hand, drop it first: SELECT indexrelid::regclass FROM pg_index WHERE \
             indrelid = '{}'::regclass AND NOT indisvalid; names it, then DROP INDEX CONCURRENTLY it.\n",
            table.replace('\'', "''")
        ),
    }
}

/// The `DO` block that drops the INVALID index a failed run of the build left, or `None` where
/// the build is unnamed (PostgreSQL names it) or a name cannot go into a string literal as
/// written (a psql variable or a tool's placeholder there would not be replaced).
pub fn guard(l: &Leftover, lock_timeout: &str) -> Option<String> {
    let index = literal(l.index.as_deref()?)?;
    let table = literal(&l.table.text)?;
    let lock_timeout = literal(lock_timeout)?;
    Some(format!(
        "{GUARD} DECLARE leftover regclass DEFAULT (SELECT x.indexrelid FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid\n  \
         WHERE t.oid = to_regclass({table}) AND t.relkind <> 'p' AND NOT x.indisvalid\n    \
         AND x.indexrelid = to_regclass(format('%s.%s', t.relnamespace::regnamespace, {index}))); BEGIN\n  \
         IF leftover IS NOT NULL THEN SET LOCAL lock_timeout = {lock_timeout}; EXECUTE format('DROP INDEX %s', leftover); \
         END IF; END $pgsafe_leftover$;\n"
    ))
}

/// `text` as a SQL string literal, or `None` where something in it would be read otherwise
/// there (a psql variable, a template's braces, the guard's own quote, a line break).
fn literal(text: &str) -> Option<String> {
    let odd = |c: char| matches!(c, ':' | '{' | '}' | '\\' | '\n' | '\r' | '\0');
    if text.contains(odd) || text.contains("$pgsafe") || text.is_empty() {
        return None;
    }
    Some(format!("'{}'", text.replace('\'', "''")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::name::Name;

    fn leftover(index: Option<&str>, table: &str) -> Leftover {
        Leftover { index: index.map(Into::into), table: Name::new(table), unique: false }
    }

    #[test]
    fn only_a_unique_builds_leftover_is_said_to_refuse_writes() {
        for index in [Some("k"), None] {
            let plain = comment(&leftover(index, "t"));
            let unique = comment(&Leftover { unique: true, ..leftover(index, "t") });
            assert_ne!(plain, unique, "{index:?}");
            assert!(unique.contains("INVALID (it may still refuse writes)"), "{unique}");
            assert!(!plain.contains("refuse"), "{plain}");
            assert!(plain.contains("INVALID (writes may still keep it up to date)"), "{plain}");
        }
    }

    #[test]
    fn the_drop_by_hand_names_the_index_in_its_tables_schema() {
        let c = comment(&leftover(Some("\"Key\""), "billing.\"Orders\""));
        assert!(c.ends_with("DROP INDEX CONCURRENTLY IF EXISTS billing.\"Key\";\n"), "{c}");
        let c = comment(&leftover(Some("k"), "t"));
        assert!(c.ends_with("DROP INDEX CONCURRENTLY IF EXISTS k;\n"), "{c}");
        let c = comment(&leftover(None, "o'hara"));
        assert!(c.contains("indrelid = 'o''hara'::regclass"), "{c}");
    }

    #[test]
    fn no_guard_where_a_name_would_not_read_as_written() {
        assert!(guard(&leftover(None, "t"), "100ms").is_none(), "unnamed");
        assert!(guard(&leftover(Some("k"), ":schema.t"), "100ms").is_none(), "a psql variable");
        assert!(guard(&leftover(Some("k"), "${schema}.t"), "100ms").is_none(), "a placeholder");
        let g = guard(&leftover(Some("\"it's\""), "t"), "100ms").unwrap();
        assert!(g.contains("'\"it''s\"'") && g.contains("SET LOCAL lock_timeout = '100ms'"), "{g}");
    }
}
