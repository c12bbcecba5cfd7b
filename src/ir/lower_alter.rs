//! Lowering of `ALTER TABLE`: one op per action, each with its typed meaning (`ir::action`), its
//! locks, and the draft spans of the parts a rewrite moves (inline `REFERENCES`, `CHECK`,
//! `DEFAULT`, `NOT NULL` of `ADD COLUMN`; the definition of `ADD CONSTRAINT`).

use super::action::{Action, ColumnChange};
use super::by_hand::{check, plain_tokens, unique, Cursor};
use super::lock::{LockMode, LockUse};
use super::lower::lock;
use super::name::{key_of, Name};
use super::op::{ConstraintKind, InlineCheck, InlineDefault, InlineReference, InlineUnique, Key, Op, OpKind};
use crate::front::forms;
use crate::front::parse::{parse, parse_expr, Unparsed};
use crate::front::tokens::{lex, skip_parens, words, Tok, Token};
use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnDef, ColumnOption, ColumnOptionDef, DetachPartitionMode,
    DropBehavior, Statement, TableConstraint,
};
use std::ops::Range;

/// `ALTER TABLE`: one op per action, each spanning that action's own text. `operations` gives
/// sqlparser's tree of the actions, asked for only when the form reads (they move into the ops'
/// lowering, uncopied).
pub fn lower_alter_table(
    src: &str,
    base: usize,
    text: &str,
    operations: impl FnOnce() -> Option<Vec<AlterTableOperation>>,
    too_deep: &mut bool,
) -> Option<Vec<Op>> {
    let form = forms::alter_table(text)?;
    let table = Name::new(&form.table);
    let mut ast_ops = operations().filter(|o| o.len() == form.actions.len()).map(Vec::into_iter);
    let mut ops = Vec::with_capacity(form.actions.len());
    for range in &form.actions {
        let span = base + range.start..base + range.end;
        let action_text = &src[span.clone()];
        // An action sqlparser could not parse in context gets a second chance on its own.
        let action_ast = match &mut ast_ops {
            Some(list) => list.next(),
            None => match parse(&format!("ALTER TABLE _t {action_text}")) {
                Ok(Statement::AlterTable(mut at)) if at.operations.len() == 1 => at.operations.pop(),
                Err(Unparsed::TooDeep) => {
                    *too_deep = true;
                    None
                }
                _ => None,
            },
        };
        if action_ast.is_none() {
            if let Some((kind, locks)) = temporal_action(&table, action_text, span.start) {
                ops.push(Op { span, kind, locks });
                continue;
            }
        }
        let (kind, locks) = lower_action(&table, action_text, span.start, action_ast.as_ref());
        ops.push(Op { span, kind, locks });
    }
    Some(ops)
}

/// PostgreSQL 18's temporal key or foreign key as an action (`ir::lower_temporal`): sqlparser
/// reads it with its temporal words blanked, and the key it reads is marked temporal. Its locks
/// are an ordinary key's or foreign key's (measured on 18.4, `tests/postgresql_18.rs`). `None`
/// for any other action.
fn temporal_action(table: &Name, text: &str, at: usize) -> Option<(OpKind, Vec<LockUse>)> {
    let temporal = super::lower_temporal::read(text)?;
    let Ok(Statement::AlterTable(at_tree)) = parse(&format!("ALTER TABLE _t {}", temporal.masked)) else {
        return None;
    };
    let [operation] = at_tree.operations.as_slice() else { return None };
    let (mut kind, locks) = lower_action(table, &temporal.masked, at, Some(operation));
    temporal.mark_action(&mut kind).then_some((kind, locks))
}

