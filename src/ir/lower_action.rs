//! Lowering of one `ALTER TABLE` action at the token level (`ir::action::Action`): which column
//! it touches, which type it sets, which partition it attaches with which bound. `lower` tells
//! *what kind* of action it is and its locks; this tells the details the diagnostics and the
//! catalogue need, also where sqlparser could not parse the action (`SET TABLESPACE`,
//! `TYPE … COLLATE`, placeholders).

use super::action::{Action, ColumnChange, PartitionBound};
use super::name::{key_of, Name};
use crate::front::tokens::{lex, skip_parens, Tok, Token};

/// Read one action (the text of an `ALTER TABLE` action, without the `ALTER TABLE name` head).
pub fn parse(action: &str, toks: &[Token]) -> Action {
    let is = |k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_word(w));
    let name_at = |k: usize| name_token(action, toks, k);
    if is(0, "rename") {
        if is(1, "to") {
            return name_at(2).map_or(Action::Other, |to| Action::RenameTable { to });
        }
        if is(1, "constraint") {
            return match (name_at(2), is(3, "to"), name_at(4)) {
                (Some(from), true, Some(to)) => Action::RenameConstraint { from: from.key.to_string(), to },
                _ => Action::Other,
            };
        }
        let k = if is(1, "column") { 2 } else { 1 };
        return match (name_at(k), is(k + 1, "to"), name_at(k + 2)) {
            (Some(from), true, Some(to)) => Action::RenameColumn { from, to },
            _ => Action::Other,
        };
    }
    if is(0, "drop") {
        if is(1, "constraint") {
            let if_exists = is(2, "if") && is(3, "exists");
            let k = if if_exists { 4 } else { 2 };
            return name_at(k).map_or(Action::Other, |n| Action::DropConstraint { name: n.key.to_string(), if_exists });
        }
        let mut k = if is(1, "column") { 2 } else { 1 };
        if is(k, "if") && is(k + 1, "exists") {
            k += 2;
        }
        return name_at(k).map_or(Action::Other, |column| Action::DropColumn { column, cascade: is(k + 1, "cascade") });
    }
    if is(0, "alter") {
        if is(1, "constraint") {
            return if name_at(2).is_some() { Action::AlterConstraint } else { Action::Other };
        }
        let k = if is(1, "column") { 2 } else { 1 };
        let Some(column) = name_at(k) else { return Action::Other };
        let mut change = column_change(action, toks, k + 1);
        if let ColumnChange::Type { using, .. } = &mut change {
            if using.as_deref().is_some_and(|u| trivial_using(u, &column)) {
                *using = None;
            }
        }
        return Action::AlterColumn { column, change };
    }
    if is(0, "set") && is(1, "schema") {
        return match (name_at(2), toks.len()) {
            (Some(schema), 3) => Action::SetSchema { schema },
            _ => Action::Other,
        };
    }
    if is(0, "set") {
        for (words, what) in [
            (&["tablespace"][..], "SET TABLESPACE"),
            (&["logged"][..], "SET LOGGED"),
            (&["unlogged"][..], "SET UNLOGGED"),
            (&["access", "method"][..], "SET ACCESS METHOD"),
        ] {
            if words.iter().enumerate().all(|(n, w)| is(1 + n, w)) {
                return Action::Rewrite { what: what.into() };
            }
        }
        return Action::Other;
    }
    if is(0, "inherit") || is(0, "no") && is(1, "inherit") {
        let k = if is(0, "no") { 2 } else { 1 };
        let alone = |end: usize| toks.iter().all(|t| t.span.start < end);
        return match name_at(k).filter(|_| alone(name_end(action, toks, k))) {
            Some(parent) if k == 1 => Action::Inherit { parent },
            Some(parent) => Action::NoInherit { parent },
            None => Action::Other,
        };
    }
    if is(0, "add") {
        return added(action, toks);
    }
    if (is(0, "detach") || is(0, "attach")) && is(1, "partition") {
        let Some(partition) = name_at(2) else { return Action::Other };
        let end = name_end(action, toks, 2);
        let next = toks.iter().position(|t| t.span.start >= end).unwrap_or(toks.len());
        if is(0, "detach") {
            return Action::DetachPartition {
                partition,
                concurrently: is(next, "concurrently"),
                finalize: is(next, "finalize"),
                end,
            };
        }
        let bound = action[end..].trim();
        return Action::AttachPartition { partition, bound: bound.to_string(), parsed: partition_bound(bound) };
    }
    Action::Other
}

