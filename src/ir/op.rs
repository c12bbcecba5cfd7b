//! The IR: one migration operation per statement, or per action of a multi-action `ALTER TABLE`.
//! Passes reason about these without walking sqlparser's AST.

use super::action::Action;
use super::expr::Expr;
use super::lock::{LockMode, LockUse};
use super::name::Name;
use std::ops::Range;

/// One operation. `span` is a byte range of the draft (the whole statement body, or one action of
/// an `ALTER TABLE`), so rewrites can edit the user's own text.
#[derive(Debug, Clone)]
pub struct Op {
    pub span: Range<usize>,
    pub kind: OpKind,
    pub locks: Vec<LockUse>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConstraintKind {
    ForeignKey {
        references: Name,
        columns: Vec<String>,
        /// PostgreSQL 18's temporal foreign key, `(…, PERIOD r) REFERENCES t (…, PERIOD r)`
        /// (`ir::lower_temporal`).
        period: bool,
    },
    /// `columns`: the distinct column names the expression uses (PostgreSQL names the constraint
    /// after one); `expr`: the expression, lower-cased, without outer parentheses or extra blanks.
    Check {
        columns: Vec<String>,
        expr: String,
    },
    Unique(Key),
    PrimaryKey(Key),
    /// An exclusion constraint (or a constraint pgsafe does not know): what PostgreSQL names each
    /// element of its index after, where pgsafe can tell (see [`exclusion_element_names`]).
    ///
    /// [`exclusion_element_names`]: super::lower_table::exclusion_element_names
    Exclude {
        elements: Option<Vec<String>>,
    },
}

/// The columns of a primary key or unique constraint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Key {
    /// Folded column names; `None` for an expression.
    pub columns: Vec<Option<String>>,
    /// The folded names of `INCLUDE (…)`: PostgreSQL names an unnamed key's index after them too,
    /// after the key's (`t_a_b_key`, measured on PostgreSQL 15).
    pub include: Vec<String>,
    /// `… USING INDEX i`: the constraint adopts an existing index.
    pub using_index: Option<Name>,
    /// The key's clauses in draft bytes, when it is nothing but plain column names and clauses a
    /// recipe that builds its index concurrently can carry: `None` otherwise. (Boxed: only keys
    /// have them, and inline they made every op of every draft half as large again.)
    pub clauses: Option<Box<KeyClauses>>,
    /// Why PostgreSQL refuses the key as written, where pgsafe can tell.
    pub refused: Option<Refused>,
    /// PostgreSQL 18's `(…, r WITHOUT OVERLAPS)` (`ir::lower_temporal`): its index is a unique
    /// GiST index, which nothing builds concurrently.
    pub without_overlaps: bool,
}

/// A key's clauses, in draft bytes: the index's (the concurrent build takes them) and the
/// constraint's deferrability (`ADD CONSTRAINT … USING INDEX` takes it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyClauses {
    /// The column list inside the parentheses.
    pub list: Range<usize>,
    /// A unique key's `NULLS [NOT] DISTINCT`.
    pub nulls: Option<Range<usize>>,
    /// The whole `INCLUDE (…)`.
    pub include: Option<Range<usize>>,
    /// The whole `WITH (…)`.
    pub with: Option<Range<usize>>,
    /// The name of `USING INDEX TABLESPACE name`.
    pub tablespace: Option<Range<usize>>,
    /// `[NOT] DEFERRABLE`, `INITIALLY DEFERRED|IMMEDIATE`, from the first word to the last.
    pub deferrability: Option<Range<usize>>,
    /// The key is declared `DEFERRABLE` (or `INITIALLY DEFERRED`, which implies it).
    pub deferrable: bool,
}

