//! Lowering: one statement (its text, and sqlparser's AST when it parsed) → IR ops.
//!
//! sqlparser tells *what* a statement means; `front::forms` (a pest grammar) tells *where* its
//! parts are in the draft, and also covers the lock-relevant forms sqlparser cannot parse.

use super::lock::{LockMode, LockUse};
use super::name::Name;
use super::op::{ConstraintKind, InlineCheck, InlineDefault, InlineReference, Op, OpKind, SavepointAction};
use crate::front::forms;
use crate::front::parse::{parse, Unparsed};
use crate::front::tokens::{head_words, lex, Tok, Token};
use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnOption, DetachPartitionMode, ObjectType, Statement,
    TableConstraint,
};
use std::ops::Range;

/// One statement, lowered.
#[derive(Debug, Clone)]
pub struct Lowered {
    pub ops: Vec<Op>,
    /// sqlparser gave up on an expression nested too deep: pgsafe does not know what the
    /// statement (or one of its actions) does beyond its first words.
    pub too_deep: bool,
}

/// Lower the statement whose body is `src[body]`. Never fails: what is not understood is `Opaque`.
pub fn lower_statement(src: &str, body: Range<usize>) -> Vec<Op> {
    lower(src, body).ops
}

/// [`lower_statement`], also saying whether the parser gave up on depth.
pub fn lower(src: &str, body: Range<usize>) -> Lowered {
    let text = &src[body.clone()];
    // A goose `StatementBegin … StatementEnd` block can hold several statements: pgsafe keeps it
    // whole and unrewritten (the tool runs it as one unit), and asks a reviewer to look.
    if text.contains(';') && lex(text).iter().any(|t| t.is_punct(';')) {
        let risky = text.split(';').any(|s| risky_head(&head_words(s, 2)));
        let ops = vec![Op { span: body.clone(), kind: OpKind::Opaque { risky }, locks: Vec::new() }];
        return Lowered { ops, too_deep: false };
    }
    let parsed = parse(text);
    let mut too_deep = parsed == Err(Unparsed::TooDeep);
    let ops = lower_parsed(src, body, parsed.ok(), &mut too_deep);
    Lowered { ops, too_deep }
}

