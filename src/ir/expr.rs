//! Typed expressions: what an expression of the draft reads and calls, computed once by lowering
//! from sqlparser's AST (`ir::lower_expr`), so that rules decide on meaning, never on text.

use super::name::Name;
use std::ops::Range;

/// How much a function's result may change, as PostgreSQL classifies functions. Ordered: the
/// volatility of an expression is the highest of its calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Volatility {
    /// The result depends only on the arguments (`lower`, `abs`, `md5`).
    Immutable,
    /// The same result for the same arguments within one statement (`now()`, `to_char`).
    Stable,
    /// May change on every call (`random()`, `nextval`), and every function pgsafe does not know.
    Volatile,
}

/// A function call inside an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Lower-cased, as called (`random`, `pg_catalog.lower`, `my_schema.f`).
    pub name: String,
    /// Draft offset of the call.
    pub at: usize,
    pub volatility: Volatility,
    /// A stable function whose value moves with the transaction (`now()`, `current_date`): each
    /// transaction of a batched loop would see another value.
    pub per_transaction: bool,
}

/// A column an expression reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRef {
    /// What qualifies it (`o` in `o.status`, `public.orders` in `public.orders.status`), folded.
    pub qualifier: Option<String>,
    /// The column, folded like PostgreSQL folds names.
    pub column: String,
    pub at: usize,
}

/// A subquery (`(SELECT …)`, `EXISTS (…)`, `IN (SELECT …)`) inside an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subquery {
    pub at: usize,
    /// The tables it reads (`FROM`, joins, nested subqueries), as written.
    pub tables: Vec<Name>,
    /// It has `LIMIT`, `OFFSET` or `FETCH`: which rows it picks depends on when it runs.
    pub limit: bool,
    /// It aggregates (`max(id)`, `count(*)`): its value depends on every row it reads.
    pub aggregate: bool,
}

/// A column's value cast to a date/time type (`noted::timestamptz`): where the column is text, a
/// row that says `'now'` reads the transaction's start time, as `now()` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeCast {
    pub column: ColumnRef,
    /// The type it is cast to (its base: `timestamptz`, `date`, `tstzrange`).
    pub to: String,
}

/// A built-in operator's name used without a schema (`+`; `=` in `IN (…)`, `~~` in `LIKE`), which
/// PostgreSQL looks up by its operands' types: a user's `CREATE OPERATOR` of that name may be
/// the one it picks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorUse {
    /// As PostgreSQL names it (`<>` for `!=`).
    pub name: &'static str,
    pub at: usize,
}

/// A part of an expression pgsafe does not analyse (treated as volatile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    pub what: String,
    pub at: usize,
}

/// An expression of the draft with what rules need to know about its meaning.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Expr {
    /// The expression's text in the draft (reused verbatim by rewrites).
    pub span: Range<usize>,
    pub columns: Vec<ColumnRef>,
    pub calls: Vec<Call>,
    /// Aggregate and window function calls (`count(*)`, `row_number() OVER ()`) outside subqueries.
    pub aggregates: Vec<Call>,
    pub subqueries: Vec<Subquery>,
    /// The `DEFAULT` keyword (`SET c = DEFAULT`): the column's default, which may be volatile.
    pub default: bool,
    pub unknown: Vec<Unknown>,
    /// Its casts of a column's value to a date/time type where the column's type decides
    /// whether a row's `'now'` is read (a value known not to be text by its form is not here,
    /// one that may be by its form is a per-transaction call).
    pub time_casts: Vec<TimeCast>,
    /// The built-in operators it uses by name (in its subqueries too).
    pub operators: Vec<OperatorUse>,
}

impl Expr {
    /// The highest volatility of the expression's calls; unknown parts count as volatile.
    pub fn volatility(&self) -> Volatility {
        let calls = self.calls.iter().chain(&self.aggregates).map(|c| c.volatility);
        let unknown = (!self.unknown.is_empty() || self.default).then_some(Volatility::Volatile);
        calls.chain(unknown).max().unwrap_or(Volatility::Immutable)
    }

    /// Does it have a `LIMIT`/`OFFSET`/`FETCH` anywhere (in a subquery)?
    pub fn limit(&self) -> bool {
        self.subqueries.iter().any(|s| s.limit)
    }

    /// Does it read a column of its own row named `column` (unqualified, or qualified by one of
    /// `qualifiers`)?
    pub fn reads(&self, column: &str, qualifiers: &[String]) -> bool {
        self.columns.iter().any(|c| c.column == column && c.qualifier.as_ref().is_none_or(|q| qualifiers.contains(q)))
    }

    /// A reference to its own whole row, which reads every column: `t.*`, or the table's name or
    /// alias (one of `qualifiers`) as a value (`row_to_json(t)`, `(t)::text`). A column named
    /// like the table counts too: PostgreSQL reads it as the column, but pgsafe may not know it.
    pub fn whole_row(&self, qualifiers: &[String]) -> Option<&ColumnRef> {
        self.columns.iter().find(|c| match &c.qualifier {
            Some(q) => c.column == "*" && qualifiers.contains(q),
            None => qualifiers.contains(&c.column),
        })
    }
}
