//! Lowering of expressions: sqlparser's `Expr` → [`ir::expr::Expr`](super::expr::Expr), the
//! columns, calls, aggregates and subqueries rules reason about. Every construct this walk does
//! not know is recorded as [`Unknown`], which counts as volatile: pgsafe never assumes.

use super::catalog::SqlType;
use super::expr::{Call, ColumnRef, Expr, OperatorUse, Subquery, TimeCast, Unknown, Volatility};
use super::functions;
use super::name::Name;
use sqlparser::ast::{
    self as sql, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr, Ident, ObjectName, Query, SelectItem,
    SetExpr, Spanned, TableFactor, TableWithJoins,
};
use sqlparser::tokenizer::Location;
use std::ops::Range;

/// Maps sqlparser's line/column locations (characters, 1-based) in one statement's text to byte
/// offsets in the draft.
pub struct Locations<'a> {
    text: &'a str,
    base: usize,
    /// For each line, the index in `text`, counted in characters, of its first character.
    line_chars: Vec<usize>,
    /// For each character wider than one byte: its character index and the bytes the wide
    /// characters up to and including it add beyond one each. Empty for ASCII text. With it a
    /// location costs a binary search, not a walk along its line: a data fix on one long line
    /// has a location per value.
    wide: Vec<(usize, usize)>,
    chars: usize,
}