fn lower_parsed(src: &str, body: Range<usize>, ast: Option<Statement>, too_deep: &mut bool) -> Vec<Op> {
    let text = &src[body.clone()];
    let base = body.start;
    let words = head_words(text, 4);
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    let op = |kind: OpKind, locks: Vec<LockUse>| Op { span: body.clone(), kind, locks };

    match (w(0), w(1)) {
        ("create", "index") | ("create", "unique") => {
            if let Some(f) = forms::create_index(text) {
                let table = Name::new(&f.table);
                let mode = if f.concurrently { LockMode::ShareUpdateExclusive } else { LockMode::Share };
                return vec![op(
                    OpKind::CreateIndex {
                        name: f.name.as_deref().map(Name::new),
                        table: table.clone(),
                        concurrently: f.concurrently,
                        only: f.only,
                        if_not_exists: f.if_not_exists,
                        insert_at: base + f.after_index_kw,
                    },
                    vec![lock(&table, mode, true)],
                )];
            }
        }
        ("drop", "index") => {
            if let Some(f) = forms::drop_index(text) {
                return vec![op(
                    OpKind::DropIndex {
                        names: f.names.iter().map(|n| Name::new(n)).collect(),
                        concurrently: f.concurrently,
                        cascade: f.cascade,
                        insert_at: base + f.after_index_kw,
                    },
                    // The lock is on the index's table, which the statement does not name: it is
                    // reported against the index.
                    f.names
                        .iter()
                        .map(|n| {
                            let mode =
                                if f.concurrently { LockMode::ShareUpdateExclusive } else { LockMode::AccessExclusive };
                            lock(&Name::new(n), mode, false)
                        })
                        .collect(),
                )];
            }
        }
        ("reindex", _) => {
            if let Some(f) = forms::reindex(text) {
                let name = Name::new(&f.name);
                let mode = if f.concurrently { LockMode::ShareUpdateExclusive } else { LockMode::AccessExclusive };
                let locks = match f.target.as_str() {
                    "INDEX" | "TABLE" => vec![lock(&name, mode, true)],
                    _ => Vec::new(),
                };
                return vec![op(
                    OpKind::Reindex {
                        target: f.target,
                        name,
                        concurrently: f.concurrently,
                        insert_at: base + f.after_target_kw,
                    },
                    locks,
                )];
            }
        }
        ("cluster", _) => {
            // `CLUSTER [VERBOSE|(…)] [table [USING index]]`, or the old `CLUSTER index ON table`.
            // Without a table it reclusters every clustered table and refuses a transaction block.
            return vec![match cluster_table(text) {
                Some(t) => {
                    op(OpKind::Other { what: "CLUSTER".into() }, vec![lock(&t, LockMode::AccessExclusive, true)])
                }
                None => op(OpKind::NoTransaction { what: "CLUSTER".into() }, Vec::new()),
            }];
        }
        ("alter", "table") => {
            if let Some(ops) = lower_alter_table(src, base, text, ast.as_ref(), too_deep) {
                return ops;
            }
        }
        ("begin", _) | ("start", "transaction") => {
            // `BEGIN ATOMIC` never starts a statement; a plain BEGIN is transaction control.
            return vec![op(OpKind::Begin, Vec::new())];
        }
        ("savepoint", _) | ("release", _) | ("rollback", _) => {
            if let Some(kind) = lower_savepoint(text) {
                return vec![op(kind, Vec::new())];
            }
            if w(0) == "rollback" {
                return vec![op(OpKind::Commit { rollback: true }, Vec::new())];
            }
        }
        ("commit", _) | ("end", _) => return vec![op(OpKind::Commit { rollback: false }, Vec::new())],
        ("abort", _) => return vec![op(OpKind::Commit { rollback: true }, Vec::new())],
        ("set", _) | ("reset", _) => {
            if let Some(kind) = lower_set(text) {
                return vec![op(kind, Vec::new())];
            }
        }
        _ => {}
    }

    if let Some(what) = no_transaction(&words) {
        return vec![op(OpKind::NoTransaction { what }, Vec::new())];
    }

    let Some(ast) = ast else {
        // An UPDATE or DELETE too deep to parse still writes its table.
        let locks = match w(0) {
            "update" | "delete" | "insert" => dml_table(text).map(|t| vec![lock(&t, LockMode::RowExclusive, true)]),
            _ => None,
        };
        return vec![op(OpKind::Opaque { risky: risky_head(&words) }, locks.unwrap_or_default())];
    };
    if let Some(kind) = super::lower_dml::lower(src, body.clone(), &ast) {
        let locks = match &kind {
            OpKind::Update(d) | OpKind::Delete(d) => vec![lock(&d.table, LockMode::RowExclusive, true)],
            _ => Vec::new(),
        };
        return vec![op(kind, locks)];
    }
    let (kind, locks) = lower_other(&ast, text);
    vec![op(kind, locks)]
}

fn lock(table: &Name, mode: LockMode, scans: bool) -> LockUse {
    LockUse { table: table.clone(), mode, scans }
}