/// PostgreSQL 18's forms of `ADD` that sqlparser does not read: a named `NOT NULL` constraint
/// and a virtual generated column ([`Action::AddNotNull`], [`Action::AddVirtualColumn`]); any
/// other `ADD` is [`Action::Other`] (sqlparser's tree tells it).
fn added(action: &str, toks: &[Token]) -> Action {
    let is = |k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_word(w));
    let one_name = |k: usize| matches!(toks.get(k).map(|t| &t.tok), Some(Tok::Word(_) | Tok::Quoted(_)));
    let mut k = 1;
    let mut name = None;
    if is(k, "constraint") {
        if !one_name(k + 1) {
            return Action::Other;
        }
        name = Some(action[toks[k + 1].span.clone()].to_string());
        k += 2;
    }
    if is(k, "not") && is(k + 1, "null") && one_name(k + 2) {
        let Some(column) = name_token(action, toks, k + 2) else { return Action::Other };
        k += 3;
        if is(k, "no") && is(k + 1, "inherit") {
            k += 2;
        }
        let not_valid = is(k, "not") && is(k + 1, "valid");
        let end = if not_valid { k + 2 } else { k };
        return if end == toks.len() { Action::AddNotNull { name, column, not_valid } } else { Action::Other };
    }
    // A column: `ADD [COLUMN] [IF NOT EXISTS] a type … GENERATED ALWAYS AS (…) [VIRTUAL] …`.
    let mut k = if is(1, "column") { 2 } else { 1 };
    if is(k, "if") && is(k + 1, "not") && is(k + 2, "exists") {
        k += 3;
    }
    if !one_name(k) || ["constraint", "check", "unique", "primary", "foreign", "exclude"].iter().any(|w| is(k, w)) {
        return Action::Other;
    }
    let Some(column) = name_token(action, toks, k) else { return Action::Other };
    let Some(g) = (k + 1..toks.len()).find(|&g| is(g, "generated") && is(g + 1, "always") && is(g + 2, "as")) else {
        return Action::Other;
    };
    let open = g + 3;
    if !toks.get(open).is_some_and(|t| t.is_punct('(')) {
        return Action::Other;
    }
    let Some((close, _)) = skip_parens(toks, open) else { return Action::Other };
    let mut rest = close + 1;
    if is(rest, "stored") {
        return Action::Other;
    }
    if is(rest, "virtual") {
        rest += 1;
    }
    Action::AddVirtualColumn { column, checked: rest < toks.len() }
}

/// The (possibly qualified) name starting at token `k`: words, quoted names and dots.
fn name_token(text: &str, toks: &[Token], k: usize) -> Option<Name> {
    match toks.get(k)?.tok {
        Tok::Word(_) | Tok::Quoted(_) => {
            // A placeholder after a name's first letters (`note_${x}`) is part of the name: the
            // forms read it, where the tokens end the word at `note_$`.
            let start = toks[k].span.start;
            let end = name_end(text, toks, k).max(start + crate::front::forms::name_len(&text[start..]).unwrap_or(0));
            Some(Name::new(&text[start..end]))
        }
        _ => None,
    }
}

fn name_end(text: &str, toks: &[Token], k: usize) -> usize {
    let mut end = toks.get(k).map_or(text.len(), |t| t.span.end);
    let mut i = k;
    while toks.get(i + 1).is_some_and(|t| t.is_punct('.'))
        && toks.get(i + 2).is_some_and(|t| matches!(t.tok, Tok::Word(_) | Tok::Quoted(_)))
    {
        end = toks[i + 2].span.end;
        i += 2;
    }
    end
}