/// The tree of an `ALTER TABLE` whose one action is a common form, built from its tokens rather
/// than parsed:
///
/// - `RENAME [COLUMN] a TO b`, `DROP COLUMN [IF EXISTS] a [CASCADE | RESTRICT]`,
///   `VALIDATE CONSTRAINT c`;
/// - `ALTER [COLUMN] a {SET NOT NULL | DROP NOT NULL | DROP DEFAULT | [SET DATA] TYPE <type>}`;
/// - `ADD COLUMN [IF NOT EXISTS] a <type> [NOT NULL | NULL]… [DEFAULT <expression>]`;
/// - `ADD [CONSTRAINT c] FOREIGN KEY (a, …) REFERENCES t [(b, …)] [ON DELETE …] [ON UPDATE …]`,
///   `… CHECK (<expression>)` or `… UNIQUE (a, …)`, each `[NOT VALID]`.
///
/// sqlparser reads only a type or an expression, alone. These are every `ALTER TABLE` of a
/// `gen_big.py` draft and two thirds of the corpus's; sqlparser was two thirds of their lowering,
/// and its tree says nothing of them that the tokens do not.
///
/// `None` unless sqlparser would read exactly this tree (tests compare the two on every keyword
/// in every name slot, every type and what may follow it, generated statements, every draft and
/// every fuzz input): only blanks between the tokens (no comment, no placeholder), each name a
/// plain ASCII word other than the few sqlparser reads as keywords there, or `"quoted"`.
pub fn operation_by_hand(text: &str) -> Option<AlterTableOperation> {
    let toks = plain_tokens(text)?;
    let mut c = Cursor::new(text, &toks, GRAMMAR_WORDS);
    if !c.words(&["alter", "table"]) {
        return None;
    }
    c.words(&["if", "exists"]);
    c.words(&["only"]);
    c.object_name()?;
    let operation = if c.words(&["rename"]) {
        c.words(&["column"]);
        let old_column_name = c.name()?;
        let new_column_name = c.words(&["to"]).then(|| c.name())??;
        AlterTableOperation::RenameColumn { old_column_name, new_column_name }
    } else if c.words(&["drop", "column"]) {
        let if_exists = c.words(&["if", "exists"]);
        let column_names = vec![c.name()?];
        let drop_behavior = if c.words(&["cascade"]) {
            Some(DropBehavior::Cascade)
        } else {
            c.words(&["restrict"]).then_some(DropBehavior::Restrict)
        };
        AlterTableOperation::DropColumn { has_column_keyword: true, column_names, if_exists, drop_behavior }
    } else if c.words(&["validate", "constraint"]) {
        AlterTableOperation::ValidateConstraint { name: c.name()? }
    } else if c.words(&["add", "column"]) {
        // `COLUMN` is wanted: after a bare `ADD`, sqlparser reads `PRIMARY KEY (a)` as a key.
        let if_not_exists = c.words(&["if", "not", "exists"]);
        let name = c.name()?;
        let data_type = c.data_type(&["not", "null", "default"])?;
        let mut options = Vec::new();
        loop {
            let option = if c.words(&["not", "null"]) {
                ColumnOption::NotNull
            } else if c.words(&["null"]) {
                ColumnOption::Null
            } else if c.words(&["default"]) {
                // Last: where it would end before another clause is sqlparser's call. And
                // without the words sqlparser reads otherwise in a column's definition than alone
                // (`NOT NULL` after an expression ends it there; `COLLATE` is a clause there).
                let state_free = !c
                    .toks
                    .get(c.i + 1..)
                    .unwrap_or_default()
                    .iter()
                    .any(|t| ["not", "null", "collate"].iter().any(|w| t.is_word(w)));
                ColumnOption::Default(state_free.then(|| c.rest(parse_expr))??)
            } else {
                break;
            };
            options.push(ColumnOptionDef { name: None, option });
        }
        let column_def = ColumnDef { name, data_type, options };
        AlterTableOperation::AddColumn { column_keyword: true, if_not_exists, column_def, column_position: None }
    } else if c.words(&["add"]) {
        let name = if c.words(&["constraint"]) { Some(c.name()?) } else { None };
        let constraint = if c.words(&["foreign", "key"]) {
            let columns = c.list(Cursor::name)?;
            c.words(&["references"]).then(|| c.references(name, columns))??.into()
        } else if c.words(&["check"]) {
            check(name, c.parenthesized(parse_expr)?).into()
        } else if c.words(&["unique"]) {
            unique(name, c.key_columns()?).into()
        } else {
            return None;
        };
        AlterTableOperation::AddConstraint { constraint, not_valid: c.words(&["not", "valid"]) }
    } else if c.words(&["alter"]) {
        c.words(&["column"]);
        let column_name = c.name()?;
        let had_set = c.words(&["set", "data", "type"]);
        let op = if had_set || c.words(&["type"]) {
            AlterColumnOperation::SetDataType { data_type: c.data_type(&[])?, using: None, had_set }
        } else if c.words(&["set", "not", "null"]) {
            AlterColumnOperation::SetNotNull
        } else if c.words(&["drop", "not", "null"]) {
            AlterColumnOperation::DropNotNull
        } else if c.words(&["drop", "default"]) {
            AlterColumnOperation::DropDefault
        } else {
            return None;
        };
        AlterTableOperation::AlterColumn { column_name, op }
    } else {
        return None;
    };
    (c.i == toks.len()).then_some(operation)
}

/// The words sqlparser's grammar reads as keywords where [`operation_by_hand`] reads a name
/// (`RENAME AS`, `RENAME CONSTRAINT`, `RENAME TO`, `ALTER SORTKEY`): a name spelled so is left to
/// sqlparser. Any other word is a name there, keyword or not (a test tries every keyword in
/// every place).
const GRAMMAR_WORDS: &[&str] = &["as", "constraint", "sortkey", "to"];