impl<'a> Locations<'a> {
    /// `text` is the statement body as sqlparser saw it (same bytes as the draft at `base`).
    pub fn new(text: &'a str, base: usize) -> Locations<'a> {
        let mut line_chars = vec![0];
        let mut wide = Vec::new();
        let chars = if text.is_ascii() {
            line_chars.extend(text.match_indices('\n').map(|(i, _)| i + 1));
            text.len()
        } else {
            let mut extra = 0;
            let mut n = 0;
            for c in text.chars() {
                if c == '\n' {
                    line_chars.push(n + 1);
                }
                if c.len_utf8() > 1 {
                    extra += c.len_utf8() - 1;
                    wide.push((n, extra));
                }
                n += 1;
            }
            n
        };
        Locations { text, base, line_chars, wide, chars }
    }

    /// The draft offset of `loc` (sqlparser counts columns in characters), or `None` for an
    /// empty location.
    pub fn offset(&self, loc: Location) -> Option<usize> {
        if loc.line == 0 || loc.column == 0 {
            return None;
        }
        let line = *self.line_chars.get(usize::try_from(loc.line).ok()? - 1)?;
        let char_at = line.saturating_add(usize::try_from(loc.column).ok()? - 1);
        if char_at >= self.chars {
            return Some(self.base + self.text.len());
        }
        let wide_before = self.wide.partition_point(|&(c, _)| c < char_at);
        let extra = wide_before.checked_sub(1).map_or(0, |k| self.wide[k].1);
        Some(self.base + char_at + extra)
    }

    fn at(&self, node: &impl Spanned, fallback: usize) -> usize {
        self.offset(node.span().start).unwrap_or(fallback)
    }
}

/// Lower `ast`, whose text is `span` of the draft.
pub fn lower(ast: &sql::Expr, span: Range<usize>, locations: &Locations<'_>) -> Expr {
    let mut walk = Walk { loc: locations, fallback: span.start, out: Expr { span, ..Expr::default() } };
    walk.expr(ast);
    walk.out
}

/// The tables `q` reads (`FROM`, joins, CTEs, subqueries in its expressions), as written; the
/// query's own CTE names are not tables. `text` is the statement's text.
pub fn query_tables(q: &Query, text: &str) -> Vec<Name> {
    let locations = Locations::new(text, 0);
    let mut walk = Walk { loc: &locations, fallback: 0, out: Expr { span: 0..text.len(), ..Expr::default() } };
    let mut sub = Subquery { at: 0, tables: Vec::new(), limit: false, aggregate: false };
    walk.query(q, &mut sub);
    let ctes: Vec<String> = q.with.iter().flat_map(|w| &w.cte_tables).map(|c| ident_key(&c.alias.name)).collect();
    let mut tables: Vec<Name> = Vec::new();
    for t in sub.tables.into_iter().chain(walk.out.subqueries.into_iter().flat_map(|s| s.tables)) {
        if !ctes.iter().any(|c| *c == *t.key) && !tables.iter().any(|known| known.key == t.key) {
            tables.push(t);
        }
    }
    tables
}

/// Could the plain query `q` (`text`) run long: does it read a relation or a table function, or
/// call a function pgsafe does not know to return at once (a user's function, `pg_sleep`)? Parts
/// the walk does not know count as long.
pub fn query_may_run_long(q: &Query, text: &str) -> bool {
    let locations = Locations::new(text, 0);
    let mut walk = Walk { loc: &locations, fallback: 0, out: Expr { span: 0..text.len(), ..Expr::default() } };
    let mut sub = Subquery { at: 0, tables: Vec::new(), limit: false, aggregate: false };
    walk.query(q, &mut sub);
    let e = &walk.out;
    !sub.tables.is_empty()
        || e.subqueries.iter().any(|s| !s.tables.is_empty())
        || !e.unknown.is_empty()
        || e.calls.iter().chain(&e.aggregates).any(|c| !functions::returns_at_once(&c.name))
}

struct Walk<'l, 'a> {
    loc: &'l Locations<'a>,
    /// Where a part without a location of its own is reported.
    fallback: usize,
    out: Expr,
}

/// Folded like PostgreSQL folds names.
pub fn ident_key(id: &Ident) -> String {
    if id.quote_style.is_some() {
        id.value.clone()
    } else {
        crate::front::tokens::fold_word(&id.value)
    }
}

fn object_key(name: &ObjectName) -> String {
    name.0.iter().filter_map(|p| p.as_ident()).map(ident_key).collect::<Vec<_>>().join(".")
}

/// SQL's special functions written without parentheses, which a parser may read as a column.
const BARE_FUNCTIONS: &[&str] = &[
    "current_date",
    "current_time",
    "current_timestamp",
    "localtime",
    "localtimestamp",
    "current_user",
    "session_user",
    "current_role",
    "current_catalog",
    "current_schema",
    "user",
];

fn is_built_in(t: &sql::DataType) -> bool {
    matches!(t, sql::DataType::Interval { .. }) || SqlType::parse(&t.to_string()).is_built_in()
}

/// The types whose input reads `'now'`, `'today'`, … as the transaction's time (ranges,
/// multiranges and arrays read their elements so).
const DATE_TIME: &[&str] = &[
    "date",
    "time",
    "timetz",
    "timestamp",
    "timestamptz",
    "daterange",
    "tsrange",
    "tstzrange",
    "datemultirange",
    "tsmultirange",
    "tstzmultirange",
];

/// Might a constant cast to `t` be read by a date/time type's input: `t` is one (or a range or
/// an array of one), or a type that is not built in (a domain over one)?
fn may_read_as_time(t: &sql::DataType) -> bool {
    !is_built_in(t) || DATE_TIME.contains(&SqlType::parse(&t.to_string()).base.as_str())
}

/// Is `t` one of the string types, whose values a cast to another type reads with that type's
/// input?
fn is_string_type(t: &sql::DataType) -> bool {
    ["text", "varchar", "bpchar", "name"].contains(&SqlType::parse(&t.to_string()).base.as_str())
}

/// Might `e` be text (so that a cast of it to a date/time type reads `'now'`)? From its form: a
/// string, `||`, a cast to a string type, a call of a built-in that returns text. A column's type
/// is not known here: [`Walk::not_text`] leaves it to the rules, which look it up.
fn may_be_text(e: &sql::Expr) -> bool {
    use sql::Expr as E;
    match e {
        E::Value(v) => string_value(&v.value).is_some(),
        E::Nested(x) | E::Collate { expr: x, .. } => may_be_text(x),
        E::BinaryOp { op, .. } => matches!(
            op,
            sql::BinaryOperator::StringConcat | sql::BinaryOperator::LongArrow | sql::BinaryOperator::HashLongArrow
        ),
        E::Cast { data_type, .. } => is_string_type(data_type),
        E::Substring { .. } | E::Trim { .. } | E::Overlay { .. } => true,
        E::Case { conditions, else_result, .. } => {
            conditions.iter().any(|c| may_be_text(&c.result)) || else_result.as_deref().is_some_and(may_be_text)
        }
        E::Function(f) => match object_key(&f.name).as_str() {
            "coalesce" | "nullif" | "greatest" | "least" => match &f.args {
                FunctionArguments::List(list) => list
                    .args
                    .iter()
                    .any(|a| matches!(a, FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) if may_be_text(x))),
                _ => false,
            },
            name => functions::returns_text(name),
        },
        _ => false,
    }
}

/// The contents of a string constant, however quoted (`'…'`, `E'…'`, `U&'…'`, `N'…'`, `$$…$$`).
fn string_value(v: &sql::Value) -> Option<&str> {
    match v {
        sql::Value::SingleQuotedString(s)
        | sql::Value::EscapedStringLiteral(s)
        | sql::Value::UnicodeStringLiteral(s)
        | sql::Value::NationalStringLiteral(s) => Some(s),
        sql::Value::DollarQuotedString(d) => Some(&d.value),
        _ => None,
    }
}