/// `ALTER TABLE`: one op per action, each spanning that action's own text.
fn lower_alter_table(
    src: &str,
    base: usize,
    text: &str,
    ast: Option<&Statement>,
    too_deep: &mut bool,
) -> Option<Vec<Op>> {
    let form = forms::alter_table(text)?;
    let table = Name::new(&form.table);
    let ast_ops = match ast {
        Some(Statement::AlterTable(at)) if at.operations.len() == form.actions.len() => Some(at.operations.clone()),
        _ => None,
    };
    let mut ops = Vec::with_capacity(form.actions.len());
    for (i, range) in form.actions.iter().enumerate() {
        let span = base + range.start..base + range.end;
        let action_text = &src[span.clone()];
        // An action sqlparser could not parse in context gets a second chance on its own.
        let action_ast = match &ast_ops {
            Some(list) => Some(list[i].clone()),
            None => match parse(&format!("ALTER TABLE _t {action_text}")) {
                Ok(Statement::AlterTable(mut at)) if at.operations.len() == 1 => at.operations.pop(),
                Err(Unparsed::TooDeep) => {
                    *too_deep = true;
                    None
                }
                _ => None,
            },
        };
        let (kind, locks) = lower_action(&table, action_text, span.start, action_ast.as_ref());
        ops.push(Op { span, kind, locks });
    }
    Some(ops)
}

fn lower_action(table: &Name, text: &str, at: usize, ast: Option<&AlterTableOperation>) -> (OpKind, Vec<LockUse>) {
    let words = head_words(text, 4);
    let other = |what: &str, mode: LockMode, scans: bool| {
        (OpKind::AlterTable { table: table.clone(), what: what.to_string() }, vec![lock(table, mode, scans)])
    };
    let Some(ast) = ast else {
        let what = words.join(" ").to_uppercase();
        return other(&what, LockMode::AccessExclusive, false);
    };
    match ast {
        AlterTableOperation::AddConstraint { constraint, not_valid } => {
            let (name, mut kind) = constraint_kind(constraint);
            // The referenced table as the draft spells it (placeholders included), not as masked.
            if let (ConstraintKind::ForeignKey { references, .. }, Some(r)) = (&mut kind, inline_reference(text, at)) {
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
            (OpKind::AddConstraint { table: table.clone(), name, kind, not_valid: *not_valid }, locks)
        }
        AlterTableOperation::AddColumn { column_def, .. } => {
            let mut mode_scans = false;
            let mut volatile_default = false;
            for o in &column_def.options {
                match &o.option {
                    ColumnOption::Default(e) => {
                        let loc = super::lower_expr::Locations::new(text, at);
                        let e = super::lower_expr::lower(e, at..at + text.len(), &loc);
                        volatile_default = e.volatility() == super::expr::Volatility::Volatile;
                        mode_scans |= volatile_default;
                    }
                    ColumnOption::Generated { .. } => mode_scans = true,
                    _ => {}
                }
            }
            // An inline CHECK is verified against every row (measured on PostgreSQL 15).
            let check = inline_check(text, at);
            mode_scans |= check.is_some();
            let data_type = column_def.data_type.to_string().to_lowercase();
            mode_scans |= data_type.contains("serial");
            let reference = inline_reference(text, at);
            let mut locks = vec![lock(table, LockMode::AccessExclusive, mode_scans)];
            if let Some(r) = &reference {
                locks.push(lock(&r.references, LockMode::ShareRowExclusive, false));
            }
            let column = Name::new(&column_text(text)).key;
            let first_clause = [reference.as_ref().map(|r| r.clause.start), check.as_ref().map(|c| c.clause.start)]
                .into_iter()
                .flatten()
                .min();
            let def_end = match first_clause {
                Some(c) => lex(text).iter().map(|t| at + t.span.end).take_while(|&e| e <= c).last().unwrap_or(c),
                None => at + text.len(),
            };
            let (default, not_null) = inline_default_and_not_null(text, at, volatile_default);
            (OpKind::AddColumn { table: table.clone(), column, reference, check, def_end, default, not_null }, locks)
        }
        AlterTableOperation::ValidateConstraint { name } => (
            OpKind::ValidateConstraint { table: table.clone(), name: name.to_string() },
            vec![lock(table, LockMode::ShareUpdateExclusive, true)],
        ),
        AlterTableOperation::AlterColumn { op, column_name } => match op {
            AlterColumnOperation::SetNotNull => (
                OpKind::SetNotNull { table: table.clone(), column: Name::new(&column_name.to_string()).key },
                vec![lock(table, LockMode::AccessExclusive, true)],
            ),
            AlterColumnOperation::SetDataType { .. } => other("ALTER COLUMN TYPE", LockMode::AccessExclusive, true),
            AlterColumnOperation::SetDefault { .. } => other("SET DEFAULT", LockMode::AccessExclusive, false),
            AlterColumnOperation::DropDefault => other("DROP DEFAULT", LockMode::AccessExclusive, false),
            AlterColumnOperation::DropNotNull => other("DROP NOT NULL", LockMode::AccessExclusive, false),
            _ => other("ALTER COLUMN", LockMode::AccessExclusive, false),
        },
        AlterTableOperation::EnableTrigger { .. }
        | AlterTableOperation::DisableTrigger { .. }
        | AlterTableOperation::EnableAlwaysTrigger { .. }
        | AlterTableOperation::EnableReplicaTrigger { .. } => {
            other("ENABLE/DISABLE TRIGGER", LockMode::ShareRowExclusive, false)
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
            OpKind::AlterTable { table: table.clone(), what: "ATTACH PARTITION".into() },
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
                OpKind::AlterTable { table: table.clone(), what: "DETACH PARTITION".into() },
                vec![lock(table, parent, false), lock(&Name::new(&partition.to_string()), child, false)],
            )
        }
        _ => {
            let what = words.join(" ").to_uppercase();
            other(&what, LockMode::AccessExclusive, false)
        }
    }
}