/// What follows `ALTER [COLUMN] c`, from token `k`.
fn column_change(text: &str, toks: &[Token], k: usize) -> ColumnChange {
    let is = |i: usize, w: &str| toks.get(i).is_some_and(|t| t.is_word(w));
    if is(k, "set") && is(k + 1, "not") && is(k + 2, "null") {
        return ColumnChange::SetNotNull;
    }
    if is(k, "drop") && is(k + 1, "not") && is(k + 2, "null") {
        return ColumnChange::DropNotNull;
    }
    if is(k, "set") && is(k + 1, "statistics") {
        return ColumnChange::Statistics;
    }
    if is(k, "set") && is(k + 1, "expression") {
        return ColumnChange::Expression;
    }
    if (is(k, "set") || is(k, "reset")) && toks.get(k + 1).is_some_and(|t| t.is_punct('(')) {
        return ColumnChange::Options;
    }
    let t = if is(k, "type") {
        k + 1
    } else if is(k, "set") && is(k + 1, "data") && is(k + 2, "type") {
        k + 3
    } else {
        return ColumnChange::Other;
    };
    // The type runs to a top-level COLLATE or USING.
    let mut depth = 0i32;
    let mut stop = toks.len();
    for (i, tok) in toks.iter().enumerate().skip(t) {
        match &tok.tok {
            Tok::Punct('(') | Tok::Punct('[') => depth += 1,
            Tok::Punct(')') | Tok::Punct(']') => depth -= 1,
            _ if depth == 0 && (tok.is_word("collate") || tok.is_word("using")) => {
                stop = i;
                break;
            }
            _ => {}
        }
    }
    if stop == t {
        return ColumnChange::Other;
    }
    let type_text = collapse(&text[toks[t].span.start..toks[stop - 1].span.end]);
    let mut collate = None;
    let mut using = None;
    let mut i = stop;
    while i + 1 < toks.len() {
        if toks[i].is_word("collate") && collate.is_none() {
            let end = toks[i + 1..].iter().position(|x| x.is_word("using")).map_or(toks.len(), |n| i + 1 + n);
            collate = Some(text[toks[i + 1].span.start..toks[end - 1].span.end].trim().to_string());
            i = end;
        } else if toks[i].is_word("using") {
            using = Some(text[toks[i + 1].span.start..toks[toks.len() - 1].span.end].trim().to_string());
            break;
        } else {
            i += 1;
        }
    }
    ColumnChange::Type { type_text, collate, using }
}

/// `USING c` or `USING c::type`: the value does not change beyond the cast itself.
fn trivial_using(using: &str, column: &Name) -> bool {
    let u = collapse(using);
    let head = u.split("::").next().unwrap_or("").trim();
    key_of(head) == *column.key && u.matches("::").count() <= 1
}

/// The bound of `CREATE TABLE p PARTITION OF parent [(…)] FOR VALUES …` (`text`, the statement):
/// the first `FOR VALUES` or `DEFAULT` outside parentheses after `PARTITION OF`.
pub fn partition_of_bound(text: &str) -> PartitionBound {
    let toks = lex(text);
    let Some(of) = toks.windows(2).position(|w| w[0].is_word("partition") && w[1].is_word("of")) else {
        return PartitionBound::Other;
    };
    let mut depth = 0;
    for (k, t) in toks.iter().enumerate().skip(of + 2) {
        if t.is_punct('(') {
            depth += 1;
        } else if t.is_punct(')') {
            depth -= 1;
        } else if depth == 0
            && (t.is_word("default") || t.is_word("for") && toks.get(k + 1).is_some_and(|n| n.is_word("values")))
        {
            return partition_bound(&text[t.span.start..]);
        }
    }
    PartitionBound::Other
}

/// `DEFAULT`, `FOR VALUES FROM (…) TO (…)`, `FOR VALUES IN (…)`, or another form.
fn partition_bound(bound: &str) -> PartitionBound {
    let toks = lex(bound);
    let is = |k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_word(w));
    if is(0, "default") {
        return PartitionBound::Default;
    }
    if !(is(0, "for") && is(1, "values")) {
        return PartitionBound::Other;
    }
    // The items of the parenthesised list starting at token `k`, and the token after it.
    let group = |k: usize| -> Option<(Vec<String>, usize)> {
        if !toks.get(k)?.is_punct('(') {
            return None;
        }
        let (mut depth, mut items, mut start) = (0, Vec::new(), toks[k].span.end);
        for (n, t) in toks.iter().enumerate().skip(k) {
            if t.is_punct('(') {
                depth += 1;
            } else if t.is_punct(')') {
                depth -= 1;
                if depth == 0 {
                    items.push(collapse(&bound[start..t.span.start]));
                    return Some((items, n + 1));
                }
            } else if t.is_punct(',') && depth == 1 {
                items.push(collapse(&bound[start..t.span.start]));
                start = t.span.end;
            }
        }
        None
    };
    if is(2, "from") {
        let Some((from, next)) = group(3) else { return PartitionBound::Other };
        if !is(next, "to") {
            return PartitionBound::Other;
        }
        let Some((to, _)) = group(next + 1) else { return PartitionBound::Other };
        return PartitionBound::Range { from, to };
    }
    if is(2, "in") {
        let Some((values, _)) = group(3) else { return PartitionBound::Other };
        let null = values.iter().any(|v| v.eq_ignore_ascii_case("null"));
        return PartitionBound::List { values: values.join(", "), null };
    }
    PartitionBound::Other
}