/// Why PostgreSQL 15 refuses a key as written (its errors, measured): the draft fails there, and
/// a recipe's concurrent build before it would leave an index the draft never made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `DEFERRABLE` with `NOT DEFERRABLE`, or `INITIALLY DEFERRED` with `INITIALLY IMMEDIATE`.
    ConflictingProperties,
    /// `INITIALLY DEFERRED` with `NOT DEFERRABLE`.
    DeferredNotDeferrable,
    /// `NOT VALID`: a key is checked as its index is built.
    NotValid,
    /// `NO INHERIT`: only a check constraint takes it.
    NoInherit,
}

/// `CREATE TABLE`, typed: what the catalogue records about the new table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableDef {
    pub if_not_exists: bool,
    pub temporary: bool,
    pub columns: Vec<ColumnDef>,
    /// `false` for `AS SELECT`, `LIKE`, or a statement sqlparser could not read: a column that is
    /// not listed is then unknown, not absent.
    pub columns_known: bool,
    pub primary_key: Option<(Option<String>, Vec<Option<String>>)>,
    /// The primary key ends `WITHOUT OVERLAPS` (PostgreSQL 18, `ir::lower_temporal`).
    pub primary_key_without_overlaps: bool,
    pub unique: Vec<UniqueDef>,
    pub foreign_keys: Vec<ForeignKeyDef>,
    /// Exclusion constraints: name (if given) and the names of their elements (if pgsafe can tell).
    pub exclusions: Vec<(Option<String>, Option<Vec<String>>)>,
    /// `PARTITION OF parent`, and whether it is the `DEFAULT` partition.
    pub partition_of: Option<Name>,
    pub default_partition: bool,
    /// `PARTITION BY …`: this table is partitioned.
    pub partition_by: Option<PartitionKey>,
    /// `ON COMMIT DROP`: a temporary table gone at the end of its transaction.
    pub drop_on_commit: bool,
    pub inherits: Vec<Name>,
}

/// A unique constraint of `CREATE TABLE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueDef {
    pub name: Option<String>,
    pub columns: Vec<Option<String>>,
    /// The `INCLUDE` columns, folded: they name an unnamed one too.
    pub include: Vec<String>,
    /// It ends `WITHOUT OVERLAPS` (PostgreSQL 18, `ir::lower_temporal`).
    pub without_overlaps: bool,
}

/// A column of `CREATE TABLE` or `ADD COLUMN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    /// Folded.
    pub name: String,
    /// The type as written, lower-cased (`character varying(50)`).
    pub type_text: String,
    pub not_null: bool,
    /// Its `COLLATE` clause's collation, as written (`None`: the type's default).
    pub collation: Option<Box<str>>,
}

/// A foreign key of `CREATE TABLE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKeyDef {
    pub name: Option<String>,
    /// Folded columns of the referencing table.
    pub columns: Vec<String>,
    pub references: Name,
}

/// `PARTITION BY method (key, …)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionKey {
    /// As written, blanks collapsed (`RANGE (created_at)`).
    pub text: String,
    /// The key columns, folded; `None` for an expression.
    pub columns: Vec<Option<String>>,
}

/// An inline `REFERENCES` clause on `ADD COLUMN`, which cannot be `NOT VALID` where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineReference {
    /// From `[CONSTRAINT name] REFERENCES` to the end of the clause, in draft bytes.
    pub clause: Range<usize>,
    /// The text after `REFERENCES` (table, columns, actions), reused verbatim.
    pub target: String,
    pub references: Name,
    pub constraint_name: Option<String>,
}

/// `DEFAULT expr` on `ADD COLUMN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineDefault {
    /// From `DEFAULT` to the end of the expression, in draft bytes.
    pub clause: Range<usize>,
    pub expr: String,
    /// Evaluated per row (`random()`, `gen_random_uuid()`, …): adding the column rewrites the table.
    pub volatile: bool,
    /// Calls `nextval`, or a volatile function that may (`functions::may_draw_from_a_sequence`):
    /// each row's value may depend on the order the rows are filled in.
    pub numbers_rows: bool,
    /// `DEFAULT NULL`: every row holds NULL, as without a default.
    pub null: bool,
}