fn lower_action(table: &Name, text: &str, at: usize, ast: Option<&AlterTableOperation>) -> (OpKind, Vec<LockUse>) {
    // Lexed once: every reading of the action below works on these tokens.
    let toks = lex(text);
    let toks = &toks[..];
    let words = words(toks, 4);
    let action = super::lower_action::parse(text, toks);
    let other = |what: &str, mode: LockMode, scans: bool| {
        let kind = OpKind::AlterTable { table: table.clone(), what: what.to_string(), action: action.clone() };
        (kind, vec![lock(table, mode, scans)])
    };
    // Actions whose lock sqlparser's AST does not tell (or that it cannot parse).
    let word = |k: usize| words.get(k).map(String::as_str).unwrap_or("");
    let weaker = match (&action, word(0), word(1)) {
        (Action::AlterColumn { change: ColumnChange::Statistics | ColumnChange::Options, .. }, ..) => {
            Some(("ALTER COLUMN SET STATISTICS/options", LockMode::ShareUpdateExclusive))
        }
        (_, "enable", _) if words.iter().any(|w| w == "trigger") => {
            Some(("ENABLE TRIGGER", LockMode::ShareRowExclusive))
        }
        (_, "disable", _) if words.iter().any(|w| w == "trigger") => {
            Some(("DISABLE TRIGGER", LockMode::ShareRowExclusive))
        }
        (_, "cluster", "on") | (_, "set", "without") => Some(("CLUSTER ON", LockMode::ShareUpdateExclusive)),
        _ => None,
    };
    if let Some((what, mode)) = weaker {
        return other(what, mode, false);
    }
    if let Action::AlterColumn { change: ColumnChange::Expression, .. } = &action {
        // sqlparser does not read it; it rewrites the table, computing the column for every row.
        return other("ALTER COLUMN SET EXPRESSION", LockMode::AccessExclusive, true);
    }
    if let Action::Rewrite { what } = &action {
        // `SET LOGGED|UNLOGGED|TABLESPACE|ACCESS METHOD` copies the table under ACCESS EXCLUSIVE:
        // a scan as long as the table, which a step's short statement_timeout would cancel.
        return other(what, LockMode::AccessExclusive, true);
    }
    if let (None, Action::AlterColumn { change: ColumnChange::Type { .. }, .. }) = (ast, &action) {
        // sqlparser does not read `TYPE … COLLATE …`: like any type change, it may rewrite the
        // table or rebuild the indexes on the column, a scan as long as the table.
        return other("ALTER COLUMN TYPE", LockMode::AccessExclusive, true);
    }
    // PostgreSQL 18's forms, which sqlparser does not read (measured on 18.4:
    // `tests/postgresql_18.rs`).
    match &action {
        Action::AddNotNull { not_valid, .. } => return other("ADD NOT NULL", LockMode::AccessExclusive, !not_valid),
        Action::AddVirtualColumn { checked, .. } => {
            return other("ADD COLUMN VIRTUAL", LockMode::AccessExclusive, *checked);
        }
        _ => {}
    }
    let Some(ast) = ast else {
        // Neither sqlparser nor the token-level reading tells what this action does (sqlparser
        // failed on it, or would have dropped words of it): not understood, so nothing rewrites
        // it; it keeps the strongest lock, runs under timeouts and is reported.
        let what = words.join(" ").to_uppercase();
        if action == Action::Other {
            let kind = OpKind::AlterTable { table: table.clone(), what, action: Action::NotUnderstood };
            return (kind, vec![lock(table, LockMode::AccessExclusive, false)]);
        }
        return other(&what, LockMode::AccessExclusive, false);
    };
    match ast {
        AlterTableOperation::AddConstraint { constraint, not_valid } => {
            let not_valid = &(*not_valid || not_enforced(constraint));
            let (name, mut kind) = constraint_kind(constraint, toks, at);
            let name = name.map(|n| constraint_name_with_placeholder(text, toks).unwrap_or(n));
            // The referenced table as the draft spells it (placeholders included), not as masked.
            if let (ConstraintKind::ForeignKey { references, .. }, Some(r)) =
                (&mut kind, inline_reference(text, toks, at))
            {
                *references = r.references;
            }
            let mut locks = match &kind {
                ConstraintKind::ForeignKey { references, .. } => vec![
                    lock(table, LockMode::ShareRowExclusive, !not_valid),
                    lock(references, LockMode::ShareRowExclusive, !not_valid),
                ],
                _ => vec![lock(table, LockMode::AccessExclusive, !not_valid)],
            };
            if matches!(constraint, TableConstraint::PrimaryKeyUsingIndex(_) | TableConstraint::UniqueUsingIndex(_)) {
                locks[0].scans = false;
            }
            let definition = definition(text, toks, at);
            (OpKind::AddConstraint { table: table.clone(), name, kind, not_valid: *not_valid, definition }, locks)
        }
        AlterTableOperation::AddColumn { column_def, if_not_exists, .. } => {
            let mut mode_scans = false;
            let (mut volatile_default, mut numbers_rows, mut null_default) = (false, false, false);
            let (mut primary_key, mut unique, mut collation, mut computed) = (false, false, None, false);
            for o in &column_def.options {
                match &o.option {
                    ColumnOption::Collation(c) => collation = Some(c.to_string().into()),
                    ColumnOption::PrimaryKey(_) => primary_key = true,
                    ColumnOption::Unique(_) => unique = true,
                    ColumnOption::Default(e) => {
                        null_default =
                            matches!(e, sqlparser::ast::Expr::Value(v) if v.to_string().eq_ignore_ascii_case("null"));
                        let loc = super::lower_expr::Locations::new(text, at);
                        let e = super::lower_expr::lower(e, at..at + text.len(), &loc);
                        volatile_default = e.volatility() == super::expr::Volatility::Volatile;
                        numbers_rows = e.calls.iter().any(|c| super::functions::may_draw_from_a_sequence(&c.name));
                        mode_scans |= volatile_default;
                    }
                    ColumnOption::Generated { .. } => computed = true,
                    _ => {}
                }
            }
            // An inline CHECK is verified against every row (measured on PostgreSQL 15).
            let check = inline_check(text, toks, at);
            mode_scans |= check.is_some();
            let data_type = column_def.data_type.to_string().to_lowercase();
            computed |= data_type.contains("serial");
            // An inline key builds its index over every row, inside the statement.
            mode_scans |= computed || primary_key || unique;
            let unique = unique.then(|| inline_unique(text, toks, at)).flatten();
            let reference = inline_reference(text, toks, at);
            let mut locks = vec![lock(table, LockMode::AccessExclusive, mode_scans)];
            if let Some(r) = &reference {
                locks.push(lock(&r.references, LockMode::ShareRowExclusive, false));
            }
            let column = key_of(&column_text(text, toks));
            let (default, not_null) =
                inline_default_and_not_null(text, toks, at, (volatile_default, numbers_rows, null_default));
            let kind = OpKind::AddColumn {
                table: table.clone(),
                column,
                type_text: data_type,
                collation,
                if_not_exists: *if_not_exists,
                computed,
                primary_key,
                unique: unique.map(Box::new),
                reference: reference.map(Box::new),
                check: check.map(Box::new),
                default: default.map(Box::new),
                not_null,
            };
            (kind, locks)
        }
        AlterTableOperation::ValidateConstraint { name } => (
            OpKind::ValidateConstraint {
                table: table.clone(),
                name: constraint_name_with_placeholder(text, toks).unwrap_or_else(|| name.to_string()),
            },
            vec![lock(table, LockMode::ShareUpdateExclusive, true)],
        ),
        AlterTableOperation::AlterColumn { op, column_name } => match op {
            AlterColumnOperation::SetNotNull => (
                OpKind::SetNotNull { table: table.clone(), column: key_of(&column_name.to_string()) },
                vec![lock(table, LockMode::AccessExclusive, true)],
            ),
            AlterColumnOperation::SetDataType { .. } => other("ALTER COLUMN TYPE", LockMode::AccessExclusive, true),
            AlterColumnOperation::SetDefault { .. } => other("SET DEFAULT", LockMode::AccessExclusive, false),
            AlterColumnOperation::DropDefault => other("DROP DEFAULT", LockMode::AccessExclusive, false),
            AlterColumnOperation::DropNotNull => other("DROP NOT NULL", LockMode::AccessExclusive, false),
            AlterColumnOperation::AddGenerated { .. } => other("ADD GENERATED", LockMode::AccessExclusive, false),
            _ => other("ALTER COLUMN", LockMode::AccessExclusive, false),
        },
        AlterTableOperation::DisableTrigger { .. } => other("DISABLE TRIGGER", LockMode::ShareRowExclusive, false),
        AlterTableOperation::EnableTrigger { .. }
        | AlterTableOperation::EnableAlwaysTrigger { .. }
        | AlterTableOperation::EnableReplicaTrigger { .. } => {
            other("ENABLE TRIGGER", LockMode::ShareRowExclusive, false)
        }
        AlterTableOperation::SetOptionsParens { .. } | AlterTableOperation::ResetOptions { .. } => {
            other("SET (storage parameters)", LockMode::ShareUpdateExclusive, false)
        }
        AlterTableOperation::RenameColumn { .. } => other("RENAME COLUMN", LockMode::AccessExclusive, false),
        AlterTableOperation::RenameTable { .. } => other("RENAME TO", LockMode::AccessExclusive, false),
        AlterTableOperation::DropColumn { .. } => other("DROP COLUMN", LockMode::AccessExclusive, false),
        // PostgreSQL 12+: SHARE UPDATE EXCLUSIVE on the parent; the partition (scanned to prove its
        // bound) under ACCESS EXCLUSIVE.
        AlterTableOperation::AttachPartitionOf { partition, .. } => (
            OpKind::AlterTable { table: table.clone(), what: "ATTACH PARTITION".into(), action },
            vec![
                lock(table, LockMode::ShareUpdateExclusive, false),
                lock(&Name::new(&partition.to_string()), LockMode::AccessExclusive, true),
            ],
        ),
        // ACCESS EXCLUSIVE on both; CONCURRENTLY (PostgreSQL 14+): SHARE UPDATE EXCLUSIVE on both
        // (then it waits for every transaction); FINALIZE completes an interrupted one.
        AlterTableOperation::DetachPartitionOf { partition, mode } => {
            let (parent, child) = match mode {
                Some(DetachPartitionMode::Concurrently) => {
                    (LockMode::ShareUpdateExclusive, LockMode::ShareUpdateExclusive)
                }
                Some(DetachPartitionMode::Finalize) => (LockMode::ShareUpdateExclusive, LockMode::AccessExclusive),
                None => (LockMode::AccessExclusive, LockMode::AccessExclusive),
            };
            (
                OpKind::AlterTable { table: table.clone(), what: "DETACH PARTITION".into(), action },
                vec![lock(table, parent, false), lock(&Name::new(&partition.to_string()), child, false)],
            )
        }
        _ => {
            let what = words.join(" ").to_uppercase();
            other(&what, LockMode::AccessExclusive, false)
        }
    }
}