/// A string the date and time types read as the transaction's start time (`'now'`, and the dates
/// `'today'`, `'tomorrow'`, `'yesterday'` of it), as pgsafe names it: one of those words, whatever
/// it is cast to, or a longer string that says one (`'today 10:00'`, `'[now,)'`, `'{now}'`) cast
/// to a type that may read it so (`to`), or left for its context to type (`None`: a column's
/// type, the other operand's).
fn transaction_time_input(v: &sql::Value, to: Option<&sql::DataType>) -> Option<String> {
    use super::transaction_time::{is_special_input, says_special_input};
    let s = string_value(v)?;
    if is_special_input(s) {
        return Some(format!("'{}'", s.trim().to_ascii_lowercase()));
    }
    let shown = || {
        let mut shown: String = s.chars().take(40).collect();
        if shown.len() < s.len() {
            shown.push('…');
        }
        format!("'{shown}'")
    };
    (to.is_none_or(may_read_as_time) && says_special_input(s)).then(shown)
}

impl Walk<'_, '_> {
    fn at(&self, node: &impl Spanned) -> usize {
        self.loc.at(node, self.fallback)
    }

    fn unknown(&mut self, what: &str, at: usize) {
        self.out.unknown.push(Unknown { what: what.to_string(), at });
    }

    fn call(&mut self, name: String, at: usize) -> Call {
        let (volatility, per_transaction) = functions::volatility(&name);
        Call { name, at, volatility, per_transaction }
    }

    /// A user's operator (`CREATE OPERATOR`) runs a function of its own, which pgsafe cannot see.
    /// A built-in operator's name is recorded where it is looked up by the operands' types (not
    /// `OPERATOR(pg_catalog.+)`): a user may have given it another function for other types.
    fn operator(&mut self, op: &str, at: usize) {
        match functions::builtin_operator(op) {
            None => self.unknown(&format!("the operator {op} (not one of PostgreSQL's built-in operators)"), at),
            Some(name) if !op.contains('.') => self.out.operators.push(OperatorUse { name, at }),
            Some(_) => {}
        }
    }

    /// A constant (`v`, cast to `to` if it is): read per statement where it says `'now'` (see
    /// [`transaction_time_input`]), like `now()` (a batch per transaction gives each batch its
    /// own).
    fn constant(&mut self, v: &sql::Value, to: Option<&sql::DataType>, at: usize) {
        if let Some(name) = transaction_time_input(v, to) {
            self.out.calls.push(Call { name, at, volatility: Volatility::Stable, per_transaction: true });
        }
    }

    /// An operand that is read as text whatever it is (`LIKE`'s, a string function's argument): a
    /// constant there is text, not a time.
    fn text_operand(&mut self, e: &sql::Expr) {
        let mut inner = e;
        while let sql::Expr::Nested(x) = inner {
            inner = x;
        }
        if !matches!(inner, sql::Expr::Value(_)) {
            self.expr(e);
        }
    }

