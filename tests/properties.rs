//! Properties of the whole compiler over generated drafts: nothing is lost, plans are fixed
//! points, output is deterministic, and compiling never panics.

mod common;

use pgsafe::{compile, Config};
use proptest::prelude::*;

/// Statements an AI assistant typically drafts, over a few tables, in both letter cases.
fn statement() -> impl Strategy<Value = String> {
    let table = prop::sample::select(vec!["orders", "users", "public.orders", "\"Items\""]);
    let col = prop::sample::select(vec!["user_id", "amount", "status", "\"Note\""]);
    (table, col, 0u32..1000, any::<bool>(), 0usize..16).prop_map(|(t, c, n, lower, kind)| {
        let s = match kind {
            0 => format!("CREATE INDEX idx_{n} ON {t} ({c})"),
            1 => format!("CREATE UNIQUE INDEX IF NOT EXISTS uq_{n} ON {t} USING btree ({c}) WHERE {c} IS NOT NULL"),
            2 => format!("ALTER TABLE {t} ADD CONSTRAINT fk_{n} FOREIGN KEY ({c}) REFERENCES users (id)"),
            3 => format!("ALTER TABLE {t} ADD CHECK ({c} > {n})"),
            4 => format!("ALTER TABLE {t} ADD COLUMN c_{n} bigint REFERENCES users (id) ON DELETE CASCADE"),
            5 => format!("ALTER TABLE {t} ADD COLUMN c_{n} text DEFAULT 'x;y', ALTER COLUMN {c} SET NOT NULL"),
            6 => format!("DROP INDEX IF EXISTS idx_{n}"),
            7 => format!("REINDEX INDEX idx_{n}"),
            8 => "BEGIN".to_string(),
            9 => "COMMIT".to_string(),
            10 => format!("CREATE TABLE t_{n} (id bigserial PRIMARY KEY, ref bigint REFERENCES {t} (id))"),
            11 => format!("CREATE INDEX ON t_{n} (ref)"),
            12 => format!("UPDATE {t} SET {c} = {n} WHERE id < 100"),
            13 => format!("SET lock_timeout = '{}s'", n % 5),
            14 => format!("ALTER TYPE order_status ADD VALUE 'v{n}'"),
            _ => format!("CREATE FUNCTION f_{n}() RETURNS int LANGUAGE sql AS $f$ SELECT {n}; $f$"),
        };
        if lower {
            s.to_lowercase()
        } else {
            s
        }
    })
}

fn draft() -> impl Strategy<Value = String> {
    let trivia = prop::sample::select(vec![
        "\n",
        "\n\n",
        "\n-- a comment; with a semicolon\n",
        "\r\n",
        " /* é */ ",
        "\n-- ünïcode\n",
    ]);
    prop::collection::vec((statement(), trivia, any::<bool>()), 0..14).prop_map(|stmts| {
        let mut out = String::new();
        let n = stmts.len();
        for (k, (s, t, _)) in stmts.into_iter().enumerate() {
            out.push_str(&s);
            if k + 1 < n {
                out.push(';');
            }
            out.push_str(t);
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn nothing_is_lost(d in draft()) {
        let c = compile("d.sql", &d, &Config::default()).unwrap();
        let plan: String = c.files.iter().map(|f| f.text()).collect();
        let lost = common::lost(&d, &plan);
        prop_assert!(lost.is_empty(), "lost {lost:?}\n--- draft\n{d}\n--- plan\n{plan}");
    }

    #[test]
    fn every_plan_file_is_a_fixed_point(d in draft()) {
        let cfg = Config::default();
        let c = compile("d.sql", &d, &cfg).unwrap();
        for f in c.steps() {
            let again = compile(&f.name, &f.text(), &cfg).unwrap();
            prop_assert!(!again.changed(), "{} is not a fixed point: {:?}\n{}", f.name, again.changes, f.text());
        }
        let flat = c.flattened();
        let again = compile("flat.sql", &flat, &cfg).unwrap();
        prop_assert!(!again.changed(), "the flattened plan is not a fixed point: {:?}\n{flat}", again.changes);
    }

    #[test]
    fn output_is_deterministic(d in draft()) {
        let cfg = Config::default();
        let a = compile("d.sql", &d, &cfg).unwrap();
        let b = compile("d.sql", &d, &cfg).unwrap();
        prop_assert_eq!(a.plan_dir().collect::<Vec<_>>(), b.plan_dir().collect::<Vec<_>>());
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        let _ = compile("x.sql", &s, &Config::default());
    }
}