/// The constraint an `ADD [CONSTRAINT n] …` action adds (`text` at draft offset `at`).
/// `NOT ENFORCED` (PostgreSQL 18): the constraint checks no row, and PostgreSQL refuses to
/// VALIDATE it; lowered as NOT VALID, so nothing splits it into NOT VALID and a later VALIDATE.
fn not_enforced(c: &TableConstraint) -> bool {
    match c {
        TableConstraint::ForeignKey(fk) => fk.characteristics.is_some_and(|ch| ch.enforced == Some(false)),
        TableConstraint::Check(ck) => ck.enforced == Some(false),
        _ => false,
    }
}

/// The name of `ADD CONSTRAINT name …` (or `VALIDATE CONSTRAINT name`) as the draft wrote it, when a placeholder stands in (part
/// of) it (`fk_${x}`, `:fk`): sqlparser read the mask's stand-in (`fk__p__`), a constraint the
/// migration tool never makes, where the draft's bytes are substituted in a `VALIDATE` as in the
/// `ADD`. `None` for any other name, which sqlparser spells as the draft does.
fn constraint_name_with_placeholder(text: &str, toks: &[Token]) -> Option<String> {
    let k = toks.iter().take(2).position(|t| t.is_word("constraint"))?;
    let start = toks.get(k + 1)?.span.start;
    let name = &text[start..start + forms::name_len(&text[start..])?];
    crate::front::mask::has_placeholder(name).then(|| name.to_string())
}