    /// Is `e` known not to be text, so that a cast of it to a date/time type cannot read a
    /// `'now'`? Told from its form; where that rests on columns' types (`c`, `coalesce(a, b)`)
    /// they are pushed on `columns`, for the rules to look up. `false` where pgsafe cannot tell.
    fn not_text(&self, e: &sql::Expr, columns: &mut Vec<ColumnRef>) -> bool {
        use sql::Expr as E;
        match e {
            E::Nested(x) => self.not_text(x, columns),
            E::Identifier(id) => self.not_text_column(std::slice::from_ref(id), self.at(e), columns),
            E::CompoundIdentifier(parts) => self.not_text_column(parts, self.at(e), columns),
            E::Value(v) => string_value(&v.value).is_none(),
            E::Cast { data_type, .. } | E::TypedString(sql::TypedString { data_type, .. }) => {
                is_built_in(data_type) && !is_string_type(data_type)
            }
            // Arithmetic, comparisons and logic give numbers, times, intervals or booleans; others
            // may give text (`||`, `->>`, and an extension's: hstore's `->`).
            E::BinaryOp { op, .. } => {
                use sql::BinaryOperator as B;
                matches!(
                    op,
                    B::Plus
                        | B::Minus
                        | B::Multiply
                        | B::Divide
                        | B::Modulo
                        | B::Eq
                        | B::NotEq
                        | B::Lt
                        | B::LtEq
                        | B::Gt
                        | B::GtEq
                        | B::And
                        | B::Or
                )
            }
            E::UnaryOp { .. } | E::AtTimeZone { .. } | E::Extract { .. } | E::Ceil { .. } | E::Floor { .. } => true,
            E::Case { conditions, else_result, .. } => conditions
                .iter()
                .map(|c| &c.result)
                .chain(else_result.iter().map(AsRef::as_ref))
                .all(|x| self.not_text(x, columns)),
            E::Function(f) => match object_key(&f.name).as_str() {
                "coalesce" | "nullif" | "greatest" | "least" => match &f.args {
                    FunctionArguments::List(list) if list.clauses.is_empty() => list.args.iter().all(|a| match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => self.not_text(x, columns),
                        _ => false,
                    }),
                    _ => false,
                },
                name => functions::returns_no_text(name),
            },
            _ => false,
        }
    }

    /// A column as [`Walk::not_text`]'s operand: its type decides (SQL's bare functions of the
    /// clock give times; those of the session, names).
    fn not_text_column(&self, parts: &[Ident], at: usize, columns: &mut Vec<ColumnRef>) -> bool {
        let Some((last, qualifier)) = parts.split_last() else { return false };
        if qualifier.is_empty() && last.quote_style.is_none() {
            let key = last.value.to_lowercase();
            if BARE_FUNCTIONS.contains(&key.as_str()) {
                return functions::returns_no_text(&key);
            }
            if key == "default" {
                return false;
            }
        }
        let qualifier = (!qualifier.is_empty()).then(|| qualifier.iter().map(ident_key).collect::<Vec<_>>().join("."));
        columns.push(ColumnRef { qualifier, column: ident_key(last), at });
        true
    }

    /// A cast (or a constant of a type) runs the type's input or cast function: a user type's may
    /// do anything.
    fn data_type(&mut self, t: &sql::DataType, at: usize) {
        if !is_built_in(t) {
            self.unknown(&format!("a cast to {t} (not a built-in type)"), at);
        }
    }

    fn column(&mut self, parts: &[Ident], at: usize) {
        let Some((last, qualifier)) = parts.split_last() else { return };
        if qualifier.is_empty() && last.quote_style.is_none() {
            let key = last.value.to_lowercase();
            if key == "default" {
                self.out.default = true;
                return;
            }
            if BARE_FUNCTIONS.contains(&key.as_str()) {
                let call = self.call(key, at);
                self.out.calls.push(call);
                return;
            }
        }
        let qualifier = (!qualifier.is_empty()).then(|| qualifier.iter().map(ident_key).collect::<Vec<_>>().join("."));
        self.out.columns.push(ColumnRef { qualifier, column: ident_key(last), at });
    }

    /// `t.*`: every column of `t`, recorded as the column `*`.
    fn whole_row(&mut self, name: &ObjectName, at: usize) {
        let qualifier = Some(object_key(name));
        self.out.columns.push(ColumnRef { qualifier, column: "*".into(), at });
    }

    fn exprs<'e>(&mut self, list: impl IntoIterator<Item = &'e sql::Expr>) {
        for e in list {
            self.expr(e);
        }
    }

    fn expr(&mut self, e: &sql::Expr) {
        use sql::Expr as E;
        let at = self.at(e);
        match e {
            E::Identifier(id) => self.column(std::slice::from_ref(id), at),
            E::CompoundIdentifier(parts) => self.column(parts, at),
            E::Value(v) => self.constant(&v.value, None, at),
            E::TypedString(sql::TypedString { data_type, value, .. }) => {
                self.constant(&value.value, Some(data_type), at)
            }
            E::IsFalse(x)
            | E::IsNotFalse(x)
            | E::IsTrue(x)
            | E::IsNotTrue(x)
            | E::IsNull(x)
            | E::IsNotNull(x)
            | E::IsUnknown(x)
            | E::IsNotUnknown(x)
            | E::Nested(x)
            | E::Collate { expr: x, .. }
            | E::Extract { expr: x, .. }
            | E::Ceil { expr: x, .. }
            | E::Floor { expr: x, .. }
            | E::IsNormalized { expr: x, .. }
            | E::IsJson { expr: x, .. }
            | E::Prefixed { value: x, .. } => self.expr(x),
            E::UnaryOp { op, expr } => {
                if !matches!(op, sql::UnaryOperator::Not) {
                    self.operator(&op.to_string(), at);
                }
                self.expr(expr);
            }
            E::Cast { expr, data_type, .. } => {
                let mut inner = expr.as_ref();
                while let E::Nested(x) = inner {
                    inner = x;
                }
                // A constant of any type is made once, as the statement is parsed (`'active'::mood`
                // is a constant: a default of it adds the column without a rewrite).
                if let E::Value(v) = inner {
                    self.constant(&v.value, Some(data_type), self.at(inner));
                    return;
                }
                self.data_type(data_type, at);
                // Text made as the statement runs may say 'now': read per statement, like now().
                // So may a value pgsafe does not know not to be text (a column of a type it does
                // not know, a function's result): a text column's row may say 'now'.
                let base = SqlType::parse(&data_type.to_string()).base;
                if DATE_TIME.contains(&base.as_str()) {
                    let mut columns = Vec::new();
                    let name = if may_be_text(expr) {
                        Some(format!("a cast of text to {base} (which reads 'now' as the transaction's time)"))
                    } else if !self.not_text(expr, &mut columns) {
                        Some(format!(
                            "a cast to {base} of a value that may be text (which reads 'now' as the transaction's time)"
                        ))
                    } else {
                        None
                    };
                    if let Some(name) = name {
                        self.out.calls.push(Call { name, at, volatility: Volatility::Stable, per_transaction: true });
                    } else {
                        let to = base.clone();
                        self.out
                            .time_casts
                            .extend(columns.into_iter().map(|column| TimeCast { column, to: to.clone() }));
                    }
                }
                self.expr(expr);
            }
            E::BinaryOp { left: a, op, right: b }
            | E::AnyOp { left: a, compare_op: op, right: b, .. }
            | E::AllOp { left: a, compare_op: op, right: b } => {
                match op {
                    sql::BinaryOperator::And | sql::BinaryOperator::Or | sql::BinaryOperator::Overlaps => {}
                    sql::BinaryOperator::PGCustomBinaryOperator(parts) => self.operator(&parts.join("."), at),
                    op => self.operator(&op.to_string(), at),
                }
                self.expr(a);
                self.expr(b);
            }
            // Operators PostgreSQL looks up by name for these forms, which a user's may be.
            E::IsDistinctFrom(a, b) | E::IsNotDistinctFrom(a, b) => {
                self.operator("=", at);
                self.exprs([a.as_ref(), b]);
            }
            E::Like { expr: a, pattern: b, negated, .. }
            | E::ILike { expr: a, pattern: b, negated, .. }
            | E::SimilarTo { expr: a, pattern: b, negated, .. } => {
                let op = match (e, negated) {
                    (E::Like { .. }, false) => "~~",
                    (E::Like { .. }, true) => "!~~",
                    (E::ILike { .. }, false) => "~~*",
                    (E::ILike { .. }, true) => "!~~*",
                    (_, false) => "~",
                    (_, true) => "!~",
                };
                self.operator(op, at);
                self.text_operand(a);
                self.text_operand(b);
            }
            E::Position { expr: a, r#in: b } => {
                self.text_operand(a);
                self.text_operand(b);
            }
            E::AtTimeZone { timestamp: a, time_zone: b } => {
                self.expr(a);
                self.expr(b);
            }
            E::Between { expr, low, high, negated } => {
                for op in if *negated { ["<", ">"] } else { [">=", "<="] } {
                    self.operator(op, at);
                }
                self.exprs([expr.as_ref(), low, high]);
            }
            E::In { expr, target, negated, .. } => {
                self.expr(expr);
                match target {
                    sql::InTarget::List(list) => {
                        self.operator(if *negated { "<>" } else { "=" }, at);
                        self.exprs(list)
                    }
                    sql::InTarget::Subquery(q) => self.subquery(q, self.at(q.as_ref())),
                    _ => self.unknown("an IN target", at),
                }
            }
            E::Substring { expr, substring_from, substring_for, .. } => {
                self.expr(expr);
                self.exprs(substring_from.iter().chain(substring_for).map(AsRef::as_ref));
            }
            E::Trim { expr, trim_what, trim_characters, .. } => {
                self.expr(expr);
                self.exprs(trim_what.iter().map(AsRef::as_ref));
                self.exprs(trim_characters.iter().flatten());
            }
            E::Overlay { expr, overlay_what, overlay_from, overlay_for } => {
                self.exprs([expr.as_ref(), overlay_what, overlay_from]);
                self.exprs(overlay_for.iter().map(AsRef::as_ref));
            }
            E::Case { operand, conditions, else_result, .. } => {
                if operand.is_some() {
                    self.operator("=", at);
                }
                self.exprs(operand.iter().map(AsRef::as_ref));
                for c in conditions {
                    self.expr(&c.condition);
                    self.expr(&c.result);
                }
                self.exprs(else_result.iter().map(AsRef::as_ref));
            }
            E::Tuple(list) => self.exprs(list),
            E::Array(a) => self.exprs(&a.elem),
            E::Interval(i) => self.expr(&i.value),
            E::CompoundFieldAccess { root, access_chain } => {
                self.expr(root);
                for a in access_chain {
                    match a {
                        sql::AccessExpr::Dot(x) => self.expr(x),
                        sql::AccessExpr::Subscript(sql::Subscript::Index { index }) => self.expr(index),
                        sql::AccessExpr::Subscript(sql::Subscript::Slice { lower_bound, upper_bound, stride }) => {
                            self.exprs(lower_bound.iter().chain(upper_bound).chain(stride))
                        }
                    }
                }
            }
            E::Function(f) => self.function(f, at),
            E::QualifiedWildcard(name, _) => self.whole_row(name, at),
            E::Exists { subquery, .. } | E::Subquery(subquery) => self.subquery(subquery, self.at(subquery.as_ref())),
            _ => self.unknown("an expression pgsafe does not analyse", at),
        }
    }

    fn function(&mut self, f: &sql::Function, at: usize) {
        let call = self.call(object_key(&f.name), at);
        if functions::builtin_name(&call.name) == Some("nullif") {
            self.operator("=", at);
        }
        let text_arguments = functions::takes_text(&call.name);
        let aggregate =
            f.over.is_some() || f.filter.is_some() || !f.within_group.is_empty() || functions::is_aggregate(&call.name);
        if aggregate {
            self.out.aggregates.push(call);
        } else {
            self.out.calls.push(call);
        }
        if let Some(filter) = &f.filter {
            self.expr(filter);
        }
        for args in [&f.parameters, &f.args] {
            match args {
                FunctionArguments::None => {}
                FunctionArguments::Subquery(q) => self.subquery(q, at),
                FunctionArguments::List(list) => {
                    for a in &list.args {
                        let arg = match a {
                            FunctionArg::Named { arg, .. }
                            | FunctionArg::ExprNamed { arg, .. }
                            | FunctionArg::Unnamed(arg) => arg,
                        };
                        match arg {
                            FunctionArgExpr::Expr(x) if text_arguments => self.text_operand(x),
                            FunctionArgExpr::Expr(x) => self.expr(x),
                            // `count(*)`: an aggregate, stopped as such.
                            FunctionArgExpr::Wildcard => {}
                            FunctionArgExpr::QualifiedWildcard(name) => self.whole_row(name, at),
                            _ => self.unknown("a function argument pgsafe does not analyse", at),
                        }
                    }
                    if !list.clauses.is_empty() {
                        self.unknown("a clause inside a function call", at);
                    }
                }
            }
        }
    }

    /// A subquery: its tables, `LIMIT`, aggregation; its calls count for the expression's
    /// volatility, its columns do not (they are the subquery's tables' columns).
    fn subquery(&mut self, q: &Query, at: usize) {
        let mut inner = Walk { loc: self.loc, fallback: at, out: Expr::default() };
        let mut sub = Subquery { at, tables: Vec::new(), limit: false, aggregate: false };
        inner.query(q, &mut sub);
        sub.aggregate |= !inner.out.aggregates.is_empty();
        for s in inner.out.subqueries {
            sub.tables.extend(s.tables);
            sub.limit |= s.limit;
        }
        self.out.calls.extend(inner.out.calls);
        self.out.unknown.extend(inner.out.unknown);
        self.out.operators.extend(inner.out.operators);
        self.out.subqueries.push(sub);
    }

    fn query(&mut self, q: &Query, sub: &mut Subquery) {
        sub.limit |= q.limit_clause.is_some() || q.fetch.is_some();
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                self.query(&cte.query, sub);
            }
        }
        self.set_expr(&q.body, sub);
    }

    fn set_expr(&mut self, body: &SetExpr, sub: &mut Subquery) {
        match body {
            SetExpr::Select(s) => {
                for item in &s.projection {
                    match item {
                        SelectItem::UnnamedExpr(e)
                        | SelectItem::ExprWithAlias { expr: e, .. }
                        | SelectItem::ExprWithAliases { expr: e, .. } => self.expr(e),
                        SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {}
                    }
                }
                for t in &s.from {
                    self.table_with_joins(t, sub);
                }
                self.exprs(s.selection.iter().chain(&s.having));
                match &s.group_by {
                    GroupByExpr::Expressions(list, _) if list.is_empty() => {}
                    _ => sub.aggregate = true,
                }
                sub.aggregate |= s.having.is_some();
            }
            SetExpr::Query(q) => self.query(q, sub),
            SetExpr::SetOperation { left, right, .. } => {
                self.set_expr(left, sub);
                self.set_expr(right, sub);
            }
            SetExpr::Values(v) => {
                for row in &v.rows {
                    self.exprs(&row.content);
                }
            }
            _ => self.unknown("a data-modifying subquery", sub.at),
        }
    }

    fn table_with_joins(&mut self, t: &TableWithJoins, sub: &mut Subquery) {
        self.table_factor(&t.relation, sub);
        for j in &t.joins {
            self.table_factor(&j.relation, sub);
        }
    }

    fn table_factor(&mut self, t: &TableFactor, sub: &mut Subquery) {
        match t {
            TableFactor::Table { name, .. } => sub.tables.push(Name::new(&name.to_string())),
            TableFactor::Derived { subquery, .. } => self.query(subquery, sub),
            TableFactor::NestedJoin { table_with_joins, .. } => self.table_with_joins(table_with_joins, sub),
            _ => {
                self.unknown("a table function", sub.at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    fn lower_text(text: &str) -> Expr {
        let ast = Parser::new(&PostgreSqlDialect {}).try_with_sql(text).unwrap().parse_expr().unwrap();
        lower(&ast, 0..text.len(), &Locations::new(text, 0))
    }

    use crate::ir::expr::Volatility;

    proptest::proptest! {
        /// The indexed lookup finds the byte the walk along the line finds, on text with wide
        /// characters and line breaks, for any location (past the end included).
        #[test]
        fn offsets_match_the_walk(text in "[a\u{e9}\u{20ac}\u{1f600}\n ]{0,40}", line in 0u64..6, column in 0u64..45) {
            let walk = |line: u64, column: u64| -> Option<usize> {
                if line == 0 || column == 0 {
                    return None;
                }
                let start = *std::iter::once(0)
                    .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                    .collect::<Vec<_>>()
                    .get(line as usize - 1)?;
                let rest = &text[start..];
                Some(7 + start + rest.char_indices().nth(column as usize - 1).map_or(rest.len(), |(i, _)| i))
            };
            let loc = Location { line, column };
            proptest::prop_assert_eq!(Locations::new(&text, 7).offset(loc), walk(line, column));
        }
    }

    #[test]
    fn calls_with_a_space_are_calls() {
        let e = lower_text("random () < 0.01");
        assert_eq!(e.calls[0].name, "random");
        assert_eq!(e.volatility(), Volatility::Volatile);
        assert!(e.columns.is_empty());
    }

    #[test]
    fn subqueries_limits_and_aggregates() {
        let e = lower_text("id IN (SELECT id FROM line_items ORDER BY id LIMIT 1000)");
        assert_eq!(e.subqueries.len(), 1);
        assert!(e.limit());
        assert_eq!(&*e.subqueries[0].tables[0].key, "line_items");
        assert_eq!(e.subqueries[0].at, 7);
        let e = lower_text("id > (SELECT max(id) - 50 FROM line_items)");
        assert!(e.subqueries[0].aggregate && !e.limit());
        assert!(e.aggregates.is_empty());
    }

    #[test]
    fn columns_defaults_and_bare_functions() {
        let e = lower_text("lower(o.\"Email\") || status");
        let cols: Vec<(Option<&str>, &str)> =
            e.columns.iter().map(|c| (c.qualifier.as_deref(), c.column.as_str())).collect();
        assert_eq!(cols, [(Some("o"), "Email"), (None, "status")]);
        assert_eq!(e.volatility(), Volatility::Immutable);
        let e = lower_text("current_date");
        assert!(e.columns.is_empty() && e.calls[0].per_transaction);
        assert!(lower_text("DEFAULT").default);
        assert_eq!(lower_text("app.normalise(x)").volatility(), Volatility::Volatile);
    }

    #[test]
    fn user_operators_and_types_are_unknown() {
        for text in ["a ### 0", "a OPERATOR(app.+) 1", "a <=> b", "(a::public.mytype)::int", "b::mood"] {
            assert_eq!(lower_text(text).volatility(), Volatility::Volatile, "{text}");
        }
        // A constant of a user's type is made once, when the statement is parsed.
        for text in ["'active'::mood", "('active')::public.mood", "public.mood 'x'", "CAST('x' AS mood)"] {
            assert_eq!(lower_text(text).volatility(), Volatility::Immutable, "{text}");
        }
        for text in [
            "a = 1 AND b <> 'x' OR c || d ~~ 'a%' AND NOT e",
            "j ->> 'k' = 'v' AND j @> '{}' AND j #>> '{a}' IS DISTINCT FROM 'x' AND a OPERATOR(pg_catalog.+) 1 > -2",
            "a = ANY(b) AND |/ a > 2 AND t ^@ 'x' AND (a * 2 % 3) / 4 - 1 >= 0",
            "a::int + b::text::numeric(10,2) + c::varchar(3)::uuid::jsonb::pg_catalog.int8 + d::int[] + e::interval day",
            "CAST(a AS timestamp with time zone) + CAST(b AS double precision) + c::timestamptz + date '2020-01-01'",
        ] {
            assert_eq!(lower_text(text).volatility(), Volatility::Immutable, "{text}");
        }
    }

    #[test]
    fn text_cast_to_a_date_time_type_reads_now() {
        for text in [
            "$$now$$::timestamptz",
            "$q$now$q$::timestamptz",
            "('no' || 'w')::timestamptz",
            "reverse('won')::timestamptz",
            "(chr(110) || 'ow')::date",
            "U&'n\\006Fw'::timestamptz",
            "timestamptz $$today$$",
            "CAST(lower(coalesce(null, 'NOW')) AS time)",
            "(note || '')::timestamp[]",
        ] {
            let e = lower_text(text);
            assert!(e.calls.iter().any(|c| c.per_transaction), "{text}: {e:?}");
        }
        for text in
            ["'2020-01-01'::date", "('2020-01-01')::timestamptz", "created_at::date", "(ts + interval '1 day')::date"]
        {
            let e = lower_text(text);
            assert!(!e.calls.iter().any(|c| c.per_transaction), "{text}: {e:?}");
        }
    }

    #[test]
    fn longer_strings_that_say_now_are_read_per_transaction() {
        let per_transaction = |text: &str| lower_text(text).calls.iter().any(|c| c.per_transaction);
        for text in [
            "'today 10:00'::timestamp",
            "'[now,)'::tstzrange",
            "'{now}'::timestamptz[]",
            "timestamp 'tomorrow 10:00'",
            "'Yesterday 23:59'",
            "CAST('{n\\ow}' AS date[])",
            "('today 10:00')::app.stamp",
            "ARRAY['now', '2020-01-01']",
        ] {
            assert!(per_transaction(text), "{text}");
        }
        // Read as text, or no date/time input at all.
        for text in [
            "'see you tomorrow'::text",
            "note LIKE '%now%'",
            "lower('Today') || replace(note, 'now', '')",
            "'2020-01-01 10:00'::timestamp",
            "'nowhere'",
            "interval '1 day'",
        ] {
            assert!(!per_transaction(text), "{text}");
        }
    }

    #[test]
    fn columns_cast_to_a_date_time_type_are_left_to_their_types() {
        let cast = |text: &str| {
            let e = lower_text(text);
            let columns: Vec<String> = e.time_casts.iter().map(|c| format!("{}:{}", c.column.column, c.to)).collect();
            (columns.join(" "), e.calls.iter().any(|c| c.per_transaction))
        };
        assert_eq!(cast("created_at::date"), ("created_at:date".into(), false));
        assert_eq!(cast("CAST(coalesce(o.a, b) AS tstzrange)"), ("a:tstzrange b:tstzrange".into(), false));
        assert_eq!(cast("CASE WHEN x THEN a ELSE date '2020-01-01' END::timestamp"), ("a:timestamp".into(), false));
        // Known not to be text by their form.
        for text in ["(ts + interval '1 day')::date", "date_trunc('day', ts)::date", "(a::int8)::timestamptz"] {
            assert_eq!(cast(text), (String::new(), false), "{text}");
        }
        // Not known either way: read per transaction.
        for text in ["(a[1])::date", "f(a)::timestamptz", "current_user::date", "(j -> 'k')::timestamptz"] {
            assert!(cast(text).1, "{text}");
        }
    }

    #[test]
    fn operators_looked_up_by_name_are_recorded() {
        let e = lower_text(
            "a + b = c AND d LIKE 'x' AND e NOT IN (1) AND f BETWEEN 1 AND 2 AND g != 1 \
             AND h OPERATOR(pg_catalog.-) 1 AND -i > 0",
        );
        let names: Vec<&str> = e.operators.iter().map(|o| o.name).collect();
        assert_eq!(names, ["=", "+", "~~", "<>", ">=", "<=", "<>", ">", "-"]);
    }

    #[test]
    fn whole_rows_are_read() {
        let own = ["t".to_string()];
        for text in ["md5((t)::text)", "md5(row_to_json(t)::text)", "md5((t.*)::text)", "row_to_json(t.*)"] {
            assert!(lower_text(text).whole_row(&own).is_some(), "{text}");
        }
        assert!(lower_text("md5(a::text) || u.*::text").whole_row(&own).is_none());
    }

    #[test]
    fn locations_count_characters() {
        let text = "é = 1 AND\n  ü = random()";
        let e = lower_text(text);
        let call = &e.calls[0];
        assert_eq!(&text[call.at..], "random()");
    }
}
