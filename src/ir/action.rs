//! One `ALTER TABLE` action, typed: which column it touches, which type it sets, which partition
//! it attaches and with which bound. Built by `ir::lower_action`; read by the catalogue and the
//! passes, which never look at the action's text.

use super::name::Name;

/// What one action does, with its names as the draft wrote them (and their folded keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `RENAME [COLUMN] a TO b`.
    RenameColumn {
        from: Name,
        to: Name,
    },
    /// `RENAME TO t`.
    RenameTable {
        to: Name,
    },
    /// `DROP [COLUMN] [IF EXISTS] c [CASCADE|RESTRICT]` (not `DROP CONSTRAINT`).
    DropColumn {
        column: Name,
        cascade: bool,
    },
    /// `ALTER [COLUMN] c …`.
    AlterColumn {
        column: Name,
        change: ColumnChange,
    },
    /// `SET TABLESPACE`, `SET LOGGED`, `SET UNLOGGED`, `SET ACCESS METHOD`: the table is copied.
    Rewrite {
        what: String,
    },
    /// `DETACH PARTITION p [CONCURRENTLY | FINALIZE]`; `end`: offset (in the action) after the name.
    DetachPartition {
        partition: Name,
        concurrently: bool,
        finalize: bool,
        end: usize,
    },
    /// `ATTACH PARTITION p {FOR VALUES … | DEFAULT}`; `bound` is the text after the name.
    AttachPartition {
        partition: Name,
        bound: String,
        parsed: PartitionBound,
    },
    /// `RENAME CONSTRAINT a TO b`; `from` folded. A key's index takes the new name too.
    RenameConstraint {
        from: String,
        to: Name,
    },
    /// `SET SCHEMA s`: the table moves to schema `s`, under its name.
    SetSchema {
        schema: Name,
    },
    /// `ALTER CONSTRAINT c [NOT] DEFERRABLE …`: its deferrability only (ACCESS EXCLUSIVE, no
    /// scan, measured on PostgreSQL 15).
    AlterConstraint,
    /// `DROP CONSTRAINT [IF EXISTS] name [CASCADE]`; `name` folded.
    DropConstraint {
        name: String,
        if_exists: bool,
    },
    /// `INHERIT parent`: the table now inherits from `parent` (an `ADD COLUMN` there reaches it).
    Inherit {
        parent: Name,
    },
    /// `NO INHERIT parent`.
    NoInherit {
        parent: Name,
    },
    /// `ADD [CONSTRAINT c] NOT NULL a [NO INHERIT] [NOT VALID]` (PostgreSQL 18): a named NOT NULL
    /// constraint. ACCESS EXCLUSIVE; without `NOT VALID` it checks every row under that lock
    /// (measured on 18.4: `tests/postgresql_18.rs`).
    AddNotNull {
        /// The constraint's name as written (`None`: PostgreSQL names it).
        name: Option<String>,
        column: Name,
        not_valid: bool,
    },
    /// `ADD [COLUMN] a type GENERATED ALWAYS AS (…) [VIRTUAL]` (PostgreSQL 18, where a generated
    /// column is virtual unless `STORED`): computed when read, so the add rewrites nothing and
    /// takes ACCESS EXCLUSIVE for an instant; `checked`: more follows the expression (a `NOT
    /// NULL`, a `CHECK`), which the add checks on every row under that lock.
    AddVirtualColumn {
        column: Name,
        checked: bool,
    },
    /// Neither sqlparser nor the token-level reading understands the action (sqlparser failed on
    /// it, or would have dropped words of it): nothing rewrites it, and it is reported.
    NotUnderstood,
    Other,
}

/// A partition bound, with its values as written (blanks collapsed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionBound {
    Default,
    /// `FOR VALUES FROM (…) TO (…)`: one entry per key column (`MINVALUE`/`MAXVALUE` included).
    Range {
        from: Vec<String>,
        to: Vec<String>,
    },
    /// `FOR VALUES IN (…)`: the list as written; `null`: it holds `NULL`.
    List {
        values: String,
        null: bool,
    },
    /// `FOR VALUES WITH (MODULUS …)`, or a form pgsafe does not read.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnChange {
    /// `[SET DATA] TYPE t [COLLATE c] [USING e]`: `type_text` as written (whitespace collapsed);
    /// `using` only when it changes the value beyond the cast (`USING c` and `USING c::t` do not).
    Type {
        type_text: String,
        collate: Option<String>,
        using: Option<String>,
    },
    SetNotNull,
    DropNotNull,
    /// `SET STATISTICS n`: SHARE UPDATE EXCLUSIVE.
    Statistics,
    /// `SET (n_distinct = …)` / `RESET (…)`: SHARE UPDATE EXCLUSIVE.
    Options,
    /// `SET EXPRESSION AS (…)` of a stored generated column (PostgreSQL 17+): computes it again
    /// for every row, rewriting the table under ACCESS EXCLUSIVE.
    Expression,
    Other,
}