fn constraint_kind(c: &TableConstraint, toks: &[Token], at: usize) -> (Option<String>, ConstraintKind) {
    let key = |columns: &[sqlparser::ast::IndexColumn], include: &[sqlparser::ast::Ident]| {
        let columns = super::lower_table::index_columns(columns);
        let include: Vec<String> = include.iter().map(super::lower_expr::ident_key).collect();
        let (clauses, refused) = match super::lower_key::read(toks, at) {
            // A recipe copies the lists as written: only when their words are the columns
            // sqlparser read.
            Ok(k)
                if k.names.iter().map(|n| Some(n.as_str())).eq(columns.iter().map(|c| c.as_deref()))
                    && k.include == include =>
            {
                (Some(Box::new(k.clauses)), None)
            }
            Ok(_) => (None, None),
            Err(refused) => (None, refused),
        };
        Key { columns, include, using_index: None, clauses, refused, without_overlaps: false }
    };
    match c {
        TableConstraint::ForeignKey(fk) => (
            fk.name.as_ref().map(|n| n.to_string()),
            ConstraintKind::ForeignKey {
                references: Name::new(&fk.foreign_table.to_string()),
                columns: fk.columns.iter().map(|c| c.to_string()).collect(),
                period: false,
            },
        ),
        TableConstraint::Check(ck) => (
            ck.name.as_ref().map(|n| n.to_string()),
            ConstraintKind::Check {
                columns: expr_columns(&ck.expr.to_string()),
                expr: normalize_expr(&ck.expr.to_string()),
            },
        ),
        TableConstraint::Unique(u) => {
            (u.name.as_ref().map(|n| n.to_string()), ConstraintKind::Unique(key(&u.columns, &u.include)))
        }
        TableConstraint::PrimaryKey(p) => {
            (p.name.as_ref().map(|n| n.to_string()), ConstraintKind::PrimaryKey(key(&p.columns, &p.include)))
        }
        TableConstraint::UniqueUsingIndex(u) => {
            let index = Some(Name::new(&u.index_name.to_string()));
            (
                u.name.as_ref().map(|n| n.to_string()),
                ConstraintKind::Unique(Key { using_index: index, ..Key::default() }),
            )
        }
        TableConstraint::PrimaryKeyUsingIndex(u) => {
            let index = Some(Name::new(&u.index_name.to_string()));
            let kind = ConstraintKind::PrimaryKey(Key { using_index: index, ..Key::default() });
            (u.name.as_ref().map(|n| n.to_string()), kind)
        }
        TableConstraint::Exclude(e) => (
            e.name.as_ref().map(|n| n.to_string()),
            ConstraintKind::Exclude { elements: super::lower_table::exclusion_element_names(e) },
        ),
        _ => (None, ConstraintKind::Exclude { elements: None }),
    }
}

/// The constraint of `ADD [CONSTRAINT name] <definition> [NOT VALID]`, in draft bytes.
fn definition(action: &str, toks: &[Token], at: usize) -> Range<usize> {
    let mut first = 1;
    if toks.get(first).is_some_and(|t| t.is_word("constraint")) {
        first += 2;
    }
    let mut last = toks.len().saturating_sub(1);
    if last >= 2 && toks[last].is_word("valid") && toks[last - 1].is_word("not") {
        last -= 2;
    }
    match (toks.get(first), toks.get(last)) {
        (Some(f), Some(l)) if first <= last => at + f.span.start..at + l.span.end,
        _ => at..at + action.len(),
    }
}

/// An expression as a comparable string: lower case, single blanks, no outer parentheses.
fn normalize_expr(expr: &str) -> String {
    let mut e = expr.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    while e.starts_with('(') && e.ends_with(')') && balanced(&e[1..e.len() - 1]) {
        e = e[1..e.len() - 1].trim().to_string();
    }
    e
}

