//! The shared recipe of `fk-not-valid` and `check-not-valid`: add the constraint `NOT VALID` (no
//! scan, brief lock) and `VALIDATE` it in a later transaction (scan under SHARE UPDATE EXCLUSIVE,
//! which blocks no reads or writes).

use super::{in_case_of, Edit, Phase, Rewritten, Unit};
use crate::ir::lock::{LockMode, LockUse};
use crate::ir::migration::Migration;
use crate::ir::name::Name;
use std::ops::Range;

/// Split the constraint named `name` that action `action` of statement `i` adds on `table`.
pub fn split(
    m: &Migration<'_>,
    out: &mut Rewritten,
    rule: &'static str,
    i: usize,
    table: &Name,
    action: &Range<usize>,
    name: &str,
) {
    let src = m.src;
    let unit = &mut out.units[i];
    let sample = &src[action.start..action.start + 3];
    unit.edits.push(Edit { rule, at: action.end..action.end, text: format!(" {}", in_case_of(sample, "NOT VALID")) });
    for l in &mut unit.locks {
        l.scans = false;
    }
    if !unit.rules.contains(&rule) {
        unit.rules.push(rule);
    }
    let sample = src[action.start..action.start + 3].to_string();
    let if_exists = alter_if_exists(m, i, out);
    out.units.push(validate_unit(i, action.start, &sample, table, name, if_exists, rule));
}

/// An inline column constraint (`REFERENCES …`, `CHECK (…)` on `ADD COLUMN`), which cannot be
/// `NOT VALID` where it stands: it moves to the end of the `ADD COLUMN` action as
/// `, ADD CONSTRAINT name <definition> NOT VALID`, validated in a later transaction. Every other
/// clause of the column (`NOT NULL`, `DEFAULT`, `COLLATE`, …) stays on the column, wherever it
/// was written.
pub struct Inline {
    /// The clause in the draft, removed.
    pub clause: Range<usize>,
    pub name: String,
    /// `FOREIGN KEY (c) REFERENCES …` / `CHECK (…)`, in the draft's letter case.
    pub definition: String,
}

pub fn move_inline(
    m: &Migration<'_>,
    out: &mut Rewritten,
    rule: &'static str,
    i: usize,
    action: &Range<usize>,
    table: &Name,
    inline: Inline,
) {
    let src = m.src;
    let sample = &src[action.start..action.start + 3];
    let unit = &mut out.units[i];
    unit.edits.push(Edit::remove(rule, src, inline.clause.clone()));
    unit.edits.push(Edit {
        rule,
        at: action.end..action.end,
        text: format!(
            ", {} {} {} {}",
            in_case_of(sample, "ADD CONSTRAINT"),
            inline.name,
            inline.definition,
            in_case_of(sample, "NOT VALID")
        ),
    });
    if !unit.rules.contains(&rule) {
        unit.rules.push(rule);
    }
    for l in &mut unit.locks {
        l.scans = false;
    }
    let if_exists = alter_if_exists(m, i, out);
    out.units.push(validate_unit(i, action.start, sample, table, &inline.name, if_exists, rule));
}

/// `ALTER TABLE t VALIDATE CONSTRAINT name`, in the letter case of the draft's `sample` keyword.
/// `if_exists`: the draft wrote `ALTER TABLE IF EXISTS`; the VALIDATE must not fail where the add
/// was skipped.
pub fn validate_unit(
    i: usize,
    at: usize,
    sample: &str,
    table: &Name,
    name: &str,
    if_exists: bool,
    rule: &'static str,
) -> Unit {
    let alter = in_case_of(sample, if if_exists { "ALTER TABLE IF EXISTS" } else { "ALTER TABLE" });
    let validate = in_case_of(sample, "VALIDATE CONSTRAINT");
    let text = format!("{alter} {} {validate} {name}", table.text);
    let mut unit = Unit::generated(i, at, text, Phase::Validate, rule);
    unit.locks =
        thin_vec::thin_vec![LockUse { table: table.clone(), mode: LockMode::ShareUpdateExclusive, scans: true }];
    unit
}

/// Why an unnamed `what` (`check`, `foreign key`) on `table` stays as written: its `VALIDATE` needs
/// its name, and PostgreSQL picks that name when it adds it, from every constraint name in the
/// schema, which pgsafe cannot see.
pub fn unnamed(what: &str, table: &Name) -> String {
    format!(
        "this {what} has no name, and the later VALIDATE of the NOT VALID recipe needs one: PostgreSQL names it after \
         {} and its column, adding 1, 2, … when another constraint of the schema already has that name, which pgsafe \
         cannot see. Kept as written (with timeouts); name it (ADD CONSTRAINT name …) and pgsafe adds it NOT VALID and \
         validates it in a later transaction",
        table.text
    )
}

/// Why a constraint declared on an `ADD COLUMN IF NOT EXISTS` stays where it is.
pub fn kept_on_a_column_that_may_exist(kind: &str, column: &str, table: &Name) -> String {
    format!(
        "this {kind} is part of ADD COLUMN IF NOT EXISTS {column}: where {} has the column already, PostgreSQL skips the \
         whole definition, this {kind} included, so pgsafe cannot move it into an ADD CONSTRAINT of its own and leaves \
         it as written (only a table the draft created is known not to have {column}: a schema file may be out of date)",
        table.text
    )
}

pub fn alter_if_exists(m: &Migration<'_>, i: usize, out: &Rewritten) -> bool {
    m.stmts.get(out.units[i].stmt).is_some_and(|s| s.alter.if_exists)
}