fn constraint_kind(c: &TableConstraint) -> (Option<String>, ConstraintKind) {
    match c {
        TableConstraint::ForeignKey(fk) => (
            fk.name.as_ref().map(|n| n.to_string()),
            ConstraintKind::ForeignKey {
                references: Name::new(&fk.foreign_table.to_string()),
                columns: fk.columns.iter().map(|c| c.to_string()).collect(),
            },
        ),
        TableConstraint::Check(ck) => (
            ck.name.as_ref().map(|n| n.to_string()),
            ConstraintKind::Check {
                columns: expr_columns(&ck.expr.to_string()),
                expr: normalize_expr(&ck.expr.to_string()),
            },
        ),
        TableConstraint::Unique(u) => (u.name.as_ref().map(|n| n.to_string()), ConstraintKind::Unique),
        TableConstraint::PrimaryKey(p) => (p.name.as_ref().map(|n| n.to_string()), ConstraintKind::PrimaryKey),
        TableConstraint::UniqueUsingIndex(u) => (u.name.as_ref().map(|n| n.to_string()), ConstraintKind::Unique),
        TableConstraint::PrimaryKeyUsingIndex(u) => {
            (u.name.as_ref().map(|n| n.to_string()), ConstraintKind::PrimaryKey)
        }
        _ => (None, ConstraintKind::Exclude),
    }
}

/// An expression as a comparable string: lower case, single blanks, no outer parentheses.
pub fn normalize_expr(expr: &str) -> String {
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
            Tok::Word(w) if !KEYWORDS.contains(&w.as_str()) => w.clone(),
            Tok::Quoted(q) => q.clone(),
            _ => continue,
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
fn column_text(action: &str) -> String {
    let toks = lex(action);
    let mut i = 1;
    for skip in ["column", "if", "not", "exists"] {
        if toks.get(i).is_some_and(|t| t.is_word(skip)) {
            i += 1;
        }
    }
    toks.get(i).map(|t| action[t.span.clone()].to_string()).unwrap_or_default()
}

/// `DEFAULT expr` and `NOT NULL` at parenthesis depth 0 in an `ADD COLUMN` action. `volatile`:
/// the default calls a volatile function (from the AST), so PostgreSQL evaluates it per row.
fn inline_default_and_not_null(
    action: &str,
    at: usize,
    volatile: bool,
) -> (Option<InlineDefault>, Option<Range<usize>>) {
    const CLAUSES: &[&str] =
        &["not", "null", "constraint", "check", "references", "unique", "primary", "generated", "collate", "default"];
    let toks = lex(action);
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
        Some(InlineDefault { clause: at + toks[d].span.start..at + toks[end_tok].span.end, expr, volatile })
    });
    (default, not_null)
}