fn balanced(s: &str) -> bool {
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

/// The distinct column names an expression mentions: words that are not keywords, function names
/// or type names after `::`.
fn expr_columns(expr: &str) -> Vec<String> {
    const KEYWORDS: &[&str] = &[
        "and",
        "or",
        "not",
        "is",
        "null",
        "in",
        "between",
        "like",
        "ilike",
        "similar",
        "to",
        "escape",
        "true",
        "false",
        "case",
        "when",
        "then",
        "else",
        "end",
        "any",
        "all",
        "some",
        "array",
        "distinct",
        "from",
        "interval",
        "cast",
        "as",
        "unknown",
        "collate",
        "current_date",
        "current_timestamp",
        "localtimestamp",
        "current_user",
        "session_user",
        "at",
        "time",
        "zone",
    ];
    let toks = lex(expr);
    let mut cols: Vec<String> = Vec::new();
    for (k, t) in toks.iter().enumerate() {
        let name = match &t.tok {
            Tok::Word(w) if KEYWORDS.iter().any(|k| w.eq_ignore_ascii_case(k)) => continue,
            _ => match t.ident() {
                Some(name) => name,
                None => continue,
            },
        };
        let called = toks.get(k + 1).is_some_and(|n| n.is_punct('('));
        let after_cast = k >= 2 && toks[k - 1].is_punct(':') && toks[k - 2].is_punct(':');
        let qualified = toks.get(k + 1).is_some_and(|n| n.is_punct('.'));
        if !called && !after_cast && !qualified && !cols.contains(&name) {
            cols.push(name);
        }
    }
    cols
}

/// The column name as the draft wrote it: the first word after `ADD [COLUMN] [IF NOT EXISTS]`.
fn column_text(action: &str, toks: &[Token]) -> String {
    let mut i = 1;
    for skip in ["column", "if", "not", "exists"] {
        if toks.get(i).is_some_and(|t| t.is_word(skip)) {
            i += 1;
        }
    }
    toks.get(i).map(|t| action[t.span.clone()].to_string()).unwrap_or_default()
}

/// `DEFAULT expr` and `NOT NULL` at parenthesis depth 0 in an `ADD COLUMN` action. `volatile`:
/// the default calls a volatile function (from the AST), so PostgreSQL evaluates it per row, and
/// whether one of them is `nextval` ([`InlineDefault::numbers_rows`]).
fn inline_default_and_not_null(
    action: &str,
    toks: &[Token],
    at: usize,
    (volatile, numbers_rows, null): (bool, bool, bool),
) -> (Option<InlineDefault>, Option<Range<usize>>) {
    const CLAUSES: &[&str] =
        &["not", "null", "constraint", "check", "references", "unique", "primary", "generated", "collate", "default"];
    let top = {
        let mut depth = 0i32;
        let mut top = Vec::new();
        for (k, t) in toks.iter().enumerate() {
            match t.tok {
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') => depth -= 1,
                _ if depth == 0 => top.push(k),
                _ => {}
            }
        }
        top
    };
    let not_null = top
        .iter()
        .find(|&&k| toks[k].is_word("not") && toks.get(k + 1).is_some_and(|t| t.is_word("null")))
        .map(|&k| at + toks[k].span.start..at + toks[k + 1].span.end);
    let default = top.iter().position(|&k| toks[k].is_word("default")).and_then(|p| {
        let d = top[p];
        let first = toks.get(d + 1)?;
        // The expression ends before the next clause keyword at depth 0 (or at the end).
        let next = top[p + 1..].iter().copied().find(|&k| CLAUSES.iter().any(|c| toks[k].is_word(c)) && k > d + 1);
        let end_tok = next.map_or(toks.len() - 1, |n| n - 1);
        let expr = action[first.span.start..toks[end_tok].span.end].to_string();
        Some(InlineDefault {
            clause: at + toks[d].span.start..at + toks[end_tok].span.end,
            expr,
            volatile,
            numbers_rows,
            null,
        })
    });
    (default, not_null)
}

/// Find `[CONSTRAINT name] CHECK (expr) [NO INHERIT]` at parenthesis depth 0 in an `ADD COLUMN`
/// action.
fn inline_check(action: &str, toks: &[Token], at: usize) -> Option<InlineCheck> {
    let c = top_level_word(toks, "check")?;
    let (start, constraint_name) = constraint_prefix(action, toks, c);
    let (close, mut end) = skip_parens(toks, c + 1)?;
    if toks.get(close + 1).is_some_and(|t| t.is_word("no")) && toks.get(close + 2).is_some_and(|t| t.is_word("inherit"))
    {
        end = toks[close + 2].span.end;
    }
    Some(InlineCheck {
        clause: at + toks[start].span.start..at + end,
        body: action[toks[c + 1].span.start..end].to_string(),
        constraint_name,
    })
}

/// Find `[CONSTRAINT name] UNIQUE` at parenthesis depth 0 in an `ADD COLUMN` action.
fn inline_unique(action: &str, toks: &[Token], at: usize) -> Option<InlineUnique> {
    let u = top_level_word(toks, "unique")?;
    let (start, constraint_name) = constraint_prefix(action, toks, u);
    let is = |k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_word(w));
    // The word ends the key when the action ends or another of the column's clauses follows.
    const CLAUSES: &[&str] = &["constraint", "check", "references", "generated", "collate", "default", "null"];
    let ends = u + 1 == toks.len() || CLAUSES.iter().any(|w| is(u + 1, w)) || (is(u + 1, "not") && is(u + 2, "null"));
    let second_key = toks[u + 1..].iter().any(|t| t.is_word("unique") || t.is_word("primary"));
    Some(InlineUnique {
        clause: at + toks[start].span.start..at + toks[u].span.end,
        constraint_name,
        plain: ends && !second_key,
    })
}

/// The index of `word` at parenthesis depth 0.
fn top_level_word(toks: &[Token], word: &str) -> Option<usize> {
    let mut depth = 0i32;
    for (i, t) in toks.iter().enumerate() {
        match &t.tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            _ if depth == 0 && t.is_word(word) => return Some(i),
            _ => {}
        }
    }
    None
}

/// `CONSTRAINT name` right before token `at`: where the clause starts, and the name.
fn constraint_prefix(text: &str, toks: &[Token], at: usize) -> (usize, Option<String>) {
    if at >= 2 && toks[at - 2].is_word("constraint") {
        (at - 2, Some(text[toks[at - 1].span.clone()].to_string()))
    } else {
        (at, None)
    }
}