/// Whitespace runs (and comments) collapsed to one space, for messages and comparisons.
pub fn collapse(text: &str) -> String {
    let toks = lex(text);
    let mut out = String::new();
    for (i, t) in toks.iter().enumerate() {
        if i > 0 {
            let prev = &toks[i - 1];
            let glued = prev.span.end == t.span.start
                || matches!(prev.tok, Tok::Punct('(') | Tok::Punct('.') | Tok::Punct('['))
                || matches!(
                    t.tok,
                    Tok::Punct(')')
                        | Tok::Punct(',')
                        | Tok::Punct('.')
                        | Tok::Punct('(')
                        | Tok::Punct('[')
                        | Tok::Punct(']')
                );
            if !glued {
                out.push(' ');
            }
        }
        out.push_str(&text[t.span.clone()]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::tokens::lex;

    fn parse(action: &str) -> Action {
        super::parse(action, &lex(action))
    }

    #[test]
    fn a_placeholder_after_a_name_s_first_letters_is_part_of_the_name() {
        assert!(
            matches!(parse("RENAME COLUMN note TO note_${x}"), Action::RenameColumn { to, .. } if &*to.text == "note_${x}")
        );
        assert!(
            matches!(parse("DROP COLUMN c_{{ .X }}"), Action::DropColumn { column, .. } if &*column.text == "c_{{ .X }}")
        );
    }

    #[test]
    fn renames_and_drops() {
        assert!(
            matches!(parse("RENAME COLUMN status TO state"), Action::RenameColumn { from, to } if &*from.key == "status" && &*to.key == "state")
        );
        assert!(
            matches!(parse("rename \"Status\" to state"), Action::RenameColumn { from, .. } if &*from.key == "Status")
        );
        assert!(matches!(parse("RENAME TO purchases"), Action::RenameTable { to } if &*to.key == "purchases"));
        assert!(
            matches!(parse("RENAME CONSTRAINT \"A\" TO b"), Action::RenameConstraint { from, to } if from == "A" && &*to.key == "b")
        );
        assert!(matches!(parse("SET SCHEMA \"Archive\""), Action::SetSchema { schema } if &*schema.key == "Archive"));
        assert_eq!(parse("ALTER CONSTRAINT c DEFERRABLE INITIALLY DEFERRED"), Action::AlterConstraint);
        assert_eq!(
            parse("DROP CONSTRAINT IF EXISTS \"User_pkey\" CASCADE"),
            Action::DropConstraint { name: "User_pkey".into(), if_exists: true }
        );
        assert!(
            matches!(parse("DROP COLUMN IF EXISTS status CASCADE"), Action::DropColumn { column, cascade: true } if &*column.key == "status")
        );
        assert!(
            matches!(parse("drop status"), Action::DropColumn { column, cascade: false } if &*column.key == "status")
        );
        assert!(matches!(parse("DROP CONSTRAINT fk"), Action::DropConstraint { .. }));
        assert!(matches!(parse("INHERIT app.\"Parent\""), Action::Inherit { parent } if &*parent.key == "app.Parent"));
        assert!(matches!(parse("no inherit parent"), Action::NoInherit { parent } if &*parent.key == "parent"));
        assert_eq!(parse("INHERIT parent extra"), Action::Other);
        assert!(matches!(
            parse("ALTER c TYPE text USING c::text"),
            Action::AlterColumn { change: ColumnChange::Type { using: None, .. }, .. }
        ));
    }

    #[test]
    fn alter_column_type() {
        let Action::AlterColumn { column, change: ColumnChange::Type { type_text, collate, using } } =
            parse("ALTER COLUMN qty SET DATA TYPE numeric ( 12, 2 ) COLLATE \"C\" USING round(qty, 2)")
        else {
            panic!()
        };
        assert_eq!(&*column.key, "qty");
        assert_eq!(type_text, "numeric(12, 2)");
        assert_eq!(collate.as_deref(), Some("\"C\""));
        assert_eq!(using.as_deref(), Some("round(qty, 2)"));
        assert!(matches!(
            parse("alter status type character varying(50)"),
            Action::AlterColumn { change: ColumnChange::Type { type_text, .. }, .. } if type_text == "character varying(50)"
        ));
        assert!(matches!(
            parse("ALTER COLUMN s DROP NOT NULL"),
            Action::AlterColumn { change: ColumnChange::DropNotNull, .. }
        ));
        assert!(matches!(
            parse("ALTER COLUMN s SET DEFAULT 1"),
            Action::AlterColumn { change: ColumnChange::Other, .. }
        ));
    }

    #[test]
    fn partitions_and_rewrites() {
        let a = "DETACH PARTITION public.events_2024 CONCURRENTLY";
        let Action::DetachPartition { partition, concurrently: true, end, .. } = parse(a) else { panic!() };
        assert_eq!(&*partition.key, "public.events_2024");
        assert_eq!(&a[..end], "DETACH PARTITION public.events_2024");
        assert!(matches!(
            parse("ATTACH PARTITION e FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')"),
            Action::AttachPartition { bound, .. } if bound == "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')"
        ));
        assert!(matches!(
            parse("ATTACH PARTITION e FOR VALUES FROM (MINVALUE) TO ( '2025-01-01' )"),
            Action::AttachPartition { parsed: PartitionBound::Range { from, to }, .. }
                if from == ["MINVALUE"] && to == ["'2025-01-01'"]
        ));
        assert!(matches!(
            parse("attach partition e for values in (1, null)"),
            Action::AttachPartition { parsed: PartitionBound::List { null: true, .. }, .. }
        ));
        assert_eq!(
            super::partition_of_bound(
                "CREATE TABLE e PARTITION OF ev (c WITH OPTIONS DEFAULT 0) FOR VALUES IN ('a', 'b') PARTITION BY LIST (c)"
            ),
            PartitionBound::List { values: "'a', 'b'".into(), null: false }
        );
        assert_eq!(super::partition_of_bound("create table e partition of ev default"), PartitionBound::Default);
        assert_eq!(super::partition_of_bound("CREATE TABLE e (a int)"), PartitionBound::Other);
        assert!(matches!(parse("SET TABLESPACE fast"), Action::Rewrite { what } if what == "SET TABLESPACE"));
        assert_eq!(parse("SET (fillfactor = 70)"), Action::Other);
    }

    #[test]
    fn reads_postgresql_18_forms_of_add() {
        let not_null = |sql: &str| match parse(sql) {
            Action::AddNotNull { name, column, not_valid } => Some((name, column.text.to_string(), not_valid)),
            _ => None,
        };
        assert_eq!(not_null("ADD CONSTRAINT n NOT NULL note"), Some((Some("n".into()), "note".into(), false)));
        assert_eq!(not_null("add not null \"Note\" no inherit not valid"), Some((None, "\"Note\"".into(), true)));
        assert_eq!(
            not_null("ADD CONSTRAINT \"N n\" NOT NULL note"),
            Some((Some("\"N n\"".into()), "note".into(), false))
        );
        assert_eq!(not_null("ADD CONSTRAINT n NOT NULL note EXTRA"), None);
        assert_eq!(not_null("ADD CONSTRAINT n CHECK (note IS NOT NULL)"), None);
        let virtual_column = |sql: &str| match parse(sql) {
            Action::AddVirtualColumn { column, checked } => Some((column.text.to_string(), checked)),
            _ => None,
        };
        assert_eq!(virtual_column("ADD COLUMN t numeric GENERATED ALWAYS AS (a * (b + 1))"), Some(("t".into(), false)));
        assert_eq!(
            virtual_column("ADD IF NOT EXISTS t int GENERATED ALWAYS AS (a) VIRTUAL"),
            Some(("t".into(), false))
        );
        assert_eq!(
            virtual_column("ADD COLUMN IF NOT EXISTS t int GENERATED ALWAYS AS (a) VIRTUAL"),
            Some(("t".into(), false))
        );
        assert_eq!(virtual_column("ADD t int GENERATED ALWAYS AS (a) VIRTUAL NOT NULL"), Some(("t".into(), true)));
        // Stored, identity and constraints are sqlparser's to read.
        assert_eq!(virtual_column("ADD COLUMN t int GENERATED ALWAYS AS (a) STORED"), None);
        assert_eq!(virtual_column("ADD COLUMN t int GENERATED ALWAYS AS IDENTITY"), None);
        assert_eq!(virtual_column("ADD CONSTRAINT c CHECK (a > 0)"), None);
        assert_eq!(virtual_column("ADD COLUMN t int DEFAULT 1"), None);
    }
}