/// Find `[CONSTRAINT name] CHECK (expr) [NO INHERIT]` at parenthesis depth 0 in an `ADD COLUMN`
/// action.
fn inline_check(action: &str, at: usize) -> Option<InlineCheck> {
    let toks = lex(action);
    let c = top_level_word(&toks, "check")?;
    let (start, constraint_name) = constraint_prefix(action, &toks, c);
    let (close, mut end) = skip_parens(&toks, c + 1)?;
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
fn inline_reference(action: &str, at: usize) -> Option<InlineReference> {
    let toks = lex(action);
    let r = top_level_word(&toks, "references")?;
    let (start, constraint_name) = constraint_prefix(action, &toks, r);
    // The referenced table: a dotted name.
    // The referenced table: a dotted name, placeholders included (the forms grammar knows them).
    let name_start = toks.get(r + 1)?.span.start;
    let name_end = name_start + forms::name_len(&action[name_start..])?;
    let mut i = toks.iter().position(|t| t.span.start >= name_end).unwrap_or(toks.len());
    let mut end = name_end;
    if toks.get(i).is_some_and(|t| t.is_punct('(')) {
        let (close, e) = skip_parens(&toks, i)?;
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
                    let (close, _) = skip_parens(&toks, i + 4)?;
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

/// From an opening parenthesis at `open`, the index of its closing one and that token's end.
fn skip_parens(toks: &[Token], open: usize) -> Option<(usize, usize)> {
    let mut depth = 0;
    for (k, t) in toks.iter().enumerate().skip(open) {
        if t.is_punct('(') {
            depth += 1;
        } else if t.is_punct(')') {
            depth -= 1;
            if depth == 0 {
                return Some((k, t.span.end));
            }
        }
    }
    None
}

/// `SAVEPOINT name`, `RELEASE [SAVEPOINT] name`, `ROLLBACK [WORK|TRANSACTION] TO [SAVEPOINT] name`.
fn lower_savepoint(text: &str) -> Option<OpKind> {
    let toks = lex(text);
    let mut i = 1;
    let action = if toks[0].is_word("savepoint") {
        SavepointAction::Set
    } else if toks[0].is_word("release") {
        SavepointAction::Release
    } else {
        if toks.get(i).is_some_and(|t| t.is_word("work") || t.is_word("transaction")) {
            i += 1;
        }
        if !toks.get(i).is_some_and(|t| t.is_word("to")) {
            return None; // a plain ROLLBACK
        }
        i += 1;
        SavepointAction::RollbackTo
    };
    if action != SavepointAction::Set && toks.get(i).is_some_and(|t| t.is_word("savepoint")) {
        i += 1;
    }
    let name = match &toks.get(i)?.tok {
        Tok::Word(w) => w.clone(),
        Tok::Quoted(q) => q.clone(),
        _ => return None,
    };
    (toks.len() == i + 1).then_some(OpKind::Savepoint { name, action })
}

/// `SET [SESSION|LOCAL] name {=|TO} value` / `RESET name`. `SET [LOCAL] TIME ZONE v` is `timezone`;
/// `SET ROLE r` and `SET SESSION AUTHORIZATION u` take their value without `=`/`TO`.
fn lower_set(text: &str) -> Option<OpKind> {
    let toks = lex(text);
    let mut i = 1;
    let mut local = false;
    match toks.get(i).map(|t| &t.tok) {
        Some(Tok::Word(w)) if w == "local" => {
            local = true;
            i += 1;
        }
        Some(Tok::Word(w)) if w == "session" => i += 1,
        _ => {}
    }
    let mut name = match &toks.get(i)?.tok {
        Tok::Word(w) => w.clone(),
        Tok::Quoted(q) => q.clone(),
        _ => return None,
    };
    if name == "time" && toks.get(i + 1).is_some_and(|t| t.is_word("zone")) {
        name = "timezone".into();
        i += 1;
    }
    if toks[0].is_word("reset") {
        return Some(OpKind::Set { name, local, value: "DEFAULT".into() });
    }
    let assigned = toks.get(i + 1).is_some_and(|t| t.is_punct('=') || t.is_word("to"));
    let value_at = toks.get(if assigned { i + 2 } else { i + 1 }).map(|t| t.span.start).unwrap_or(text.len());
    Some(OpKind::Set { name, local, value: text[value_at..].trim().to_string() })
}

/// The table `CLUSTER` rewrites, if it names one.
fn cluster_table(text: &str) -> Option<Name> {
    let toks = lex(text);
    let mut k = 1;
    if toks.get(k).is_some_and(|t| t.is_word("verbose")) {
        k += 1;
    } else if toks.get(k).is_some_and(|t| t.is_punct('(')) {
        k = skip_parens(&toks, k)?.0 + 1;
    }
    let name_at = |k: usize| -> Option<(Name, usize)> {
        let start = toks.get(k)?.span.start;
        let len = forms::name_len(&text[start..])?;
        let next = toks.iter().position(|t| t.span.start >= start + len).unwrap_or(toks.len());
        Some((Name::new(&text[start..start + len]), next))
    };
    let (first, next) = name_at(k)?;
    if toks.get(next).is_some_and(|t| t.is_word("on")) {
        return name_at(next + 1).map(|(t, _)| t);
    }
    Some(first)
}

/// Statements PostgreSQL refuses inside a transaction block.
fn no_transaction(w: &[String]) -> Option<String> {
    let w0 = w.first().map(String::as_str).unwrap_or("");
    let w1 = w.get(1).map(String::as_str).unwrap_or("");
    let what = match (w0, w1) {
        ("vacuum", _) => "VACUUM",
        ("create" | "drop", "database") => "CREATE/DROP DATABASE",
        ("create" | "drop", "tablespace") => "CREATE/DROP TABLESPACE",
        ("alter", "system") => "ALTER SYSTEM",
        ("create", "subscription") | ("drop", "subscription") => "CREATE/DROP SUBSCRIPTION",
        _ => return None,
    };
    Some(what.to_string())
}

/// First words of statements that take table locks worth a reviewer's eye.
fn risky_head(w: &[String]) -> bool {
    let w0 = w.first().map(String::as_str).unwrap_or("");
    let w1 = w.get(1).map(String::as_str).unwrap_or("");
    matches!(
        (w0, w1),
        ("alter", "table" | "index" | "type" | "materialized")
            | ("create", "index" | "unique")
            | ("drop", "index" | "table")
            | ("reindex" | "cluster" | "truncate" | "lock" | "vacuum" | "refresh", _)
    )
}

/// Everything else sqlparser understood: no rewrite, but its locks count for timeouts.
fn lower_other(ast: &Statement, text: &str) -> (OpKind, Vec<LockUse>) {
    let words = head_words(text, 3);
    let what = words.iter().take(2).cloned().collect::<Vec<_>>().join(" ").to_uppercase();
    match ast {
        Statement::CreateTable(ct) => {
            let table = Name::new(&ct.name.to_string());
            let mut locks = Vec::new();
            for c in &ct.constraints {
                if let TableConstraint::ForeignKey(fk) = c {
                    locks.push(lock(&Name::new(&fk.foreign_table.to_string()), LockMode::ShareRowExclusive, false));
                }
            }
            for col in &ct.columns {
                for o in &col.options {
                    if let ColumnOption::ForeignKey(fk) = &o.option {
                        locks.push(lock(&Name::new(&fk.foreign_table.to_string()), LockMode::ShareRowExclusive, false));
                    }
                }
            }
            (OpKind::CreateTable { table }, locks)
        }
        Statement::AlterType(at) => {
            if matches!(at.operation, sqlparser::ast::AlterTypeOperation::AddValue(_)) {
                (OpKind::AddEnumValue { type_name: Name::new(&at.name.to_string()) }, Vec::new())
            } else {
                (OpKind::Other { what }, Vec::new())
            }
        }
        Statement::Drop { object_type: ObjectType::Table, names, .. } => {
            let locks =
                names.iter().map(|n| lock(&Name::new(&n.to_string()), LockMode::AccessExclusive, false)).collect();
            (OpKind::Other { what }, locks)
        }
        Statement::Truncate(t) => {
            let locks = t
                .table_names
                .iter()
                .map(|n| lock(&Name::new(&n.name.to_string()), LockMode::AccessExclusive, false))
                .collect();
            (OpKind::Other { what }, locks)
        }
        Statement::Copy { source: sqlparser::ast::CopySource::Table { table_name, .. }, to: false, .. } => {
            let table = Name::new(&table_name.to_string());
            (OpKind::Other { what }, vec![lock(&table, LockMode::RowExclusive, true)])
        }
        Statement::Update(_) | Statement::Delete(_) | Statement::Insert(_) => {
            let locks = dml_table(text).map(|t| vec![lock(&t, LockMode::RowExclusive, true)]).unwrap_or_default();
            (OpKind::Other { what }, locks)
        }
        _ => (OpKind::Other { what }, Vec::new()),
    }
}

/// The target of `UPDATE [ONLY] t`, `DELETE FROM [ONLY] t`, `INSERT INTO t`.
fn dml_table(text: &str) -> Option<Name> {
    let toks = lex(text);
    let mut i = 1;
    while toks.get(i).is_some_and(|t| t.is_word("from") || t.is_word("into") || t.is_word("only")) {
        i += 1;
    }
    let start = toks.get(i)?.span.start;
    let mut end = toks[i].span.end;
    while toks.get(i + 1).is_some_and(|t| t.is_punct('.')) && toks.get(i + 2).is_some() {
        end = toks[i + 2].span.end;
        i += 2;
    }
    Some(Name::new(&text[start..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lower(sql: &str) -> Vec<Op> {
        lower_statement(sql, 0..sql.len())
    }

    #[test]
    fn multi_action_alter_lowers_to_one_op_per_action() {
        let sql = "ALTER TABLE orders ADD COLUMN note text, ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id), ALTER COLUMN status SET NOT NULL";
        let ops = lower(sql);
        assert_eq!(ops.len(), 3);
        assert!(matches!(
            &ops[1].kind,
            OpKind::AddConstraint { kind: ConstraintKind::ForeignKey { .. }, not_valid: false, .. }
        ));
        assert_eq!(&sql[ops[1].span.clone()], "ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id)");
        assert_eq!(ops[2].locks[0].mode, LockMode::AccessExclusive);
    }

    #[test]
    fn inline_reference_clause_is_found() {
        let sql = "ALTER TABLE orders ADD COLUMN buyer_id bigint NOT NULL DEFAULT 0 REFERENCES public.users (id) ON DELETE SET NULL DEFERRABLE";
        let ops = lower(sql);
        let OpKind::AddColumn { reference: Some(r), column, .. } = &ops[0].kind else { panic!("{:?}", ops[0].kind) };
        assert_eq!(column, "buyer_id");
        assert_eq!(&sql[r.clause.clone()], "REFERENCES public.users (id) ON DELETE SET NULL DEFERRABLE");
        assert_eq!(r.references.key, "public.users");
    }

    #[test]
    fn forms_sqlparser_cannot_parse_are_understood() {
        let ops = lower("DROP INDEX CONCURRENTLY IF EXISTS idx_a");
        assert!(matches!(&ops[0].kind, OpKind::DropIndex { concurrently: true, .. }));
        let ops = lower("REINDEX INDEX idx_a");
        assert!(matches!(&ops[0].kind, OpKind::Reindex { concurrently: false, .. }));
        let ops = lower("CREATE INDEX i ON {{ .Schema }}.users (email)");
        assert!(matches!(&ops[0].kind, OpKind::CreateIndex { concurrently: false, .. }));
    }

    #[test]
    fn set_statements() {
        assert!(
            matches!(&lower("SET LOCAL lock_timeout = '2s'")[0].kind, OpKind::Set { local: true, name, .. } if name == "lock_timeout")
        );
        assert!(
            matches!(&lower("set statement_timeout to 0")[0].kind, OpKind::Set { local: false, value, .. } if value == "0")
        );
    }

    #[test]
    fn savepoints_are_not_transaction_ends() {
        let kind = |sql: &str| lower(sql).remove(0).kind;
        let sp = |name: &str, action| OpKind::Savepoint { name: name.into(), action };
        assert_eq!(kind("SAVEPOINT sp1"), sp("sp1", SavepointAction::Set));
        assert_eq!(kind("release savepoint SP1"), sp("sp1", SavepointAction::Release));
        assert_eq!(kind("RELEASE \"Sp\""), sp("Sp", SavepointAction::Release));
        assert_eq!(kind("ROLLBACK TO SAVEPOINT sp1"), sp("sp1", SavepointAction::RollbackTo));
        assert_eq!(kind("rollback work to sp1"), sp("sp1", SavepointAction::RollbackTo));
        assert_eq!(kind("ROLLBACK"), OpKind::Commit { rollback: true });
        assert_eq!(kind("ROLLBACK WORK"), OpKind::Commit { rollback: true });
        assert_eq!(kind("ABORT"), OpKind::Commit { rollback: true });
    }

    #[test]
    fn set_forms_without_equals() {
        let kind = |sql: &str| lower(sql).remove(0).kind;
        assert!(
            matches!(kind("SET ROLE app_owner"), OpKind::Set { name, value, .. } if name == "role" && value == "app_owner")
        );
        assert!(
            matches!(kind("SET LOCAL TIME ZONE 'UTC'"), OpKind::Set { name, value, local: true } if name == "timezone" && value == "'UTC'")
        );
        assert!(
            matches!(kind("SET search_path TO app, public"), OpKind::Set { name, value, .. } if name == "search_path" && value == "app, public")
        );
    }

    #[test]
    fn cluster_and_partition_actions() {
        let ops = lower("CLUSTER VERBOSE public.orders USING orders_pkey");
        assert!(matches!(&ops[0].kind, OpKind::Other { what } if what == "CLUSTER"));
        assert_eq!(
            (ops[0].locks[0].table.key.as_str(), ops[0].locks[0].mode),
            ("public.orders", LockMode::AccessExclusive)
        );
        assert_eq!(lower("cluster orders_pkey on orders")[0].locks[0].table.key, "orders");
        assert!(matches!(&lower("CLUSTER")[0].kind, OpKind::NoTransaction { .. }));
        let ops = lower("ALTER TABLE events DETACH PARTITION events_2024 CONCURRENTLY");
        assert!(matches!(&ops[0].kind, OpKind::AlterTable { what, .. } if what == "DETACH PARTITION"));
        assert!(ops[0].locks.iter().all(|l| l.mode == LockMode::ShareUpdateExclusive));
        let ops =
            lower("ALTER TABLE events ATTACH PARTITION events_2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')");
        assert_eq!(ops[0].max_lock(), Some(LockMode::AccessExclusive));
        assert_eq!(ops[0].locks[0].mode, LockMode::ShareUpdateExclusive);
    }

    #[test]
    fn volatile_defaults_rewrite() {
        let ops = lower("ALTER TABLE t ADD COLUMN r float8 DEFAULT random()");
        assert!(ops[0].locks[0].scans);
        let ops = lower("ALTER TABLE t ADD COLUMN at timestamptz DEFAULT now()");
        assert!(!ops[0].locks[0].scans);
    }
}