/// Find `[CONSTRAINT name] REFERENCES table [(cols)] [MATCH …] [ON DELETE|UPDATE …] [[NOT] DEFERRABLE]
/// [INITIALLY …]` at parenthesis depth 0 in an `ADD COLUMN` action.
fn inline_reference(action: &str, toks: &[Token], at: usize) -> Option<InlineReference> {
    let r = top_level_word(toks, "references")?;
    let (start, constraint_name) = constraint_prefix(action, toks, r);
    // The referenced table: a dotted name, placeholders included (the forms grammar knows them).
    let name_start = toks.get(r + 1)?.span.start;
    let name_end = name_start + forms::name_len(&action[name_start..])?;
    let mut i = toks.iter().position(|t| t.span.start >= name_end).unwrap_or(toks.len());
    let mut end = name_end;
    if toks.get(i).is_some_and(|t| t.is_punct('(')) {
        let (close, e) = skip_parens(toks, i)?;
        end = e;
        i = close + 1;
    }
    loop {
        let word = |k: usize| toks.get(k).map(|t| &t.tok);
        let is = |k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_word(w));
        let consumed = if is(i, "match") {
            2
        } else if is(i, "on") && (is(i + 1, "delete") || is(i + 1, "update")) {
            if is(i + 2, "no") {
                4
            } else if is(i + 2, "set") {
                let mut n = 4;
                if toks.get(i + 4).is_some_and(|t| t.is_punct('(')) {
                    let (close, _) = skip_parens(toks, i + 4)?;
                    n = close + 1 - i;
                }
                n
            } else {
                3
            }
        } else if is(i, "deferrable") {
            1
        } else if (is(i, "not") && is(i + 1, "deferrable")) || is(i, "initially") {
            2
        } else {
            0
        };
        if consumed == 0 || word(i + consumed - 1).is_none() {
            break;
        }
        end = toks[i + consumed - 1].span.end;
        i += consumed;
    }
    Some(InlineReference {
        clause: at + toks[start].span.start..at + end,
        target: action[toks[r + 1].span.start..end].to_string(),
        references: Name::new(&action[name_start..name_end]),
        constraint_name,
    })
}

#[cfg(test)]
mod tests {
    use super::super::by_hand::samples::{every_keyword_in, every_type_in, same_tree};
    use super::*;
    use proptest::prelude::*;

    /// The soundness of [`operation_by_hand`]: where it reads a tree, sqlparser reads the same one.
    fn agrees(sql: &str) -> Result<bool, String> {
        same_tree(sql, operation_by_hand(sql).map(|o| vec![o]), |s| match s {
            Statement::AlterTable(at) => Some(at.operations),
            _ => None,
        })
    }

    /// Each form, with `{}` where a name goes.
    const FORMS: &[&str] = &[
        "ALTER TABLE {} RENAME COLUMN a TO b",
        "ALTER TABLE IF EXISTS {} VALIDATE CONSTRAINT c",
        "ALTER TABLE ONLY {} DROP COLUMN a",
        "ALTER TABLE IF EXISTS ONLY {}.t ALTER COLUMN a SET NOT NULL",
        "ALTER TABLE d.{}.t DROP COLUMN a CASCADE",
        "ALTER TABLE t RENAME COLUMN {} TO b",
        "ALTER TABLE t RENAME COLUMN a TO {}",
        "ALTER TABLE t RENAME {} TO b",
        "ALTER TABLE t DROP COLUMN {}",
        "ALTER TABLE t DROP COLUMN IF EXISTS {} RESTRICT",
        "ALTER TABLE t VALIDATE CONSTRAINT {}",
        "ALTER TABLE t ALTER COLUMN {} SET NOT NULL",
        "ALTER TABLE t ALTER {} SET NOT NULL",
        "ALTER TABLE t ALTER {} DROP NOT NULL",
        "ALTER TABLE t ALTER COLUMN {} DROP DEFAULT",
        "ALTER TABLE t ADD COLUMN {} int NOT NULL",
        "ALTER TABLE t ADD COLUMN IF NOT EXISTS {} text DEFAULT 'x'",
        "ALTER TABLE t ADD COLUMN c {}",
        "ALTER TABLE t ADD COLUMN c {}.x DEFAULT 1",
        "ALTER TABLE t ADD COLUMN c int DEFAULT {}",
        "ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT {}()",
        "ALTER TABLE t ALTER COLUMN {} TYPE bigint",
        "ALTER TABLE t ALTER c TYPE {}",
        "ALTER TABLE t ALTER c SET DATA TYPE {}(3)",
        "ALTER TABLE t ADD CONSTRAINT {} FOREIGN KEY (a) REFERENCES p",
        "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY ({}, b) REFERENCES p (a, b) NOT VALID",
        "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a, {}) REFERENCES p (a, b)",
        "ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES {} ON DELETE CASCADE",
        "ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES {}.p (id) ON UPDATE SET NULL ON DELETE NO ACTION",
        "ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES s.{} (id) ON DELETE SET DEFAULT",
        "ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES p ({}) ON DELETE RESTRICT NOT VALID",
        "ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES p (id, {})",
        "ALTER TABLE t ADD CONSTRAINT {} CHECK (a > 0)",
        "ALTER TABLE t ADD CHECK ({} >= 0) NOT VALID",
        "ALTER TABLE t ADD CHECK (a.{} <> 'x')",
        "ALTER TABLE t ADD CHECK ({}(a) = 1)",
        "ALTER TABLE t ADD CONSTRAINT {} UNIQUE (a)",
        "ALTER TABLE t ADD UNIQUE ({}, b)",
        "ALTER TABLE t ADD CONSTRAINT u UNIQUE (a, {})",
    ];