/// An inline `UNIQUE` on `ADD COLUMN`, whose index is built over every row where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineUnique {
    /// From `[CONSTRAINT name] UNIQUE` to the end of the word, in draft bytes.
    pub clause: Range<usize>,
    pub constraint_name: Option<String>,
    /// Nothing but the word (no `NULLS`, `INCLUDE`, `WITH`, `USING INDEX TABLESPACE` or
    /// deferrability after it, no second key on the column): all a recipe has to carry.
    pub plain: bool,
}

/// An inline `CHECK` on `ADD COLUMN`, verified against every row where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineCheck {
    /// From `[CONSTRAINT name] CHECK` to the end of the clause, in draft bytes.
    pub clause: Range<usize>,
    /// `(expr) [NO INHERIT]`, reused verbatim.
    pub body: String,
    pub constraint_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SavepointAction {
    Set,
    Release,
    RollbackTo,
}

/// `UPDATE`/`DELETE`, typed: where each clause is in the draft and what each expression reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dml {
    pub table: Name,
    /// The alias the statement gives the table, folded.
    pub alias: Option<String>,
    /// `[ONLY] table [[AS] alias]`, as written.
    pub target: Range<usize>,
    /// `UPDATE`: the `SET` list as written (from the first assignment to the last), and each one.
    pub set_list: Range<usize>,
    pub assignments: Vec<Assignment>,
    /// `FROM` (`UPDATE`) or `USING` (`DELETE`): other tables joined in; the clause in draft bytes.
    pub joined: Option<Range<usize>>,
    pub filter: Option<Expr>,
    /// `RETURNING …`, in draft bytes.
    pub returning: Option<Range<usize>>,
    /// The statement uses psql variables, which psql does not substitute inside a `DO` block.
    pub psql_variables: bool,
}

impl Dml {
    /// Names that qualify the target's own columns: its alias, or its name (with and without schema).
    pub fn qualifiers(&self) -> Vec<String> {
        match &self.alias {
            Some(a) => vec![a.clone()],
            None => vec![self.table.key.to_string(), self.table.base().to_string()],
        }
    }
}