    #[test]
    fn every_keyword_of_sqlparser_as_every_name_reads_as_sqlparser_reads_it() {
        every_keyword_in(FORMS, agrees);
    }

    #[test]
    fn every_type_and_what_follows_it_reads_as_sqlparser_reads_it() {
        every_type_in(
            &[
                "ALTER TABLE t ADD COLUMN c {}",
                "ALTER TABLE t ADD COLUMN IF NOT EXISTS c {}",
                "ALTER TABLE t ALTER COLUMN c TYPE {}",
                "ALTER TABLE t ALTER c SET DATA TYPE {}",
            ],
            agrees,
        );
    }

    #[test]
    fn the_forms_of_a_big_draft_are_read_by_hand() {
        for sql in [
            "ALTER TABLE public.app_table_414 RENAME COLUMN column_7_00851 TO column_7_00851_renamed",
            "ALTER TABLE public.app_table_108 DROP COLUMN IF EXISTS column_24_65435",
            "alter table \"Odd \"\"Name\"\"\" validate constraint fk_1",
            "ALTER TABLE app.t ALTER COLUMN \"C\" SET NOT NULL",
            "ALTER TABLE public.app_table_125 ADD CONSTRAINT fk_1 FOREIGN KEY (column_1_18289) REFERENCES \
             public.app_table_114 (id) ON DELETE CASCADE",
            "ALTER TABLE o ADD CONSTRAINT f FOREIGN KEY (a, b) REFERENCES p (x, y) ON UPDATE CASCADE NOT VALID",
            "ALTER TABLE public.app_table_174 ADD COLUMN column_8_20379 timestamptz NOT NULL DEFAULT now()",
            "ALTER TABLE public.app_table_83 ADD COLUMN column_17_46566 varchar(255)",
            "ALTER TABLE public.app_table_52 ALTER COLUMN column_9_49797 TYPE integer",
            "ALTER TABLE public.app_table_216 ADD CONSTRAINT chk_3 CHECK (column_3_03905 >= 0)",
            "ALTER TABLE public.app_table_373 ADD CONSTRAINT uq_11 UNIQUE (column_11_70284)",
        ] {
            assert_eq!(agrees(sql), Ok(true), "{sql}");
        }
        // Left to sqlparser: a comment, a placeholder, a second action, an unclosed name.
        for sql in [
            "ALTER TABLE t /* x */ DROP COLUMN a",
            "ALTER TABLE :t DROP COLUMN a",
            "ALTER TABLE t DROP COLUMN a, DROP COLUMN b",
            "ALTER TABLE t DROP COLUMN \"a",
            "ALTER TABLE t VALIDATE CONSTRAINT \"\"",
            "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES p MATCH FULL",
            "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES p DEFERRABLE",
            "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY () REFERENCES p",
            // No list at all (found by the proptest below: it read an empty one).
            "ALTER TABLE t ADD UNIQUE )",
            "ALTER TABLE t ADD FOREIGN KEY ) REFERENCES p",
        ] {
            assert_eq!(operation_by_hand(sql), None, "{sql}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        /// Statements near the forms (names of every kind, blanks, case, words added or left
        /// out): wherever one is read by hand, sqlparser reads the same tree.
        #[test]
        fn a_tree_read_by_hand_is_the_tree_sqlparser_reads(
            parts in proptest::collection::vec(prop_oneof![
                Just("ALTER"), Just("alter"), Just("TABLE"), Just("IF"), Just("EXISTS"), Just("ONLY"),
                Just("RENAME"), Just("COLUMN"), Just("TO"), Just("DROP"), Just("VALIDATE"), Just("CONSTRAINT"),
                Just("SET"), Just("NOT"), Just("NULL"), Just("DEFAULT"), Just("CASCADE"), Just("RESTRICT"),
                Just("ADD"), Just("FOREIGN KEY"), Just("REFERENCES"), Just("("), Just(")"), Just("ON"),
                Just("DELETE"), Just("UPDATE"), Just("NO ACTION"), Just("VALID"), Just("MATCH"),
                Just("ADD COLUMN"), Just("TYPE"), Just("DATA"), Just("int"), Just("varchar(3)"), Just("now()"),
                Just("1"), Just("'x'"), Just("::"), Just("+"), Just("USING"), Just("COLLATE"), Just("["), Just("]"),
                Just("CHECK"), Just("UNIQUE"), Just(">="), Just("<>"), Just("!="), Just("||"), Just("IN"), Just("IS"),
                Just("AND"), Just("NO INHERIT"), Just("ENFORCED"), Just("NULLS"), Just("DISTINCT"), Just("INCLUDE"),
                Just("t"), Just("public"), Just("user"), Just("_x1"), Just("\"A b\""), Just("\"q\"\"\""),
                Just("\"\""), Just("."), Just(","), Just("é"), Just("$1"), Just("x$"), Just("1a"),
                Just("'s'"), Just("--c\n"), Just("/**/"), Just(";"), Just("\u{a0}"), Just("\x0c"),
            ], 3..12),
            blanks in proptest::collection::vec(prop_oneof![Just(" "), Just("\n"), Just("\t"), Just("")], 12),
        ) {
            let mut sql = String::from("ALTER TABLE ");
            for (p, b) in parts.iter().zip(&blanks) {
                sql.push_str(p);
                sql.push_str(b);
            }
            prop_assert!(agrees(&sql).is_ok(), "{}", agrees(&sql).unwrap_err());
        }
    }
}