/// `column = value` (or `(a, b) = …`) in an `UPDATE`'s `SET` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The columns written, folded.
    pub columns: Vec<String>,
    /// `a.b = …` / `a[1] = …`: writes part of the column's value.
    pub part: bool,
    pub value: Expr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpKind {
    CreateTable {
        table: Name,
        def: Box<TableDef>,
    },
    CreateIndex {
        name: Option<Name>,
        table: Name,
        unique: bool,
        concurrently: bool,
        /// `ON ONLY parent`: builds an invalid index on a partitioned parent only.
        only: bool,
        /// `IF NOT EXISTS`: after a failed concurrent build it keeps the INVALID index.
        if_not_exists: bool,
        /// Where `CONCURRENTLY ` goes: right after the `INDEX` keyword.
        insert_at: usize,
        /// Folded key columns; `None` for an expression.
        columns: Vec<Option<String>>,
        /// What PostgreSQL calls each key element in a default index name (`lower(email)` →
        /// `lower`, another expression → `expr`).
        column_names: Vec<String>,
        /// Has a `WHERE`: it does not serve every lookup on its columns.
        partial: bool,
        /// Everything after the table name (`USING btree (a) WHERE …`), blanks collapsed.
        tail: String,
    },
    /// `ALTER INDEX [IF EXISTS] index RENAME TO to`.
    RenameIndex {
        index: Name,
        to: Name,
    },
    DropIndex {
        names: Vec<Name>,
        concurrently: bool,
        cascade: bool,
        insert_at: usize,
    },
    Reindex {
        target: String,
        name: Name,
        concurrently: bool,
        insert_at: usize,
    },
    AddConstraint {
        table: Name,
        name: Option<String>,
        kind: ConstraintKind,
        not_valid: bool,
        /// The constraint itself, from its kind keyword (`FOREIGN KEY`, `CHECK`, …) to its end
        /// without a trailing `NOT VALID`, in draft bytes.
        definition: Range<usize>,
    },
    AddColumn {
        table: Name,
        column: String,
        /// The type as written, lower-cased.
        type_text: String,
        /// Its `COLLATE` clause's collation, as written: a recipe that sets the type again
        /// must keep it.
        collation: Option<Box<str>>,
        if_not_exists: bool,
        /// Serial, identity or generated: a value is computed for every row, so adding the
        /// column rewrites the table (an inline key or check scans it; neither rewrites it).
        computed: bool,
        /// An inline `PRIMARY KEY`.
        primary_key: bool,
        /// An inline `UNIQUE` (boxed, as the other clauses below).
        unique: Option<Box<InlineUnique>>,
        // Boxed: rare, and each would make every op of every draft larger.
        reference: Option<Box<InlineReference>>,
        check: Option<Box<InlineCheck>>,
        default: Option<Box<InlineDefault>>,
        /// The `NOT NULL` clause, in draft bytes.
        not_null: Option<Range<usize>>,
    },
    ValidateConstraint {
        table: Name,
        name: String,
    },
    /// `ALTER COLUMN c SET NOT NULL`: scans the table under ACCESS EXCLUSIVE unless a validated
    /// `CHECK (c IS NOT NULL)` proves it (PostgreSQL 12+).
    SetNotNull {
        table: Name,
        column: String,
    },
    /// Any other `ALTER TABLE` action; `what` names it for messages.
    AlterTable {
        table: Name,
        what: String,
        action: Action,
    },
    /// `ALTER INDEX parent ATTACH PARTITION partition`: ACCESS EXCLUSIVE on the partition's
    /// index, which every write to its table opens (SHARE UPDATE EXCLUSIVE on the parent index;
    /// measured on PostgreSQL 15).
    AttachIndex {
        partition: Name,
    },
    /// `ALTER INDEX [IF EXISTS] index SET|RESET (…)`, `SET TABLESPACE`, `ALTER [COLUMN] n SET
    /// STATISTICS`, `[NO] DEPENDS ON EXTENSION`: a lock on the index alone (ACCESS EXCLUSIVE, or
    /// SHARE UPDATE EXCLUSIVE for btree's parameters and statistics), which the table's reads and
    /// writes wait for since they open its indexes.
    AlterIndex {
        index: Name,
        /// `SET TABLESPACE`: the index is copied under its ACCESS EXCLUSIVE lock.
        copies: bool,
    },
    /// `ALTER SCHEMA s RENAME TO …`, `DROP SCHEMA s …` (`schemas`, folded): what is in them is no
    /// longer found under their names.
    SchemaGone {
        schemas: Vec<String>,
    },
    /// `DISCARD TEMP` (and `DISCARD ALL`): the session's temporary tables are dropped.
    DiscardTemp,
    /// `DROP TABLE [IF EXISTS] a, b [CASCADE]`.
    DropTable {
        tables: Vec<Name>,
        cascade: bool,
    },
    /// `CREATE [OR REPLACE] [CONSTRAINT] TRIGGER name … ON table`, or `DROP TRIGGER name ON table`.
    Trigger {
        table: Name,
        /// Folded.
        name: String,
        drop: bool,
        /// It fires on `UPDATE` (so a backfill pgsafe adds would fire it).
        on_update: bool,
    },
    /// `LOCK [TABLE] [ONLY] a, b [IN mode MODE] [NOWAIT]`: held until the transaction ends.
    Lock {
        tables: Vec<Name>,
        mode: LockMode,
        nowait: bool,
    },
    /// `TRUNCATE [TABLE] [ONLY] a, b [CASCADE]`.
    Truncate {
        tables: Vec<Name>,
        cascade: bool,
    },
    /// `UPDATE …` (boxed: the largest op).
    Update(Box<Dml>),
    /// `DELETE FROM …` (`assignments` empty).
    Delete(Box<Dml>),
    /// `BEGIN`/`START TRANSACTION`.
    Begin,
    /// `COMMIT`/`END`/`ROLLBACK`: `rollback` is kept apart because a plan must never drop it silently.
    Commit {
        rollback: bool,
    },
    /// `SAVEPOINT name`, `RELEASE [SAVEPOINT] name`, `ROLLBACK [WORK|TRANSACTION] TO [SAVEPOINT] name`:
    /// they only mean something in the transaction that holds what they enclose.
    Savepoint {
        /// Folded the way PostgreSQL compares it.
        name: String,
        action: SavepointAction,
    },
    /// `SET TRANSACTION …`, the modes of a `BEGIN …`/`START TRANSACTION …` (an op of its own
    /// after the `Begin`), or a `SET` of `transaction_isolation`, `transaction_read_only` or
    /// `transaction_deferrable`: the modes of the one transaction it runs in (read only, an
    /// isolation level, a snapshot). Not a session setting: no later step repeats it.
    TransactionMode,
    /// A query that takes a transaction-level advisory lock (`pg_advisory_xact_lock(…)` and its
    /// `try`/`shared` kin), an op after the query's own: held until the transaction ends.
    AdvisoryLock,
    /// A query with a locking clause (`SELECT … FOR UPDATE`, `FOR NO KEY UPDATE`, `FOR SHARE`,
    /// `FOR KEY SHARE`; the clause given), an op after the query's own: the rows it returns stay
    /// locked until the transaction ends.
    LocksRows(&'static str),
    /// `DECLARE … CURSOR` without `WITH HOLD`, an op after the query's own: PostgreSQL refuses it
    /// outside a transaction block, where a step's transaction would let it pass.
    NeedsTransactionBlock(&'static str),
    /// `SET [LOCAL|SESSION] name = value` (and `RESET`).
    Set {
        name: String,
        local: bool,
        value: String,
    },
    /// `ALTER TYPE … ADD VALUE`: the new value is unusable until the transaction that adds it commits.
    AddEnumValue {
        type_name: Name,
    },
    /// A statement PostgreSQL refuses inside a transaction block (`VACUUM`, `CREATE DATABASE`, …).
    NoTransaction {
        what: String,
    },
    /// `SELECT set_config(…)` with a value (or scope) pgsafe cannot read: a setting of the
    /// draft's session that a later step could not repeat (`name`: the setting, when a literal).
    UnreadSetting {
        name: Option<String>,
    },
    /// `ALTER DATABASE|ROLE|USER … SET|RESET`: a setting's default for the sessions that start
    /// after it (the plan's later steps), not for the draft's own.
    SetsDefault {
        what: String,
    },
    /// A psql meta-command (`\set`, `\echo`, …), or a query sent with `\gexec`.
    Psql(Psql),
    /// `REFRESH MATERIALIZED VIEW [CONCURRENTLY] v`. Plain, it holds ACCESS EXCLUSIVE on the view
    /// (every query of it waits) for the whole refresh. `CONCURRENTLY`, it holds EXCLUSIVE, which
    /// no ordinary query of a materialized view asks for a conflicting lock with (reads go on; it
    /// takes no writes and refuses `FOR UPDATE`): like a `VALIDATE`, it may run as long as its
    /// query takes, in a transaction of its own without timeouts.
    RefreshMaterializedView {
        view: Name,
        concurrently: bool,
    },
    /// `CREATE [TEMP] [MATERIALIZED] VIEW v` (not `OR REPLACE`, not `IF NOT EXISTS`, which may
    /// find a view with traffic): a new relation, which no query uses yet.
    CreateView {
        view: Name,
        temporary: bool,
    },
    /// `CREATE [TEMP] SEQUENCE s` (not `IF NOT EXISTS`): a new relation, which no insert draws
    /// from yet (a pg_dump's `ALTER TABLE s OWNER TO`, `ALTER SEQUENCE s OWNED BY` lock nothing
    /// with traffic).
    CreateSequence {
        sequence: Name,
        temporary: bool,
    },
    /// Understood, but nothing a pass rewrites (`CREATE FUNCTION`, `INSERT`, `GRANT`, …).
    Other {
        what: String,
    },
    /// Not understood. `risky` when its first words suggest it takes table locks.
    Opaque {
        risky: bool,
    },
}

/// What `OpKind::Other` calls an `ALTER [MATERIALIZED] VIEW … RENAME TO` or `SET SCHEMA`, which
/// takes the view from its name ([`OpKind::ends_views`]).
pub const MOVE_VIEW: &str = "ALTER VIEW RENAME TO/SET SCHEMA";
pub const MOVE_MATERIALIZED_VIEW: &str = "ALTER MATERIALIZED VIEW RENAME TO/SET SCHEMA";

/// What `OpKind::Other` calls `ALTER INDEX ALL IN TABLESPACE … SET TABLESPACE`: it copies indexes
/// the draft does not name, each under ACCESS EXCLUSIVE (`ir::lower_move_all`).
pub const MOVE_ALL_INDEXES: &str = "ALTER INDEX ALL IN TABLESPACE";
/// What `OpKind::Other` calls `ALTER TABLE ALL IN TABLESPACE … SET TABLESPACE`: it copies tables
/// the draft does not name, each under ACCESS EXCLUSIVE (`ir::lower_move_all`).
pub const MOVE_ALL_TABLES: &str = "ALTER TABLE ALL IN TABLESPACE";
/// What `OpKind::Other` calls `ALTER MATERIALIZED VIEW ALL IN TABLESPACE … SET TABLESPACE`.
pub const MOVE_ALL_MATERIALIZED_VIEWS: &str = "ALTER MATERIALIZED VIEW ALL IN TABLESPACE";

/// What the plan must know of a psql meta-command, read once at lowering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Psql {
    /// `\set name …` or `\unset name`: later statements may interpolate `:name` (or test whether
    /// it is set), so later steps repeat the last of them.
    SetVariable(String),
    /// `\c`/`\connect`: later steps, each a session of its own, must reach the same database.
    Connect,
    /// `\encoding name`: the client encoding, which the server converts the draft's text from.
    /// A session setting like `SET client_encoding` (which psql sends): later steps repeat the
    /// last of either, or they would store other characters.
    Encoding,
    /// `\if`: what lies between it and its `\endif` runs only if the condition holds.
    If,
    /// `\elif`, `\else`: the branch before it ends, and another begins (from the state before
    /// the `\if`: only one branch runs).
    Else,
    EndIf,
    /// `\gset`: the query's row becomes psql variables, which later statements may interpolate
    /// and which no later step (a new session) can repeat: they hold what the query found then.
    /// So does a `\set` of a shell command's output (backticks): run again in a later step, the
    /// command would give another value (and do what it does again).
    SetsVariablesFromRow,
    /// `\q`, `\quit`: psql stops reading the file, so nothing after it runs.
    Quit,
    /// SQL pgsafe cannot see: an included file (`\i`, `\ir`, `\include`, `\include_relative`),
    /// a shell command (`\!`), or the rows of a query run as statements (`\gexec`).
    RunsUnseenSql,
    /// `\set AUTOCOMMIT off`: psql opens a transaction before the next statement and keeps it
    /// open to a `COMMIT` (rolled back when the file ends without one), so what follows runs
    /// inside it.
    AutocommitOff,
    /// Anything else (`\echo`, `\timing`, …): it changes nothing a plan repeats.
    Other,
}

impl Psql {
    /// `command`: the meta-command's text, from its backslash.
    pub fn of(command: &str) -> Psql {
        let mut words = command.split_whitespace();
        let name = words.next().unwrap_or("");
        // `\!` may be written without a blank before its shell command.
        if name.starts_with("\\!") {
            return Psql::RunsUnseenSql;
        }
        match name.to_ascii_lowercase().as_str() {
            "\\i" | "\\ir" | "\\include" | "\\include_relative" | "\\gexec" => Psql::RunsUnseenSql,
            "\\gset" => Psql::SetsVariablesFromRow,
            "\\set" if command.split_whitespace().nth(1) == Some("AUTOCOMMIT") => {
                // psql reads a boolean from any unique prefix of these words.
                let value = words.nth(1).unwrap_or("").to_ascii_lowercase();
                let on = !value.is_empty() && ["on", "true", "yes", "1"].iter().any(|w| w.starts_with(value.as_str()));
                if on {
                    Psql::SetVariable("AUTOCOMMIT".into())
                } else {
                    Psql::AutocommitOff
                }
            }
            "\\set" if command.contains('`') => Psql::SetsVariablesFromRow,
            // `\getenv var NAME` sets `var` from the environment, as `\set` would.
            "\\set" | "\\unset" | "\\getenv" => {
                words.next().map_or(Psql::Other, |var| Psql::SetVariable(var.to_string()))
            }
            "\\q" | "\\quit" => Psql::Quit,
            "\\c" | "\\connect" => Psql::Connect,
            // Without a name it only shows the encoding.
            "\\encoding" if words.next().is_some() => Psql::Encoding,
            "\\if" => Psql::If,
            "\\elif" | "\\else" => Psql::Else,
            "\\endif" => Psql::EndIf,
            _ => Psql::Other,
        }
    }
}

impl OpKind {
    /// Does it take away the views its locks name: `DROP [MATERIALIZED] VIEW`, or a move
    /// ([`MOVE_VIEW`])? A view the draft created stops being new there, as a table does: another
    /// view may then take the name, with traffic.
    pub fn ends_views(&self) -> bool {
        matches!(self, OpKind::Other { what }
            if matches!(what.as_str(), "DROP VIEW" | "DROP MATERIALIZED VIEW" | MOVE_VIEW | MOVE_MATERIALIZED_VIEW))
    }

    /// `ADD COLUMN` of a column without a value (no default or `DEFAULT NULL`, not serial,
    /// identity or generated): every row holds NULL in it, so an index built on it cannot collide.
    pub fn adds_column_of_nulls(&self) -> bool {
        matches!(self, OpKind::AddColumn { default, computed: false, .. } if default.as_ref().is_none_or(|d| d.null))
    }

    /// The value this op gives the setting `setting`, and whether only for the transaction
    /// (`SET LOCAL`): a `SET` or `RESET` of it, or `RESET ALL` (every setting's default).
    pub fn setting(&self, setting: &str) -> Option<(&str, bool)> {
        match self {
            OpKind::Set { name, value, local } if name == setting || name == "all" => Some((value, *local)),
            _ => None,
        }
    }

    /// A scan or a refresh under a lock no ordinary query waits for (see
    /// [`crate::ir::migration::Stmt::runs_long_without_blocking`]).
    pub fn runs_long_without_blocking(&self) -> bool {
        matches!(self, OpKind::ValidateConstraint { .. } | OpKind::RefreshMaterializedView { concurrently: true, .. })
    }

    /// `ALTER TABLE t DISABLE TRIGGER|RULE|ROW LEVEL SECURITY` or `NO FORCE ROW LEVEL SECURITY`:
    /// what guards every session's writes, off until it is turned on again. In a transaction, the
    /// action's lock keeps other writers out until the `COMMIT`; the text of the action, if so.
    pub fn disables_a_guard(&self) -> Option<&str> {
        let OpKind::AlterTable { what, .. } = self else { return None };
        let off = ["DISABLE TRIGGER", "DISABLE RULE", "DISABLE ROW LEVEL", "NO FORCE ROW LEVEL"];
        off.iter().any(|w| what.starts_with(w)).then_some(what.as_str())
    }

    /// A `CONCURRENTLY` statement: an index's, or `DETACH PARTITION … CONCURRENTLY`. It cannot run
    /// inside a transaction block, and it waits for every older transaction.
    pub fn is_concurrent(&self) -> bool {
        matches!(
            self,
            OpKind::CreateIndex { concurrently: true, .. }
                | OpKind::DropIndex { concurrently: true, .. }
                | OpKind::Reindex { concurrently: true, .. }
                | OpKind::AlterTable { action: Action::DetachPartition { concurrently: true, .. }, .. }
        )
    }
}

impl Op {
    /// The strongest lock this op takes on a relation other than those in `new_tables`.
    pub fn strongest_lock_on_existing(&self, is_new: impl Fn(&Name) -> bool) -> Option<&LockUse> {
        self.locks.iter().filter(|l| !is_new(&l.table)).rev().max_by_key(|l| l.mode)
    }

    pub fn max_lock(&self) -> Option<LockMode> {
        self.locks.iter().map(|l| l.mode).max()
    }
}

#[cfg(test)]
mod tests {
    use super::Psql;

    /// Every op, statement and unit of a big draft is held until its plan is written (at 100k
    /// statements, tens of megabytes): a field that makes them larger must be boxed or counted
    /// (a key's clauses, inline, made every op 312 bytes instead of 176, and `check` 6 % larger).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn an_op_a_statement_and_a_unit_stay_small() {
        use std::mem::size_of;
        assert!(size_of::<super::Op>() <= 176, "Op: {} bytes", size_of::<super::Op>());
        assert!(
            size_of::<crate::ir::migration::Stmt>() <= 104,
            "Stmt: {} bytes",
            size_of::<crate::ir::migration::Stmt>()
        );
        assert!(size_of::<crate::passes::Unit>() <= 88, "Unit: {} bytes", size_of::<crate::passes::Unit>());
    }

    #[test]
    fn psql_commands() {
        for command in
            ["\\i other.sql", "\\ir x.sql", "\\include_relative y", "\\gexec", "\\! psql -c 'x'", "\\!ls", "\\I a"]
        {
            assert_eq!(Psql::of(command), Psql::RunsUnseenSql, "{command}");
        }
        assert_eq!(Psql::of("\\set  rows 10"), Psql::SetVariable("rows".into()));
        assert_eq!(Psql::of("\\unset rows"), Psql::SetVariable("rows".into()));
        assert_eq!(Psql::of("\\set"), Psql::Other, "lists the variables");
        assert_eq!(Psql::of("\\c other"), Psql::Connect);
        assert_eq!(Psql::of("\\encoding LATIN1"), Psql::Encoding);
        assert_eq!(Psql::of("\\encoding"), Psql::Other, "shows the encoding");
        assert_eq!(Psql::of("\\connect -reuse-previous=on dbname=x"), Psql::Connect);
        assert_eq!(Psql::of("\\if :flag"), Psql::If);
        assert_eq!(Psql::of("\\endif"), Psql::EndIf);
        assert_eq!(Psql::of("\\elif :other"), Psql::Else);
        assert_eq!(Psql::of("\\else"), Psql::Else);
        assert_eq!(Psql::of("\\gset pre_"), Psql::SetsVariablesFromRow);
        assert_eq!(Psql::of("\\set run_id `date +%s`"), Psql::SetsVariablesFromRow);
        assert_eq!(Psql::of("\\getenv who USER"), Psql::SetVariable("who".into()));
        assert_eq!(Psql::of("\\q"), Psql::Quit);
        assert_eq!(Psql::of("\\quit"), Psql::Quit);
        for command in ["\\echo hi", "\\copy t from stdin", "\\timing", "\\cd /tmp"] {
            assert_eq!(Psql::of(command), Psql::Other, "{command}");
        }
    }
}
