//! Lowering: one statement (its text, and sqlparser's AST when it parsed) → IR ops.
//!
//! sqlparser tells *what* a statement means; `front::forms` (a pest grammar) tells *where* its
//! parts are in the draft, and also covers the lock-relevant forms sqlparser cannot parse.

use super::lock::{LockMode, LockUse};
use super::lower_alter::lower_alter_table;
use super::lower_table;
use super::name::Name;
use super::op::{Op, OpKind, SavepointAction};
use crate::front::forms;
use crate::front::parse::{may_be_too_deep, parse, Unparsed};
use crate::front::tokens::skip_parens;
use crate::front::tokens::{fold_word, head_words, lex, Lexer, Tok, Token};
use sqlparser::ast::{CascadeOption, ObjectType, SetExpr, Statement};
use std::ops::Range;

/// One statement, lowered.
#[derive(Debug, Clone, Default)]
pub struct Lowered {
    pub ops: Vec<Op>,
    /// sqlparser gave up on an expression nested too deep: pgsafe does not know what the
    /// statement (or one of its actions) does beyond its first words.
    pub too_deep: bool,
    /// `ALTER TABLE IF EXISTS` / `ONLY`: what statements generated for its actions must keep.
    pub alter: AlterHead,
    /// A goose `StatementBegin … StatementEnd` block of several statements: each one's body and
    /// how many of `ops` are its (see `Stmt::parts`). Empty for a single statement.
    pub parts: Vec<(Range<usize>, usize)>,
    /// The names it gives to constraints and relations the catalogue does not follow
    /// ([`super::other_names`]).
    pub declared: Vec<String>,
    /// The domain it gives a constraint to ([`super::domains`]).
    /// (Boxed here and below: the lowered statements of a big draft wait, all of them, for
    /// `Migration::assemble`, and few make a type.)
    pub constrains_domain: Option<Box<super::domains::TypeOver>>,
    /// The row type it makes ([`super::row_types`]).
    pub row_type: Option<Box<super::domains::TypeOver>>,
    /// It reads its transaction's start time ([`super::transaction_time`]).
    pub reads_transaction_time: bool,
    /// The operator names it makes ([`super::user_operators`]).
    pub operators_made: Vec<String>,
    /// What it does with the session's sequence values ([`super::sequence_values`]).
    pub sequence_values: super::sequence_values::SequenceValues,
    /// A query that writes nothing and may run long ([`super::lower_expr::query_may_run_long`]).
    pub query_may_run_long: bool,
    /// How it may read the physical order of rows ([`super::physical_order`]).
    pub order_read: Option<super::physical_order::OrderRead>,
    /// The view it creates ([`super::views`]).
    pub view_made: Option<Name>,
    /// What it does to sequences by name ([`super::sequence_names`]).
    pub sequence_events: Vec<super::sequence_names::SequenceEvent>,
}

/// The words after `ALTER TABLE` that statements generated for its actions must keep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlterHead {
    /// `IF EXISTS`: they must not fail where the draft skipped it.
    pub if_exists: bool,
    /// `ONLY`: the draft leaves the tables that inherit from it alone.
    pub only: bool,
}

impl AlterHead {
    /// Read from the statement's first words (`words`: its first four, folded).
    fn of(text: &str, words: &[String]) -> AlterHead {
        // Every statement comes here: compared in place, nothing allocated for the others.
        let starts = |with: &[&str]| words.len() >= with.len() && words.iter().zip(with).all(|(w, x)| w == x);
        let if_exists = words.len() == 4 && starts(&["alter", "table", "if", "exists"]);
        let only = starts(&["alter", "table", "only"])
            || (if_exists && head_words(text, 5).get(4).is_some_and(|w| w == "only"));
        AlterHead { if_exists, only }
    }
}

/// Lower the statement whose body is `src[body]`. Never fails: what is not understood is `Opaque`.
pub fn lower_statement(src: &str, body: Range<usize>) -> Vec<Op> {
    lower(src, body).ops
}

/// [`lower_statement`], also saying whether the parser gave up on depth.
pub fn lower(src: &str, body: Range<usize>) -> Lowered {
    let mut lowered = lower_any(src, body.clone());
    // A `DO` block's code takes the locks of the DDL in it, which its words show.
    let text = &src[body.clone()];
    keep_masked_names_as_written(text, &mut lowered.ops);
    lowered.declared = super::other_names::declared_names(text);
    lowered.constrains_domain = super::domains::constrained_domain(text).map(Box::new);
    lowered.row_type = super::row_types::row_type_made(text).map(Box::new);
    // (A goose block's statements' own are read with each.)
    if lowered.parts.is_empty() {
        lowered.operators_made = super::user_operators::made_by(text);
    }
    if lowered.parts.is_empty() && starts_with_word(text, "declare") && !holds_cursor(text) {
        let span = lowered.ops.first().map_or(body.clone(), |o| o.span.clone());
        let kind = OpKind::NeedsTransactionBlock("DECLARE CURSOR");
        lowered.ops.push(Op { span, kind, locks: Vec::new() });
    }
    lowered.reads_transaction_time =
        super::transaction_time::reads_transaction_time(text) || lowered.ops.iter().any(|o| casts_to_a_time(&o.kind));
    lowered.sequence_values = super::sequence_values::sequence_values(text);
    lowered.order_read = super::physical_order::order_read(text);
    // Read here, on the pool, from one read of the first tokens: every statement is asked.
    let head: Vec<Token> = Lexer::new(text).take(6).collect();
    lowered.view_made = super::views::view_created(text, &head);
    lowered.sequence_events = super::sequence_names::events(text, &head);
    if starts_with_do(text) {
        if let Some(op) = lowered.ops.first_mut() {
            op.locks.extend(super::code_locks::do_block_locks(text));
        }
    }
    lowered
}

/// What an op becomes when it holds a name sqlparser read through a placeholder's mask
/// (`keep_masked_names_as_written`); `not-understood` says why.
pub const NAME_THROUGH_PLACEHOLDER: &str = "a statement with a placeholder in a name";

/// Ops that rewrites regenerate SQL from (constraint, column and index names) and that hold a
/// name sqlparser read from the masked statement (`fk_${x}` as `fk__p__`) become `Other`, their
/// locks kept: the statement stays as written, with timeouts, since a `VALIDATE CONSTRAINT
/// fk__p__` or a `CHECK (_p____ IS NOT NULL)` would name what the migration tool never made. One
/// test for every field of every op: any name the tree gave holds the mask's letters, any name
/// read from the draft's bytes holds the placeholder itself.
fn keep_masked_names_as_written(text: &str, ops: &mut [Op]) {
    let masked = crate::front::mask::masked_identifiers(text);
    if masked.is_empty() {
        return;
    }
    for op in ops {
        let regenerated = matches!(
            op.kind,
            OpKind::CreateIndex { .. }
                | OpKind::RenameIndex { .. }
                | OpKind::DropIndex { .. }
                | OpKind::Reindex { .. }
                | OpKind::AddConstraint { .. }
                | OpKind::AddColumn { .. }
                | OpKind::ValidateConstraint { .. }
                | OpKind::SetNotNull { .. }
                | OpKind::AlterTable { .. }
                | OpKind::AttachIndex { .. }
                | OpKind::AlterIndex { .. }
        );
        if !regenerated {
            continue;
        }
        let fields = format!("{:?}", op.kind).to_ascii_lowercase();
        if masked.iter().any(|w| crate::front::mask::holds_identifier(&fields, w)) {
            op.kind = OpKind::Other { what: NAME_THROUGH_PLACEHOLDER.into() };
        }
    }
}

/// Is `text` a `DO` block (its first word `DO`)?
pub fn starts_with_do(text: &str) -> bool {
    starts_with_word(text, "do")
}

/// Is `word` (lower case) the first word of `text`, followed by more?
fn starts_with_word(text: &str, word: &str) -> bool {
    let (b, n) = (text.as_bytes(), word.len());
    b.len() > n
        && b[..n].eq_ignore_ascii_case(word.as_bytes())
        && !(b[n].is_ascii_alphanumeric() || b[n] == b'_' || b[n] >= 0x80)
}

/// [`lower`] without the locks of a `DO` block's code.
fn lower_any(src: &str, body: Range<usize>) -> Lowered {
    let text = &src[body.clone()];
    // A goose `StatementBegin … StatementEnd` block can hold several statements: goose sends it
    // as one query, so pgsafe keeps it whole, lowering each statement in it; what it cannot cut
    // into statements is opaque, and a reviewer is asked to look.
    if text.contains(';') && lex(text).iter().any(|t| t.is_punct(';')) {
        let joined = || text.contains("\\;").then(|| lower_joined(src, body.clone())).flatten();
        if let Some(lowered) = joined().or_else(|| lower_block(src, body.clone())) {
            return lowered;
        }
        let risky = text.split(';').any(|s| risky_head(&head_words(s, 2)));
        let ops = vec![Op { span: body.clone(), kind: OpKind::Opaque { risky }, locks: Vec::new() }];
        return Lowered { ops, ..Lowered::default() };
    }
    if let Some(lowered) = lower_big_insert(text, body.clone()).or_else(|| lower_big_bodies(text, body.clone())) {
        return lowered;
    }
    if names_with_unicode_escapes(text) {
        // `U&"\0075sers"` is `users`: sqlparser reads a name `U` and an operator. pgsafe cannot
        // tell which relation it names, so nobody has judged its locks.
        let ops = vec![Op { span: body.clone(), kind: OpKind::Opaque { risky: true }, locks: Vec::new() }];
        return Lowered { ops, ..Lowered::default() };
    }
    let words = head_words(text, 4);
    let alter = AlterHead::of(text, &words);
    if words.iter().take(2).map(String::as_str).eq(["create", "table"]) {
        if let Some(ct) = lower_table::create_table_by_hand(text) {
            // What sqlparser's tree would lower to (`lower_other`: a table without a query).
            // Each element of its list is short, so sqlparser cannot give up on its depth.
            let (kind, locks) = lower_table::create_table(&ct);
            let ops = vec![Op { span: body, kind, locks }];
            return Lowered { ops, alter, ..Lowered::default() };
        }
    }
    if let Some(ops) = lower_without_tree(src, body.clone(), &words) {
        // Only sqlparser's verdict on depth is wanted, and a short statement cannot get it.
        let too_deep = may_be_too_deep(text) && parse(text) == Err(Unparsed::TooDeep);
        return Lowered { ops, too_deep, alter, ..Lowered::default() };
    }
    let parsed = parse(text);
    let mut too_deep = parsed == Err(Unparsed::TooDeep);
    // A query that writes (`SELECT … INTO`, a data-modifying `WITH`) has the locks of its scans.
    let query_may_run_long = match &parsed {
        Ok(Statement::Query(q)) if !writes(q) => super::lower_expr::query_may_run_long(q, text),
        _ => false,
    };
    let ops = lower_parsed(src, body, &words, parsed.ok(), &mut too_deep);
    Lowered { ops, too_deep, alter, query_may_run_long, ..Lowered::default() }
}

/// Does the statement declare a constraint or constraint trigger `INITIALLY DEFERRED`? Its
/// checks then wait for the `COMMIT` of each transaction that writes rows, which a plan must not
/// move. Read from the words (not strings, comments or bodies), and only where a search finds the
/// word at all: most statements never say it.
pub fn declares_initially_deferred(text: &str) -> bool {
    let bytes = text.as_bytes();
    let said = memchr::memchr2_iter(b'd', b'D', bytes).any(|k| crate::front::tokens::says_at(bytes, k, b"deferred"));
    let mut after_initially = false;
    said && Lexer::new(text).any(|t| {
        let found = after_initially && t.is_word("deferred");
        after_initially = t.is_word("initially");
        found
    })
}

/// Can the statement end transactions of its own: a `CALL` (a procedure may `COMMIT`), or a
/// `DO` block whose body says `COMMIT` or `ROLLBACK`? PostgreSQL allows that only outside a
/// transaction block, so such a statement the draft runs outside one must run in autocommit.
pub fn controls_transactions(text: &str) -> bool {
    let mut toks = Lexer::new(text);
    match toks.next() {
        Some(t) if t.is_word("call") => true,
        Some(t) if t.is_word("do") => toks.any(|t| {
            t.tok == Tok::Literal
                && Lexer::new(string_body(&text[t.span.clone()])).any(|w| w.is_word("commit") || w.is_word("rollback"))
        }),
        _ => false,
    }
}

/// Does an `UPDATE` or `DELETE` cast a value that may be text to a date/time type (`note::date`,
/// `(a || b)::timestamptz`)? A row that says `'now'` then reads the transaction's time, which the
/// words do not show. Any column counts: whether it is text is the catalogue's to say.
fn casts_to_a_time(kind: &OpKind) -> bool {
    let (OpKind::Update(d) | OpKind::Delete(d)) = kind else { return false };
    d.filter
        .iter()
        .chain(d.assignments.iter().map(|a| &a.value))
        .any(|e| !e.time_casts.is_empty() || e.calls.iter().any(|c| c.per_transaction))
}

/// The inside of a string literal (`$tag$ … $tag$` or `' … '`), where a body's words are.
pub(crate) fn string_body(quoted: &str) -> &str {
    let tag_end = match quoted.as_bytes().first() {
        Some(b'$') => quoted[1..].find('$').map(|k| k + 2),
        Some(b'\'') => Some(1),
        _ => None,
    };
    match tag_end {
        Some(n) if quoted.len() >= 2 * n && quoted.ends_with(&quoted[..n]) => &quoted[n..quoted.len() - n],
        _ => "",
    }
}

/// The statements psql's `\;` joins into one query (`ALTER … \; ALTER …`), which psql sends
/// whole, as goose sends a block: each lowered on its own, the whole kept as written (see
/// [`lower_statements`]). Before, such a query was not understood and got no timeouts (a probe's
/// writes waited 2.9 s behind it).
fn lower_joined(src: &str, body: Range<usize>) -> Option<Lowered> {
    let toks = lex(&src[body.clone()]);
    let joins =
        toks.windows(2).filter(|w| w[0].is_punct('\\') && w[1].is_punct(';') && w[0].span.end == w[1].span.start);
    let mut inner = Vec::new();
    let mut from = 0;
    for w in joins {
        inner.push(body.start + from..body.start + w[0].span.start);
        from = w[1].span.end;
    }
    inner.push(body.start + from..body.end);
    let trimmed = |r: Range<usize>| {
        let text = &src[r.clone()];
        let start = r.start + (text.len() - text.trim_start().len());
        start..start + text.trim().len()
    };
    lower_statements(src, inner.into_iter().map(trimmed).filter(|r| !r.is_empty()).collect())
}

/// A goose block of several statements, each lowered on its own (their ops in order, spans in the
/// draft). `None` when it does not cut into at least two plain statements, or when one of them
/// ends or opens a transaction or a savepoint: the block's own transaction is goose's, and pgsafe
/// does not model a block that steps out of it.
fn lower_block(src: &str, body: Range<usize>) -> Option<Lowered> {
    let pieces = crate::front::split::split(&src[body.clone()]).ok()?;
    let mut inner = Vec::new();
    for piece in &pieces {
        match &piece.kind {
            crate::front::split::PieceKind::Statement { body: b, .. } if !b.is_empty() => {
                inner.push(body.start + b.start..body.start + b.end)
            }
            crate::front::split::PieceKind::Statement { .. } | crate::front::split::PieceKind::Trivia => {}
            crate::front::split::PieceKind::Meta { .. } => return None,
        }
    }
    lower_statements(src, inner)
}

/// Statements sent as one query (`inner`: their bodies in the draft), each lowered on its own.
fn lower_statements(src: &str, inner: Vec<Range<usize>>) -> Option<Lowered> {
    if inner.len() < 2 {
        return None;
    }
    let mut out = Lowered::default();
    for b in inner {
        let one = lower(src, b.clone());
        if !one.parts.is_empty()
            || one
                .ops
                .iter()
                .any(|o| matches!(o.kind, OpKind::Begin | OpKind::Commit { .. } | OpKind::Savepoint { .. }))
        {
            return None;
        }
        out.too_deep |= one.too_deep;
        out.operators_made.extend(one.operators_made);
        out.parts.push((b, one.ops.len()));
        out.ops.extend(one.ops);
    }
    Some(out)
}

/// Above this size, an `INSERT … VALUES` of plain literal rows is lowered from its head and first
/// row only: sqlparser's tokens and tree for every row of a multi-megabyte data load cost a hundred
/// times the text in memory, and the rows add nothing to what the statement does to the schema.
const BIG_INSERT: usize = 64 * 1024;

/// `text` lowered as its first row alone, when it is a big `INSERT INTO … VALUES (…), (…)` whose
/// rows hold only literals (numbers, plain strings, NULL, TRUE, FALSE, DEFAULT) and nothing follows
/// them. The ops are those of the short statement, spanning the whole one; `None` (lower it
/// whole) when anything differs, or when the short statement lowers to something that would
/// carry positions inside the text.
fn lower_big_insert(text: &str, body: Range<usize>) -> Option<Lowered> {
    if text.len() <= BIG_INSERT || head_words(text, 1).first().is_none_or(|w| w != "insert") {
        return None;
    }
    let mut depth = 0usize;
    let values = crate::front::tokens::Lexer::new(text).take_while(|t| t.span.start < BIG_INSERT).find(|t| {
        if t.is_punct('(') {
            depth += 1;
        } else if t.is_punct(')') {
            depth = depth.saturating_sub(1);
        }
        depth == 0 && t.is_word("values")
    })?;
    let first_row_end = literal_rows(text, values.span.end).filter(|&end| end < text.len())?;
    let short = &text[..first_row_end];
    let mut lowered = lower(short, 0..short.len());
    if lowered.too_deep || !lowered.ops.iter().all(|o| matches!(o.kind, OpKind::Other { .. })) {
        return None;
    }
    for op in &mut lowered.ops {
        op.span = body.clone();
    }
    Some(lowered)
}

/// A dollar-quoted string above this size in a statement above [`BIG_INSERT`] is lowered empty.
const BIG_BODY: usize = 16 * 1024;

/// `text` lowered with its big dollar-quoted strings emptied (`$tag$$tag$`), when it is above
/// [`BIG_INSERT`]: a function or `DO` body is text to its language, not to the statement's locks,
/// and sqlparser copies it into its token and again into its tree (a 100 MB body peaked at 458 MB).
/// As for [`lower_big_insert`], the ops must carry no positions inside the text (`Other`, or
/// `Opaque` from the first words), so they are the same ops, spanning the whole statement;
/// `None` (lower it whole) otherwise.
fn lower_big_bodies(text: &str, body: Range<usize>) -> Option<Lowered> {
    if text.len() <= BIG_INSERT {
        return None;
    }
    let big = |t: &crate::front::tokens::Token| {
        t.tok == Tok::Literal && t.span.len() > BIG_BODY && text[t.span.clone()].starts_with('$')
    };
    let mut short = String::new();
    let mut at = 0;
    for t in Lexer::new(text).filter(big) {
        let quoted = &text[t.span.clone()];
        let tag = &quoted[..quoted[1..].find('$')? + 2];
        if quoted.len() < 2 * tag.len() || !quoted.ends_with(tag) {
            return None;
        }
        short.push_str(&text[at..t.span.start]);
        short.push_str(tag);
        short.push_str(tag);
        at = t.span.end;
    }
    if at == 0 {
        return None;
    }
    short.push_str(&text[at..]);
    let mut lowered = lower(&short, 0..short.len());
    // sqlparser reads no `DO`: it is opaque, from its first words, long or short.
    let positionless =
        |k: &OpKind| matches!(k, OpKind::Other { .. } | OpKind::Opaque { .. } | OpKind::CreateView { .. });
    if lowered.too_deep || !lowered.ops.iter().all(|o| positionless(&o.kind)) {
        return None;
    }
    for op in &mut lowered.ops {
        op.span = body.clone();
    }
    Some(lowered)
}

/// From just after `VALUES` to the end of `text`: rows of literals, separated by commas, and
/// nothing else. Returns where the first row ends.
fn literal_rows(text: &str, from: usize) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = from;
    let skip_blank = |i: &mut usize| {
        while b.get(*i).is_some_and(|c| c.is_ascii_whitespace()) {
            *i += 1;
        }
    };
    let mut first_row_end = None;
    loop {
        skip_blank(&mut i);
        if b.get(i) != Some(&b'(') {
            return None;
        }
        i += 1;
        loop {
            skip_blank(&mut i);
            i = literal_end(b, i)?;
            skip_blank(&mut i);
            match b.get(i) {
                Some(b',') => i += 1,
                Some(b')') => break,
                _ => return None,
            }
        }
        i += 1;
        first_row_end.get_or_insert(i);
        skip_blank(&mut i);
        match b.get(i) {
            Some(b',') => i += 1,
            None => return first_row_end,
            Some(_) => return None,
        }
    }
}

/// The end of the literal at `i`: a number, a string without backslashes, or NULL, TRUE, FALSE,
/// DEFAULT.
fn literal_end(b: &[u8], mut i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'\'' => {
            i += 1;
            loop {
                match *b.get(i)? {
                    b'\'' if b.get(i + 1) == Some(&b'\'') => i += 2,
                    b'\'' => return Some(i + 1),
                    b'\\' => return None,
                    _ => i += 1,
                }
            }
        }
        b'-' | b'0'..=b'9' => {
            i += usize::from(b[i] == b'-');
            let digits = |i: usize| b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            let whole = digits(i);
            let mut end = i + whole;
            if b.get(end) == Some(&b'.') {
                end += 1 + digits(end + 1);
            }
            let ends = !b.get(end).is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'$'));
            (whole > 0 && ends).then_some(end)
        }
        _ => {
            let word = b[i..].iter().take_while(|c| c.is_ascii_alphabetic()).count();
            let end = i + word;
            let known =
                ["null", "true", "false", "default"].iter().any(|k| b[i..end].eq_ignore_ascii_case(k.as_bytes()));
            (known && !b.get(end).is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'$'))).then_some(end)
        }
    }
}

/// A statement [`lower_without_tree`] does not lower, from sqlparser's tree (`ast`), or from its
/// first words where sqlparser gave none. `words`: [`head_words`]`(text, 4)`.
fn lower_parsed(
    src: &str,
    body: Range<usize>,
    words: &[String],
    mut ast: Option<Statement>,
    too_deep: &mut bool,
) -> Vec<Op> {
    let text = &src[body.clone()];
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    let op = |kind: OpKind, locks: Vec<LockUse>| Op { span: body.clone(), kind, locks };
    if (w(0), w(1)) == ("alter", "table") {
        let operations = || match ast.take() {
            Some(Statement::AlterTable(at)) => Some(at.operations),
            _ => None,
        };
        if let Some(ops) = lower_alter_table(src, body.start, text, operations, too_deep) {
            return ops;
        }
    }
    let Some(ast) = ast else {
        // PostgreSQL 18's temporal keys: the table, its columns, keys and foreign keys.
        if let Some((kind, locks)) = (w(0) == "create").then(|| lower_table::create_temporal_table(text)).flatten() {
            return vec![op(kind, locks)];
        }
        if let Some(kind) = (w(0) == "create").then(|| lower_table::create_table_from_tokens(text)).flatten() {
            let locks = match &kind {
                OpKind::CreateTable { def, .. } => lower_table::locks_of(def),
                _ => Vec::new(),
            };
            return vec![op(kind, locks)];
        }
        // An UPDATE or DELETE too deep to parse still writes its table.
        let locks = match w(0) {
            "update" | "delete" | "insert" => dml_table(text).map(|t| vec![lock(&t, LockMode::RowExclusive, true)]),
            _ => None,
        };
        // `ALTER TYPE … OWNER TO` (in every pg_dump with a type), `SET SCHEMA`, …: no table lock.
        if (w(0), w(1)) == ("alter", "type") && super::lower_type::understood(text) {
            return vec![op(OpKind::Other { what: "ALTER TYPE".into() }, Vec::new())];
        }
        let mut locks = locks.unwrap_or_default();
        locks.extend(unnamed_tables_lock(words, text));
        let mut ops = vec![op(OpKind::Opaque { risky: risky_head(words) }, locks)];
        ops.extend(row_locks(w(0), text).map(|clause| op(OpKind::LocksRows(clause), Vec::new())));
        return ops;
    };
    if let Some(kind) = super::lower_dml::lower(src, body.clone(), &ast) {
        let locks = match &kind {
            OpKind::Update(d) | OpKind::Delete(d) => vec![lock(&d.table, LockMode::RowExclusive, true)],
            _ => Vec::new(),
        };
        return vec![op(kind, locks)];
    }
    let (kind, mut locks) = lower_other(&ast, text);
    locks.extend(unnamed_tables_lock(words, text));
    let mut ops = vec![op(kind, locks)];
    if matches!(w(0), "select" | "with") && takes_advisory_xact_lock(text) {
        ops.push(op(OpKind::AdvisoryLock, Vec::new()));
    }
    ops.extend(row_locks(w(0), text).map(|clause| op(OpKind::LocksRows(clause), Vec::new())));
    ops
}

/// Is `text` a `DECLARE … WITH HOLD …`, a cursor that outlives its transaction (and so may be
/// declared outside a transaction block)?
fn holds_cursor(text: &str) -> bool {
    let toks = lex(text);
    let end = toks.iter().position(|t| t.is_word("for")).unwrap_or(toks.len());
    toks[..end].windows(2).any(|w| w[0].is_word("with") && w[1].is_word("hold"))
}

/// The first locking clause of a query (`FOR UPDATE`, `FOR NO KEY UPDATE`, `FOR SHARE`, `FOR KEY
/// SHARE`), in it or in a part of it: the rows it returns stay locked to the transaction's end.
/// (Read from its words, not in a string or a function body; `first`: the statement's first word.)
fn row_locks(first: &str, text: &str) -> Option<&'static str> {
    if !matches!(first, "select" | "with") || !text.to_ascii_lowercase().contains("for") {
        return None;
    }
    let toks = lex(text);
    let at = |k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_word(w));
    (0..toks.len()).filter(|&k| at(k, "for")).find_map(|k| {
        if at(k + 1, "update") {
            Some("FOR UPDATE")
        } else if at(k + 1, "share") {
            Some("FOR SHARE")
        } else if at(k + 1, "no") && at(k + 2, "key") && at(k + 3, "update") {
            Some("FOR NO KEY UPDATE")
        } else if at(k + 1, "key") && at(k + 2, "share") {
            Some("FOR KEY SHARE")
        } else {
            None
        }
    })
}

/// Does the query call `pg_[try_]advisory_xact_lock[_shared]`? (Read from its words: not in a
/// string or a function body.)
fn takes_advisory_xact_lock(text: &str) -> bool {
    text.to_ascii_lowercase().contains("advisory_xact_lock")
        && Lexer::new(text).any(|t| match t.tok {
            Tok::Word(w) => {
                let w = w.to_ascii_lowercase();
                let w = w.strip_prefix("pg_try_").or_else(|| w.strip_prefix("pg_")).unwrap_or("");
                matches!(w, "advisory_xact_lock" | "advisory_xact_lock_shared")
            }
            _ => false,
        })
}

/// The statements lowered from the forms grammar and tokens, without sqlparser's tree (index,
/// object, lock, transaction and setting statements, and those refused in a transaction block).
/// `None` for any other, or where the form does not read.
fn lower_without_tree(src: &str, body: Range<usize>, words: &[String]) -> Option<Vec<Op>> {
    let text = &src[body.clone()];
    let base = body.start;
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    let op = |kind: OpKind, locks: Vec<LockUse>| Op { span: body.clone(), kind, locks };

    if super::lower_move_all::may_be(words) {
        if let Some((kind, locks)) = super::lower_move_all::lower(text) {
            return Some(vec![op(kind, locks)]);
        }
    }
    match (w(0), w(1)) {
        ("create", "index") | ("create", "unique") => {
            if let Some(f) = forms::create_index(text) {
                let table = Name::new(&f.table);
                let mode = if f.concurrently { LockMode::ShareUpdateExclusive } else { LockMode::Share };
                let shape = lower_table::index_shape(&text[f.table_end..]);
                return Some(vec![op(
                    OpKind::CreateIndex {
                        name: f.name.as_deref().map(Name::new),
                        table: table.clone(),
                        unique: f.unique,
                        concurrently: f.concurrently,
                        only: f.only,
                        if_not_exists: f.if_not_exists,
                        insert_at: base + f.after_index_kw,
                        columns: shape.columns,
                        column_names: shape.names,
                        partial: shape.partial,
                        tail: super::lower_action::collapse(&text[f.table_end..]),
                    },
                    vec![lock(&table, mode, true)],
                )]);
            }
        }
        ("drop", "index") => {
            if let Some(f) = forms::drop_index(text) {
                return Some(vec![op(
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
                )]);
            }
        }
        // `ALTER TYPE t ADD|DROP|RENAME ATTRIBUTE …` (a composite type; sqlparser reads none):
        // ACCESS EXCLUSIVE on the type alone, which no query of a table using it takes (measured
        // on PostgreSQL 15; the rows are not rewritten). With `CASCADE` it alters the typed tables
        // too: not read.
        ("alter", "type") => {
            let toks = lex(text);
            if toks.iter().any(|t| t.is_word("attribute")) && !toks.iter().any(|t| t.is_word("cascade")) {
                return Some(vec![op(OpKind::Other { what: "ALTER TYPE".into() }, Vec::new())]);
            }
        }
        ("alter", "index") => {
            // Its lock (SHARE UPDATE EXCLUSIVE on the index) blocks no traffic.
            if let Some((index, to)) = forms::rename_index(text) {
                return Some(vec![op(
                    OpKind::RenameIndex { index: Name::new(&index), to: Name::new(&to) },
                    Vec::new(),
                )]);
            }
            if let Some((_, partition)) = forms::attach_index(text) {
                // The lock is on the partition's index; `concurrent_drop_index` moves it to the
                // index's table where the draft built the index (a new index of a live table).
                let partition = Name::new(&partition);
                let locks = vec![lock(&partition, LockMode::AccessExclusive, false)];
                return Some(vec![op(OpKind::AttachIndex { partition }, locks)]);
            }
            if let Some((kind, locks)) = super::lower_index::lower(text) {
                return Some(vec![op(kind, locks)]);
            }
        }
        ("alter", "table") => {
            let by_hand = super::lower_alter::operation_by_hand(text);
            if let Some(ops) = by_hand.and_then(|o| lower_alter_table(src, base, text, || Some(vec![o]), &mut false)) {
                return Some(ops);
            }
        }
        ("vacuum", _) => return Some(vec![lower_vacuum(text, body.clone())]),
        (w0, w1) if super::lower_object::knows(w0, w1) => {
            if let Some((kind, locks)) = super::lower_object::lower(text) {
                return Some(vec![op(kind, locks)]);
            }
        }
        ("lock", _) => {
            if let Some((kind, locks)) = lower_lock(text) {
                return Some(vec![op(kind, locks)]);
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
                return Some(vec![op(
                    OpKind::Reindex {
                        target: f.target,
                        name,
                        concurrently: f.concurrently,
                        insert_at: base + f.after_target_kw,
                    },
                    locks,
                )]);
            }
        }
        ("cluster", _) => {
            // `CLUSTER [VERBOSE|(…)] [table [USING index]]`, or the old `CLUSTER index ON table`.
            // Without a table it reclusters every clustered table and refuses a transaction block.
            return Some(vec![match cluster_table(text) {
                Some(t) => {
                    op(OpKind::Other { what: "CLUSTER".into() }, vec![lock(&t, LockMode::AccessExclusive, true)])
                }
                None => op(OpKind::NoTransaction { what: "CLUSTER".into() }, Vec::new()),
            }]);
        }
        // `BEGIN ATOMIC` never starts a statement; a plain BEGIN is transaction control.
        ("begin", _) | ("start", "transaction") if only_words(text) => {
            let plain = usize::from(w(0) == "start" || matches!(w(1), "work" | "transaction")) + 1;
            let modes = Lexer::new(text).nth(plain).is_some();
            let mut ops = vec![op(OpKind::Begin, Vec::new())];
            ops.extend(modes.then(|| op(OpKind::TransactionMode, Vec::new())));
            return Some(ops);
        }
        ("savepoint", _) | ("release", _) | ("rollback", _) => {
            if let Some(kind) = lower_savepoint(text) {
                return Some(vec![op(kind, Vec::new())]);
            }
            if w(0) == "rollback" && only_words(text) {
                return Some(transaction_end(text, true, &op));
            }
        }
        ("commit", _) | ("end", _) if only_words(text) => return Some(transaction_end(text, false, &op)),
        ("abort", _) if only_words(text) => return Some(transaction_end(text, true, &op)),
        // It ends the transaction block without committing: `COMMIT PREPARED`, in this session
        // or another, commits it later (`passes::transactions`, `Keep::Prepared`).
        ("prepare", "transaction") if prepared_gid(text).is_some() => {
            return Some(vec![op(OpKind::Commit { rollback: false }, Vec::new())]);
        }
        ("set", _) | ("reset", _) => {
            if let Some(kind) = lower_set(text) {
                return Some(vec![op(kind, Vec::new())]);
            }
        }
        ("alter", "database" | "role" | "user") => {
            if let Some(what) = sets_default(w(1), text) {
                return Some(vec![op(OpKind::SetsDefault { what }, Vec::new())]);
            }
        }
        ("select", _) if calls_set_config(text) => {
            if let Some(kind) = lower_set_config(text) {
                return Some(vec![op(kind, Vec::new())]);
            }
            if let Some(name) = unread_set_config(text) {
                return Some(vec![op(OpKind::UnreadSetting { name }, Vec::new())]);
            }
        }
        // Refused in a transaction block, and a `RESET ALL` besides (a later step repeats it).
        ("discard", "all") if words.len() == 2 => {
            let reset = OpKind::Set { name: "all".into(), local: false, value: "DEFAULT".into() };
            let what = "DISCARD ALL".into();
            let ops = [OpKind::NoTransaction { what }, reset, OpKind::DiscardTemp];
            return Some(ops.into_iter().map(|kind| op(kind, Vec::new())).collect());
        }
        ("discard", "temp" | "temporary") if words.len() == 2 => {
            return Some(vec![op(OpKind::DiscardTemp, Vec::new())])
        }
        _ => {}
    }

    no_transaction(words, text).map(|what| vec![op(OpKind::NoTransaction { what }, Vec::new())])
}

pub(super) fn lock(table: &Name, mode: LockMode, scans: bool) -> LockUse {
    LockUse { table: table.clone(), mode, scans }
}

/// Does `text` write a name with Unicode escapes (`U&"d\0061t\+000061"`)? Only a text with `&"`
/// is lexed.
fn names_with_unicode_escapes(text: &str) -> bool {
    if !text.contains("&\"") {
        return false;
    }
    let toks = lex(text);
    toks.windows(3).any(|w| {
        w[0].is_word("u")
            && w[1].tok == Tok::Punct('&')
            && matches!(w[2].tok, Tok::Quoted(_))
            && w[0].span.end == w[1].span.start
            && w[1].span.end == w[2].span.start
    })
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
    let name = toks.get(i)?.ident()?;
    (toks.len() == i + 1).then_some(OpKind::Savepoint { name, action })
}

/// `SET [SESSION|LOCAL] name {=|TO} value` / `RESET name`. `SET [LOCAL] TIME ZONE v` is `timezone`;
/// `SET ROLE r` and `SET SESSION AUTHORIZATION u` take their value without `=`/`TO`. PostgreSQL's
/// aliases take the name they stand for (`SET SCHEMA 'app'` sets `search_path`, `SET NAMES`
/// `client_encoding`): names resolve through that path, and a later step repeats the last of
/// either.
fn lower_set(text: &str) -> Option<OpKind> {
    let toks = lex(text);
    let mut i = 1;
    let mut local = false;
    if toks.get(i).is_some_and(|t| t.is_word("local")) {
        local = true;
        i += 1;
    } else if toks.get(i).is_some_and(|t| t.is_word("session")) {
        i += 1;
    }
    let mut name = toks.get(i)?.ident()?;
    // A custom setting's name is qualified (`myapp.tenant`): one name, which later steps repeat.
    while toks.get(i + 1).is_some_and(|t| t.is_punct('.')) {
        name = format!("{name}.{}", toks.get(i + 2)?.ident()?);
        i += 2;
    }
    if name == "time" && toks.get(i + 1).is_some_and(|t| t.is_word("zone")) {
        name = "timezone".into();
        i += 1;
    }
    // Only these are the transaction's modes; `transaction_timeout` (PostgreSQL 17+) is an
    // ordinary session setting.
    if matches!(
        name.as_str(),
        "transaction" | "transaction_isolation" | "transaction_read_only" | "transaction_deferrable"
    ) {
        return Some(OpKind::TransactionMode);
    }
    if toks[0].is_word("reset") {
        return Some(OpKind::Set { name, local, value: "DEFAULT".into() });
    }
    let assigned = toks.get(i + 1).is_some_and(|t| t.is_punct('=') || t.is_word("to"));
    // Only these take their value without `=`/`TO`: `SET lock_timeout ''` is one PostgreSQL
    // rejects, and a plan must not count it as a setting.
    const BARE: &[&str] = &[
        "timezone",
        "role",
        "authorization",
        "schema",
        "names",
        "transaction",
        "characteristics",
        "constraints",
        "xml",
    ];
    if !assigned && !BARE.contains(&name.as_str()) {
        return None;
    }
    let value_at = toks.get(if assigned { i + 2 } else { i + 1 }).map(|t| t.span.start).unwrap_or(text.len());
    let name = match name.as_str() {
        "schema" if !assigned => "search_path".into(),
        "names" if !assigned => "client_encoding".into(),
        _ => name,
    };
    Some(OpKind::Set { name, local, value: text[value_at..].trim().to_string() })
}

/// `SELECT [pg_catalog.]set_config('name', 'value', false|true)`, as `pg_dump` starts its files
/// (`'search_path', '', false`): a `SET` (or `SET LOCAL`) in a function's clothes, which later
/// steps must repeat as well. Only with plain string literals and a literal flag: the value of an
/// expression is not known here, and the statement stays what it was.
fn lower_set_config(text: &str) -> Option<OpKind> {
    let toks = lex(text);
    let mut k = 1;
    if toks.get(k).is_some_and(|t| t.is_word("pg_catalog")) && toks.get(k + 1).is_some_and(|t| t.is_punct('.')) {
        k += 2;
    }
    let string = |t: &crate::front::tokens::Token<'_>| {
        let raw = &text[t.span.clone()];
        let body = raw.strip_prefix('\'')?.strip_suffix('\'')?;
        (t.tok == Tok::Literal).then(|| body.replace("''", "'"))
    };
    let call = toks.get(k..)?;
    let [f, open, name, c1, value, c2, flag, close] = call else { return None };
    let local = if flag.is_word("true") {
        true
    } else if flag.is_word("false") {
        false
    } else {
        return None;
    };
    let punct = [(open, '('), (c1, ','), (c2, ','), (close, ')')];
    if !f.is_word("set_config") || !punct.iter().all(|(t, c)| t.is_punct(*c)) {
        return None;
    }
    let body = string(value)?;
    let name = string(name)?.to_lowercase();
    // A list of names is one string to set_config, but a list of words to SET, where one quoted
    // string would be one name (`SET search_path TO 'a, b'` names the schema "a, b").
    let value = if LIST_OF_NAMES.contains(&name.as_str()) && !body.trim().is_empty() {
        body
    } else {
        text[value.span.clone()].to_string()
    };
    Some(OpKind::Set { name, local, value })
}

/// Does `text` name `set_config` (a cheap test before lexing a `SELECT`)?
fn calls_set_config(text: &str) -> bool {
    text.as_bytes().windows(b"set_config".len()).any(|w| w.eq_ignore_ascii_case(b"set_config"))
}

/// The settings whose value is a list of names, each quoted as an identifier when `SET` is given
/// them as words.
const LIST_OF_NAMES: &[&str] =
    &["search_path", "temp_tablespaces", "local_preload_libraries", "session_preload_libraries"];

/// A `SELECT` calling `[pg_catalog.]set_config(name, value, local)` that [`lower_set_config`]
/// cannot read (an expression for the value or the flag, another item before it, a call inside
/// another or in `FROM`): the setting's name when it is a literal. (Only the first item read as a
/// setting was noticed: `SELECT 1, set_config('search_path', …, false)` left later steps on the
/// old path.)
fn unread_set_config(text: &str) -> Option<Option<String>> {
    let toks = lex(text);
    let k =
        (1..toks.len()).find(|&k| toks[k].is_word("set_config") && toks.get(k + 1).is_some_and(|t| t.is_punct('(')))?;
    let name = toks.get(k + 2).filter(|t| t.tok == Tok::Literal).and_then(|t| {
        let raw = &text[t.span.clone()];
        Some(raw.strip_prefix('\'')?.strip_suffix('\'')?.replace("''", "'").to_lowercase())
    });
    Some(name)
}

/// `VACUUM [FULL] [(options)] [t [(cols)], …]`: `VACUUM FULL` rewrites each table under ACCESS
/// EXCLUSIVE; a plain `VACUUM` takes SHARE UPDATE EXCLUSIVE. Neither runs in a transaction block.
fn lower_vacuum(text: &str, span: Range<usize>) -> Op {
    let toks = lex(text);
    let mut k = 1;
    let full = if toks.get(1).is_some_and(|t| t.is_punct('(')) {
        let Some((close, _)) = skip_parens(&toks, 1) else {
            return Op { span, kind: OpKind::NoTransaction { what: "VACUUM".into() }, locks: Vec::new() };
        };
        let opts = &toks[2..close];
        k = close + 1;
        opts.iter().enumerate().any(|(n, t)| {
            t.is_word("full")
                && !opts
                    .get(n + 1)
                    .is_some_and(|v| v.is_word("false") || v.is_word("off") || text[v.span.clone()] == *"0")
        })
    } else {
        let mut full = false;
        while let Some(t) = toks.get(k) {
            if t.is_word("full") {
                full = true;
            } else if !["freeze", "verbose", "analyze", "analyse"].iter().any(|w| t.is_word(w)) {
                break;
            }
            k += 1;
        }
        full
    };
    let mut tables = Vec::new();
    while let Some(t) = toks.get(k) {
        let Some(len) = forms::name_len(&text[t.span.start..]) else { break };
        tables.push(Name::new(&text[t.span.start..t.span.start + len]));
        k = toks.iter().position(|x| x.span.start >= t.span.start + len).unwrap_or(toks.len());
        if toks.get(k).is_some_and(|t| t.is_punct('(')) {
            k = skip_parens(&toks, k).map_or(toks.len(), |(close, _)| close + 1);
        }
        if !toks.get(k).is_some_and(|t| t.is_punct(',')) {
            break;
        }
        k += 1;
    }
    let mode = if full { LockMode::AccessExclusive } else { LockMode::ShareUpdateExclusive };
    let locks = tables.iter().map(|t| lock(t, mode, true)).collect();
    let what = if full { "VACUUM FULL" } else { "VACUUM" };
    Op { span, kind: OpKind::NoTransaction { what: what.into() }, locks }
}

/// `LOCK [TABLE] [ONLY] t [*], … [IN mode MODE] [NOWAIT]` (ACCESS EXCLUSIVE when no mode is given).
fn lower_lock(text: &str) -> Option<(OpKind, Vec<LockUse>)> {
    let toks = lex(text);
    let mut k = 1;
    if toks.get(k).is_some_and(|t| t.is_word("table")) {
        k += 1;
    }
    let mut tables = Vec::new();
    loop {
        if toks.get(k).is_some_and(|t| t.is_word("only")) {
            k += 1;
        }
        let start = toks.get(k)?.span.start;
        let len = forms::name_len(&text[start..])?;
        tables.push(Name::new(&text[start..start + len]));
        k = toks.iter().position(|t| t.span.start >= start + len).unwrap_or(toks.len());
        if toks.get(k).is_some_and(|t| t.is_punct('*')) {
            k += 1;
        }
        if !toks.get(k).is_some_and(|t| t.is_punct(',')) {
            break;
        }
        k += 1;
    }
    let mut mode = LockMode::AccessExclusive;
    if toks.get(k).is_some_and(|t| t.is_word("in")) {
        let words: Vec<String> = toks[k + 1..]
            .iter()
            .take_while(|t| !t.is_word("mode"))
            .filter_map(|t| match t.tok {
                Tok::Word(w) => Some(fold_word(w)),
                _ => None,
            })
            .collect();
        mode = match words.join(" ").as_str() {
            "access share" => LockMode::AccessShare,
            "row share" => LockMode::RowShare,
            "row exclusive" => LockMode::RowExclusive,
            "share update exclusive" => LockMode::ShareUpdateExclusive,
            "share" => LockMode::Share,
            "share row exclusive" => LockMode::ShareRowExclusive,
            "exclusive" => LockMode::Exclusive,
            "access exclusive" => LockMode::AccessExclusive,
            _ => return None,
        };
    }
    let nowait = toks.last().is_some_and(|t| t.is_word("nowait"));
    let locks = tables.iter().map(|t| lock(t, mode, false)).collect();
    Some((OpKind::Lock { tables, mode, nowait }, locks))
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

/// Statements PostgreSQL refuses inside a transaction block. `w`: the first words of `text`.
fn no_transaction(w: &[String], text: &str) -> Option<String> {
    let w0 = w.first().map(String::as_str).unwrap_or("");
    let w1 = w.get(1).map(String::as_str).unwrap_or("");
    let what = match (w0, w1) {
        ("alter", "database" | "subscription") => return alter_without_transaction(w1, text),
        ("vacuum", _) => "VACUUM",
        ("create" | "drop", "database") => "CREATE/DROP DATABASE",
        ("create" | "drop", "tablespace") => "CREATE/DROP TABLESPACE",
        ("alter", "system") => "ALTER SYSTEM",
        ("create", "subscription") | ("drop", "subscription") => "CREATE/DROP SUBSCRIPTION",
        ("commit" | "rollback", "prepared") => "COMMIT/ROLLBACK PREPARED",
        _ => return None,
    };
    Some(what.to_string())
}

/// `ALTER DATABASE d [RESET|SET] …`, `ALTER ROLE|USER r [IN DATABASE d] SET|RESET …`: the default
/// of a setting for new sessions (`SET TABLESPACE` moves the database instead).
fn sets_default(object: &str, text: &str) -> Option<String> {
    let toks = lex(text);
    let at = toks.iter().position(|t| t.is_word("set") || t.is_word("reset"))?;
    if toks.get(at + 1).is_some_and(|t| t.is_word("tablespace")) && object == "database" {
        return None;
    }
    let setting = toks.get(at + 1).and_then(|t| t.ident())?;
    Some(format!(
        "ALTER {} … {} {setting}",
        object.to_uppercase(),
        if toks[at].is_word("set") { "SET" } else { "RESET" }
    ))
}

/// `ALTER DATABASE d SET TABLESPACE t` (it moves the database's files) and `ALTER SUBSCRIPTION s
/// REFRESH PUBLICATION`, or `SET|ADD|DROP PUBLICATION` unless `WITH (refresh = false)`: the
/// forms PostgreSQL refuses inside a transaction block (measured on 15: "ALTER DATABASE SET
/// TABLESPACE cannot run inside a transaction block"; the others check that the subscription is
/// enabled first, then refuse).
fn alter_without_transaction(object: &str, text: &str) -> Option<String> {
    let toks = lex(text);
    let word = |k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_word(w));
    if object == "database" {
        return (word(3, "set") && word(4, "tablespace")).then(|| "ALTER DATABASE … SET TABLESPACE".into());
    }
    if word(3, "refresh") {
        return Some("ALTER SUBSCRIPTION … REFRESH PUBLICATION".into());
    }
    let publication = (word(3, "set") || word(3, "add") || word(3, "drop")) && word(4, "publication");
    let no_refresh = toks.iter().enumerate().any(|(k, t)| {
        let value = if toks.get(k + 1).is_some_and(|t| t.is_punct('=')) { k + 2 } else { k + 1 };
        let off = toks.get(value).map(|v| text[v.span.clone()].trim_matches('\'').to_ascii_lowercase());
        t.is_word("refresh") && off.is_some_and(|v| matches!(v.as_str(), "false" | "off" | "no" | "0"))
    });
    (publication && !no_refresh).then(|| "ALTER SUBSCRIPTION … PUBLICATION (with refresh)".into())
}

/// `COMMIT`/`END`/`ROLLBACK`/`ABORT`; with `AND CHAIN` (not `AND NO CHAIN`) it also begins the next
/// transaction, with the same modes, which the plan must keep as written.
fn transaction_end(text: &str, rollback: bool, op: &dyn Fn(OpKind, Vec<LockUse>) -> Op) -> Vec<Op> {
    let words: Vec<Tok<'_>> = Lexer::new(text).map(|t| t.tok).collect();
    let chain = matches!(words.as_slice(), [.., Tok::Word(and), Tok::Word(chain)]
        if and.eq_ignore_ascii_case("and") && chain.eq_ignore_ascii_case("chain"));
    let mut ops = vec![op(OpKind::Commit { rollback }, Vec::new())];
    if chain {
        ops.extend([op(OpKind::Begin, Vec::new()), op(OpKind::TransactionMode, Vec::new())]);
    }
    ops
}

/// The transaction id of `PREPARE TRANSACTION 'gid'`, as written (quotes included), if `text` is one.
pub fn prepared_gid(text: &str) -> Option<&str> {
    match lex(text).as_slice() {
        [p, t, gid] if p.is_word("prepare") && t.is_word("transaction") && gid.tok == Tok::Literal => {
            Some(&text[gid.span.clone()])
        }
        _ => None,
    }
}

/// Nothing but words and commas, as in `BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY` or
/// `COMMIT AND NO CHAIN`: a transaction statement with anything else (`BEGIN(`) is one PostgreSQL
/// rejects, so it neither opens nor ends a transaction, and the plan must not turn it into one that
/// does.
fn only_words(text: &str) -> bool {
    Lexer::new(text).all(|t| matches!(t.tok, Tok::Word(_) | Tok::Punct(',')))
}

/// First words of statements that take table locks worth a reviewer's eye.
/// The lock of a statement on tables it does not name, which only the database knows: `ALTER
/// DOMAIN … ADD CONSTRAINT` (unless `NOT VALID`), `SET NOT NULL` and `VALIDATE CONSTRAINT` scan
/// every column of the domain under SHARE on its table; a `DROP … CASCADE` of a function, type,
/// domain, sequence, extension, schema, operator or collation may drop columns, defaults, triggers
/// or tables, under ACCESS EXCLUSIVE. It is taken on a stand-in table pgsafe does not know, so
/// with traffic: the statement runs under the lock timeout (found by a probe, where writes queued
/// behind each of these for as long as it waited). `words`: [`head_words`].
pub(super) fn unnamed_tables_lock(words: &[String], text: &str) -> Option<LockUse> {
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    match (w(0), w(1)) {
        ("alter", "domain") => {
            let toks = lex(text);
            let action = toks.iter().skip(3).position(|t| {
                ["add", "validate"].iter().any(|a| t.is_word(a))
                    || t.is_word("set") && toks.iter().any(|n| n.is_word("not"))
            })?;
            let not_valid = toks.windows(2).any(|p| p[0].is_word("not") && p[1].is_word("valid"));
            let adds = toks[3 + action].is_word("add");
            (!(adds && not_valid))
                .then(|| lock(&Name::new("\"(every table using the domain)\""), LockMode::Share, true))
        }
        (
            "drop",
            "function" | "procedure" | "routine" | "aggregate" | "type" | "domain" | "sequence" | "extension"
            | "schema" | "operator" | "collation",
        ) if lex(text).iter().any(|t| t.is_word("cascade")) => {
            Some(lock(&Name::new("\"(the tables the CASCADE reaches)\""), LockMode::AccessExclusive, false))
        }
        _ => None,
    }
}

pub(super) fn risky_head(w: &[String]) -> bool {
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
        // `CREATE TABLE … AS SELECT` reads every row its query reads.
        Statement::CreateTable(ct) => {
            let (kind, mut locks) = lower_table::create_table(ct);
            locks.extend(ct.query.iter().flat_map(|q| reads(q, text)));
            (kind, locks)
        }
        // A view of its name either is new or makes the statement fail.
        Statement::CreateView(v) if !v.or_replace && !v.or_alter && !v.if_not_exists => {
            (OpKind::CreateView { view: Name::new(&v.name.to_string()), temporary: v.temporary }, Vec::new())
        }
        // `SELECT … INTO t` makes a table of what it reads.
        Statement::Query(q) if selects_into(q) => (OpKind::Other { what }, reads(q, text)),
        // `WITH gone AS (DELETE FROM t … RETURNING …) SELECT …`: the rows its data-modifying parts
        // change, and every row it reads.
        Statement::Query(q) if modifies_in_ctes(q) => {
            let changed = modified_by_ctes(q);
            let read = reads(q, text).into_iter().filter(|r| !changed.iter().any(|t| t.key == r.table.key));
            let mut locks: Vec<LockUse> = changed.iter().map(|t| lock(t, LockMode::RowExclusive, true)).collect();
            locks.extend(read);
            (OpKind::Other { what }, locks)
        }
        Statement::CreateSequence { temporary, if_not_exists: false, name, .. } => {
            (OpKind::CreateSequence { sequence: Name::new(&name.to_string()), temporary: *temporary }, Vec::new())
        }
        Statement::AlterType(at) => {
            if matches!(at.operation, sqlparser::ast::AlterTypeOperation::AddValue(_)) {
                (OpKind::AddEnumValue { type_name: Name::new(&at.name.to_string()) }, Vec::new())
            } else {
                (OpKind::Other { what }, Vec::new())
            }
        }
        // An index statement the forms did not read (`lower_without_tree`): its lock is strong,
        // and pgsafe cannot tell where the rewrite's `CONCURRENTLY` goes. Left as `Other`, it took
        // no lock and got no timeouts (`CREATE INDEX idx_${x}`, before the forms read placeholders
        // after a name's first letters).
        Statement::CreateIndex(_) | Statement::Drop { object_type: ObjectType::Index, .. } => {
            (OpKind::Opaque { risky: true }, Vec::new())
        }
        // ACCESS EXCLUSIVE on each sequence, which waits for every transaction that called its
        // `nextval()` (measured on PostgreSQL 15, `tests/lock_model.rs`).
        Statement::Drop { object_type: ObjectType::Sequence, names, .. } => {
            let locks = names.iter().map(|n| lock(&Name::new(&n.to_string()), LockMode::AccessExclusive, false));
            (OpKind::Other { what: "DROP SEQUENCE".into() }, locks.collect())
        }
        Statement::Drop { object_type: ObjectType::Schema, names, .. } => (
            OpKind::SchemaGone { schemas: names.iter().map(|n| super::name::key_of(&n.to_string())).collect() },
            Vec::new(),
        ),
        Statement::AlterSchema(a)
            if a.operations.iter().any(|o| matches!(o, sqlparser::ast::AlterSchemaOperation::Rename { .. })) =>
        {
            (OpKind::SchemaGone { schemas: vec![super::name::key_of(&a.name.to_string())] }, Vec::new())
        }
        Statement::Drop { object_type: ObjectType::Table, names, cascade, .. } => {
            let tables: Vec<Name> = names.iter().map(|n| Name::new(&n.to_string())).collect();
            let locks = tables.iter().map(|t| lock(t, LockMode::AccessExclusive, false)).collect();
            (OpKind::DropTable { tables, cascade: *cascade }, locks)
        }
        Statement::Truncate(t) => {
            let tables: Vec<Name> = t.table_names.iter().map(|n| Name::new(&n.name.to_string())).collect();
            let locks = tables.iter().map(|t| lock(t, LockMode::AccessExclusive, false)).collect();
            (OpKind::Truncate { tables, cascade: t.cascade == Some(CascadeOption::Cascade) }, locks)
        }
        Statement::Copy { source: sqlparser::ast::CopySource::Table { table_name, .. }, to: false, .. } => {
            let table = Name::new(&table_name.to_string());
            (OpKind::Other { what }, vec![lock(&table, LockMode::RowExclusive, true)])
        }
        // `INSERT … VALUES` writes its rows; `INSERT … SELECT` also reads every row its query reads.
        Statement::Insert(ins) => {
            let mut locks: Vec<LockUse> =
                dml_table(text).map(|t| vec![lock(&t, LockMode::RowExclusive, false)]).unwrap_or_default();
            locks.extend(ins.source.iter().flat_map(|q| reads(q, text)));
            (OpKind::Other { what }, locks)
        }
        Statement::Update(_) | Statement::Delete(_) | Statement::Merge(_) => {
            let locks = dml_table(text).map(|t| vec![lock(&t, LockMode::RowExclusive, true)]).unwrap_or_default();
            (OpKind::Other { what }, locks)
        }
        _ => (OpKind::Other { what }, Vec::new()),
    }
}

/// The tables the data-modifying parts of `q`'s `WITH` change (`INSERT`, `UPDATE`, `DELETE`,
/// `MERGE` with `RETURNING`).
fn modified_by_ctes(q: &sqlparser::ast::Query) -> Vec<Name> {
    let ctes = q.with.iter().flat_map(|w| &w.cte_tables);
    ctes.filter_map(|c| match &*c.query.body {
        SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) | SetExpr::Merge(s) => dml_table(&s.to_string()),
        _ => None,
    })
    .collect()
}

/// `SELECT … INTO t`.
fn selects_into(q: &sqlparser::ast::Query) -> bool {
    matches!(&*q.body, SetExpr::Select(s) if s.into.is_some())
}

/// `WITH gone AS (DELETE FROM t … RETURNING …) SELECT …`.
fn modifies_in_ctes(q: &sqlparser::ast::Query) -> bool {
    q.with.iter().flat_map(|w| &w.cte_tables).any(|c| modifies(&c.query.body))
}

/// Does the query write: make a table, or change rows in a `WITH`?
fn writes(q: &sqlparser::ast::Query) -> bool {
    selects_into(q) || modifies_in_ctes(q)
}

fn modifies(body: &SetExpr) -> bool {
    matches!(body, SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_))
}

/// ACCESS SHARE, for a scan, on every table `q` reads.
fn reads(q: &sqlparser::ast::Query, text: &str) -> Vec<LockUse> {
    super::lower_expr::query_tables(q, text).iter().map(|t| lock(t, LockMode::AccessShare, true)).collect()
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
    use crate::ir::op::ConstraintKind;

    #[test]
    fn initially_deferred_is_read_from_the_words() {
        use declares_initially_deferred as defers;
        assert!(defers("ALTER TABLE c ADD FOREIGN KEY (p) REFERENCES parent DEFERRABLE INITIALLY DEFERRED"));
        assert!(defers("create table c (p int references parent initially\n  /* why */ deferred)"));
        assert!(defers(
            "CREATE CONSTRAINT TRIGGER t AFTER INSERT ON c Initially Deferred FOR EACH ROW EXECUTE FUNCTION f()"
        ));
        assert!(!defers("ALTER TABLE c ADD FOREIGN KEY (p) REFERENCES parent DEFERRABLE INITIALLY IMMEDIATE"));
        assert!(!defers("COMMENT ON TABLE c IS 'initially deferred'"));
        assert!(!defers("CREATE FUNCTION f() RETURNS void AS $$ SET CONSTRAINTS ALL DEFERRED $$ LANGUAGE sql"));
        assert!(!defers("SET CONSTRAINTS ALL DEFERRED"), "deferred by the transaction, not declared");
    }

    #[test]
    fn a_cast_of_a_value_that_may_be_text_to_a_time_reads_the_transaction_time() {
        let reads = |sql: &str| super::lower(sql, 0..sql.len()).reads_transaction_time;
        assert!(reads("UPDATE orders SET status = 'x' WHERE created_at = note::timestamptz"));
        assert!(reads("UPDATE orders SET created_at = (note || '')::timestamptz"));
        assert!(reads("DELETE FROM orders WHERE created_at::date = CAST(note AS date)"));
        assert!(!reads("UPDATE orders SET status = 'x' WHERE created_at > '2024-01-01'"));
        assert!(!reads("UPDATE orders SET note = status::text"));
    }

    #[test]
    fn alter_table_if_exists_and_only_are_read_from_the_head() {
        let head = |sql: &str| super::lower(sql, 0..sql.len()).alter;
        let (exists, only) = (AlterHead { if_exists: true, only: false }, AlterHead { if_exists: false, only: true });
        assert_eq!(head("ALTER TABLE ONLY t ALTER c SET NOT NULL"), only);
        assert_eq!(head("alter table if exists only t alter c set not null"), AlterHead { if_exists: true, ..only });
        assert_eq!(head("ALTER TABLE IF EXISTS t ALTER c SET NOT NULL"), exists);
        assert_eq!(head("ALTER TABLE only_t ALTER c SET NOT NULL"), AlterHead::default());
        assert_eq!(head("ALTER TABLE IF EXISTS t ADD COLUMN only int"), exists);
    }

    #[test]
    fn a_set_config_of_an_expression_is_an_unread_setting() {
        let kind = |sql: &str| lower(sql).remove(0).kind;
        assert_eq!(
            kind("SELECT pg_catalog.set_config('Search_Path', 'app,' || current_setting('search_path'), false)"),
            OpKind::UnreadSetting { name: Some("search_path".into()) }
        );
        assert_eq!(kind("select set_config(name, 'x', true) from settings"), OpKind::UnreadSetting { name: None });
        assert!(matches!(kind("SELECT set_config('a.b', 'x', false)"), OpKind::Set { .. }));
        assert!(matches!(kind("SELECT set_configs('a', 'b')"), OpKind::Other { .. } | OpKind::Opaque { .. }));
        // A list of schemas is a list to SET too, not one quoted name; other values stay quoted.
        let set = |name: &str, value: &str| OpKind::Set { name: name.into(), local: true, value: value.into() };
        assert_eq!(
            kind("SELECT set_config('search_path', 'billing, \"A\"', true)"),
            set("search_path", "billing, \"A\"")
        );
        assert_eq!(kind("SELECT set_config('search_path', '', true)"), set("search_path", "''"));
        assert_eq!(kind("SELECT set_config('datestyle', 'ISO, MDY', true)"), set("datestyle", "'ISO, MDY'"));
        // A draft that opens the same file with `\set AUTOCOMMIT off` keeps what follows.
        assert_eq!(crate::ir::op::Psql::of("\\set AUTOCOMMIT off"), crate::ir::op::Psql::AutocommitOff);
        assert_eq!(
            crate::ir::op::Psql::of("\\set AUTOCOMMIT on"),
            crate::ir::op::Psql::SetVariable("AUTOCOMMIT".into())
        );
    }

    #[test]
    fn a_name_read_through_a_placeholder_is_the_draft_s_or_no_rule_regenerates_it() {
        // A constraint's name is re-read from the draft: a VALIDATE repeats `fk_${x}`, which the
        // migration tool substitutes as it does in the ADD.
        let fk = "ALTER TABLE orders ADD CONSTRAINT fk_${x} FOREIGN KEY (user_id) REFERENCES users (id)";
        assert!(matches!(&lower(fk)[0].kind, OpKind::AddConstraint { name: Some(n), .. } if n == "fk_${x}"));
        let check = "ALTER TABLE orders ADD CONSTRAINT :\"c\" CHECK (amount > 0)";
        assert!(matches!(&lower(check)[0].kind, OpKind::AddConstraint { name: Some(n), .. } if n == ":\"c\""));
        let validate = "ALTER TABLE orders VALIDATE CONSTRAINT :fk";
        assert!(matches!(&lower(validate)[0].kind, OpKind::ValidateConstraint { name, .. } if name == ":fk"));
        // A column sqlparser read as the mask's `_p____`: no rule regenerates SQL from it.
        for sql in [
            "ALTER TABLE orders ALTER COLUMN ${col} SET NOT NULL",
            "ALTER TABLE orders ALTER COLUMN :col SET NOT NULL",
            "ALTER TABLE orders ADD CONSTRAINT c CHECK (${col} IS NOT NULL)",
        ] {
            let ops = lower(sql);
            assert!(matches!(&ops[0].kind, OpKind::Other { what } if what == NAME_THROUGH_PLACEHOLDER), "{sql}");
            assert!(!ops[0].locks.is_empty(), "{sql}: its locks are kept, for the timeouts");
        }
        // A placeholder in a table's name is read from the draft's bytes: the rules apply.
        let set = "ALTER TABLE ${schema}.orders ALTER COLUMN c SET NOT NULL";
        assert!(matches!(&lower(set)[0].kind, OpKind::SetNotNull { .. }));
    }

    #[test]
    fn an_index_statement_the_forms_do_not_read_is_not_understood() {
        for sql in ["CREATE INDEX i ON t (a)", "DROP INDEX i"] {
            let ast = parse(sql).unwrap();
            assert!(matches!(lower_other(&ast, sql), (OpKind::Opaque { risky: true }, _)), "{sql}");
        }
    }

    fn lower(sql: &str) -> Vec<Op> {
        lower_statement(sql, 0..sql.len())
    }

    #[test]
    fn a_composite_types_attributes_change_without_a_table_lock() {
        for sql in ["ALTER TYPE addr ADD ATTRIBUTE city text", "alter type app.addr rename attribute zip to postcode"] {
            let ops = lower(sql);
            assert!(matches!(&ops[0].kind, OpKind::Other { what } if what == "ALTER TYPE") && ops[0].locks.is_empty());
        }
        // With CASCADE it alters the tables of the type too: not read.
        assert!(matches!(lower("ALTER TYPE addr ADD ATTRIBUTE city text CASCADE")[0].kind, OpKind::Opaque { .. }));
    }

    #[test]
    fn what_pg_dump_says_of_a_type_locks_no_table() {
        // sqlparser reads none of these; every pg_dump with a type says the first (a probe: `check`
        // failed on every dump, and plan steps were no fixed point).
        for sql in [
            "ALTER TYPE public.order_status OWNER TO postgres",
            "ALTER TYPE public.order_status SET SCHEMA app",
            "ALTER TYPE addr RENAME ATTRIBUTE zip TO postcode RESTRICT",
            "ALTER TYPE money2 SET (SEND = NONE)",
        ] {
            let ops = lower(sql);
            assert!(matches!(&ops[0].kind, OpKind::Other { what } if what == "ALTER TYPE"), "{sql}: {ops:?}");
            assert!(ops[0].locks.is_empty(), "{sql}");
        }
        // Still an enum value added, where sqlparser reads it.
        assert!(matches!(
            lower("ALTER TYPE s ADD VALUE IF NOT EXISTS 'x' AFTER 'a'")[0].kind,
            OpKind::AddEnumValue { .. }
        ));
        assert!(matches!(
            lower("ALTER TYPE addr RENAME ATTRIBUTE zip TO postcode CASCADE")[0].kind,
            OpKind::Opaque { risky: true }
        ));
    }

    #[test]
    fn a_new_sequence_is_a_creation() {
        assert!(matches!(&lower("CREATE SEQUENCE public.s AS integer START WITH 1 CACHE 1")[0].kind,
            OpKind::CreateSequence { sequence, temporary: false } if &*sequence.key == "public.s"));
        // `IF NOT EXISTS` may find one with traffic.
        assert!(matches!(lower("CREATE SEQUENCE IF NOT EXISTS s")[0].kind, OpKind::Other { .. }));
    }

    #[test]
    fn a_goose_block_lowers_each_statement_it_holds() {
        let sql = "CREATE TABLE t (a int);\nCREATE INDEX i ON orders (a); DROP TABLE old";
        let lowered = super::lower(sql, 0..sql.len());
        let parts: Vec<&str> = lowered.parts.iter().map(|(b, _)| &sql[b.clone()]).collect();
        assert_eq!(parts, ["CREATE TABLE t (a int)", "CREATE INDEX i ON orders (a)", "DROP TABLE old"]);
        assert_eq!(lowered.parts.iter().map(|(_, n)| n).sum::<usize>(), lowered.ops.len());
        assert!(matches!(lowered.ops[1].kind, OpKind::CreateIndex { concurrently: false, .. }));
        assert_eq!(&sql[lowered.ops[1].span.clone()], "CREATE INDEX i ON orders (a)");
        assert!(lowered.ops.iter().all(|o| !matches!(o.kind, OpKind::Opaque { .. })));
        // A block that steps out of goose's transaction stays opaque (and risky: it drops a table).
        for sql in ["DROP TABLE t; COMMIT", "SAVEPOINT a; DROP TABLE t", "BEGIN; DROP TABLE t"] {
            let lowered = super::lower(sql, 0..sql.len());
            assert!(lowered.parts.is_empty(), "{sql}");
            assert!(matches!(lowered.ops[..], [Op { kind: OpKind::Opaque { risky: true }, .. }]), "{sql}");
        }
    }

    /// (table, mode, scans) of every lock of a one-op statement.
    fn locks(sql: &str) -> Vec<(String, LockMode, bool)> {
        lower(sql).remove(0).locks.into_iter().map(|l| (l.table.key.to_string(), l.mode, l.scans)).collect()
    }

    #[test]
    fn what_inserts_and_table_copies_read() {
        let row = |t: &str, m, s| (t.to_string(), m, s);
        assert_eq!(
            locks("INSERT INTO settings (k, v) VALUES ('a', '1')"),
            [row("settings", LockMode::RowExclusive, false)]
        );
        assert_eq!(
            locks("INSERT INTO archive SELECT * FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id IN (SELECT order_id FROM notes)"),
            [
                row("archive", LockMode::RowExclusive, false),
                row("orders", LockMode::AccessShare, true),
                row("users", LockMode::AccessShare, true),
                row("notes", LockMode::AccessShare, true)
            ]
        );
        assert_eq!(locks("CREATE TABLE copy AS SELECT * FROM orders"), [row("orders", LockMode::AccessShare, true)]);
        assert_eq!(
            locks("WITH x AS (SELECT id FROM users) SELECT * INTO t2 FROM x"),
            [row("users", LockMode::AccessShare, true)]
        );
        assert!(locks("SELECT * FROM orders").is_empty());
        // A data-modifying `WITH` changes rows of its target (it had no locks: `long-step` missed
        // it inside a step that holds ACCESS EXCLUSIVE).
        assert_eq!(
            locks("WITH gone AS (DELETE FROM line_items WHERE qty = 0 RETURNING order_id) SELECT count(*) FROM gone JOIN orders o ON o.id = gone.order_id"),
            [row("line_items", LockMode::RowExclusive, true), row("orders", LockMode::AccessShare, true)]
        );
    }

    #[test]
    fn a_big_insert_of_literal_rows_lowers_like_the_whole_statement() {
        let rows: Vec<String> = (0..5000).map(|i| format!("({i}, 'n''{i}', NULL, -1.5, TRUE, default)")).collect();
        let sql = format!("INSERT INTO public.orders (id, note, x, y, z, w) VALUES {}", rows.join(",\n"));
        assert!(sql.len() > BIG_INSERT);
        assert!(lower_big_insert(&sql, 0..sql.len()).is_some());
        let mut deep = false;
        let whole = lower_parsed(&sql, 0..sql.len(), &head_words(&sql, 4), parse(&sql).ok(), &mut deep);
        assert_eq!(format!("{:?}", lower(&sql)), format!("{whole:?}"));
        // Anything but literals, or anything after the rows: lowered whole.
        for tail in [", (now(), 'x', NULL, 1, TRUE, 2)", ", (1.2.3, 'x', NULL, 1, TRUE, 2)", ", (E'a', 1, 1, 1, 1, 1)"]
        {
            let odd = format!("{sql}{tail}");
            assert!(lower_big_insert(&odd, 0..odd.len()).is_none(), "{tail}");
        }
        let odd = format!("{sql} ON CONFLICT DO NOTHING");
        assert!(lower_big_insert(&odd, 0..odd.len()).is_none());
        let odd = format!("{sql}, ('a\\', 1, 1, 1, 1, 1)");
        assert!(lower_big_insert(&odd, 0..odd.len()).is_none());
    }

    #[test]
    fn a_big_function_or_do_body_lowers_like_the_whole_statement() {
        let body = "  x := x + 1; -- a step; 'quote\n".repeat(4000);
        let statements = [
            format!("CREATE OR REPLACE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $fn$\nBEGIN\n{body}END $fn$"),
            format!("CREATE FUNCTION g() RETURNS int LANGUAGE sql IMMUTABLE AS $$ select 1; {body} $$"),
            format!("DO $$\nBEGIN\n{body}END $$"),
            format!("CREATE PROCEDURE p() LANGUAGE plpgsql AS $a$ BEGIN {body} END $a$; "),
        ];
        for sql in &statements {
            assert!(sql.len() > BIG_INSERT);
            let mut deep = false;
            let whole = lower_parsed(sql, 0..sql.len(), &head_words(sql, 4), parse(sql).ok(), &mut deep);
            assert_eq!(format!("{:?}", lower(sql)), format!("{whole:?}"), "{}", &sql[..60]);
            assert!(lower_big_bodies(sql, 0..sql.len()).is_some(), "{}", &sql[..60]);
        }
        // A body under the size, or a statement whose ops carry positions, is lowered whole.
        let small = "DO $$ BEGIN NULL; END $$";
        assert!(lower_big_bodies(small, 0..small.len()).is_none());
        let alter = format!("ALTER TABLE t ADD COLUMN c text DEFAULT $$ {body} $$");
        assert!(lower_big_bodies(&alter, 0..alter.len()).is_none());
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
    fn an_action_with_words_sqlparser_would_drop_is_not_understood() {
        // sqlparser stops quietly at `END`: trusting its AST would lose the words after it.
        let sql = "ALTER TABLE s.m ADD COLUMN a int, ADD CONSTRAINT f FOREIGN KEY (id) REFERENCES s.p END AS status NOT VALID";
        let ops = lower(sql);
        assert_eq!(ops.len(), 2);
        assert!(matches!(&ops[0].kind, OpKind::AddColumn { column, .. } if column == "a"));
        assert!(
            matches!(&ops[1].kind, OpKind::AlterTable { action: crate::ir::action::Action::NotUnderstood, .. }),
            "{:?}",
            ops[1].kind
        );
        assert_eq!(ops[1].locks[0].mode, LockMode::AccessExclusive);
    }

    #[test]
    fn an_inline_unique_is_read_with_its_words_and_whether_the_column_has_a_value() {
        let unique = |sql: &str| match &lower(sql)[0].kind {
            OpKind::AddColumn { unique, default, computed, .. } => {
                (unique.as_deref().cloned(), default.as_ref().is_none_or(|d| d.null) && !computed)
            }
            other => panic!("{other:?}"),
        };
        let sql = "ALTER TABLE t ADD COLUMN c text CONSTRAINT k UNIQUE NOT NULL";
        let (u, empty) = unique(sql);
        let u = u.unwrap();
        assert_eq!(
            (&sql[u.clause.clone()], u.constraint_name.as_deref(), u.plain, empty),
            ("CONSTRAINT k UNIQUE", Some("k"), true, true)
        );
        let (u, empty) = unique("ALTER TABLE t ADD COLUMN c text unique default null");
        assert!(u.unwrap().plain && empty);
        let (u, empty) = unique("ALTER TABLE t ADD COLUMN c text DEFAULT 'x' UNIQUE NULLS NOT DISTINCT");
        assert!(!u.unwrap().plain && !empty);
        assert!(!unique("ALTER TABLE t ADD COLUMN c serial UNIQUE").1);
        assert!(unique("ALTER TABLE t ADD COLUMN c text").0.is_none());
        // The key scans the table (a long step), as an inline CHECK does.
        assert!(lower("ALTER TABLE t ADD COLUMN c text UNIQUE")[0].locks[0].scans);
    }

    #[test]
    fn key_columns_skip_comments_in_the_list() {
        let sql = "ALTER TABLE r ADD CONSTRAINT k PRIMARY KEY (\"Ab\", registrationdat--a_metadata_id\n)";
        let OpKind::AddConstraint { kind: ConstraintKind::PrimaryKey(key), .. } = &lower(sql)[0].kind else { panic!() };
        assert_eq!(key.columns, [Some("Ab".to_string()), Some("registrationdat".to_string())]);
        assert_eq!(&sql[key.clauses.clone().unwrap().list], "\"Ab\", registrationdat--a_metadata_id\n");
        let OpKind::AddConstraint { kind: ConstraintKind::Unique(key), .. } =
            &lower("ALTER TABLE r ADD UNIQUE (a /* b, */)")[0].kind
        else {
            panic!()
        };
        assert_eq!(key.columns, [Some("a".to_string())]);
        assert!(key.clauses.is_some());
    }

    #[test]
    fn a_keys_index_parameters_are_read_from_its_words() {
        let sql = "ALTER TABLE r ADD CONSTRAINT k UNIQUE (a, b) WITH (fillfactor = 70) USING INDEX TABLESPACE fast";
        let ops = lower(sql);
        let OpKind::AddConstraint { kind: ConstraintKind::Unique(key), .. } = &ops[0].kind else { panic!("{ops:?}") };
        assert_eq!(key.columns, [Some("a".to_string()), Some("b".to_string())]);
        let clauses = key.clauses.clone().unwrap();
        let text = |r: Option<std::ops::Range<usize>>| r.map(|r| &sql[r]);
        assert_eq!((text(clauses.with), text(clauses.tablespace)), (Some("WITH (fillfactor = 70)"), Some("fast")));
        assert_eq!((ops[0].locks[0].mode, ops[0].locks[0].scans), (LockMode::AccessExclusive, true));
        // With INCLUDE and DEFERRABLE, which the recipe carries too.
        let sql = "ALTER TABLE r ADD PRIMARY KEY (a) INCLUDE (\"B\") WITH (fillfactor = 70) DEFERRABLE";
        let ops = lower(sql);
        let OpKind::AddConstraint { kind: ConstraintKind::PrimaryKey(key), .. } = &ops[0].kind else {
            panic!("{ops:?}")
        };
        let clauses = key.clauses.clone().unwrap();
        let text = |r: Option<std::ops::Range<usize>>| r.map(|r| &sql[r]);
        assert_eq!(key.include, ["B"]);
        assert_eq!(
            (text(clauses.include), text(clauses.with), text(clauses.deferrability)),
            (Some("INCLUDE (\"B\")"), Some("WITH (fillfactor = 70)"), Some("DEFERRABLE"))
        );
        // What PostgreSQL refuses: no clauses, and why.
        let ops = lower("ALTER TABLE r ADD UNIQUE (a) NOT DEFERRABLE INITIALLY DEFERRED");
        let OpKind::AddConstraint { kind: ConstraintKind::Unique(key), .. } = &ops[0].kind else { panic!("{ops:?}") };
        assert_eq!((key.clauses.is_none(), key.refused), (true, Some(crate::ir::op::Refused::DeferredNotDeferrable)));
    }

    #[test]
    fn inline_reference_clause_is_found() {
        let sql = "ALTER TABLE orders ADD COLUMN buyer_id bigint NOT NULL DEFAULT 0 REFERENCES public.users (id) ON DELETE SET NULL DEFERRABLE";
        let ops = lower(sql);
        let OpKind::AddColumn { reference: Some(r), column, .. } = &ops[0].kind else { panic!("{:?}", ops[0].kind) };
        assert_eq!(column, "buyer_id");
        assert_eq!(&sql[r.clause.clone()], "REFERENCES public.users (id) ON DELETE SET NULL DEFERRABLE");
        assert_eq!(&*r.references.key, "public.users");
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
        assert_eq!(kind("prepare transaction 'mig1'"), OpKind::Commit { rollback: false });
    }

    #[test]
    fn transaction_statements_postgresql_rejects_control_nothing() {
        let kind = |sql: &str| lower(sql).remove(0).kind;
        let kinds = |text: &str| lower_statement(text, 0..text.len()).into_iter().map(|o| o.kind).collect::<Vec<_>>();
        let with_modes = [OpKind::Begin, OpKind::TransactionMode];
        assert_eq!(kinds("BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY"), with_modes);
        assert_eq!(kinds("start transaction read write"), with_modes);
        assert_eq!(kinds("BEGIN WORK READ ONLY"), with_modes);
        for plain in ["BEGIN", "begin transaction", "START TRANSACTION", "BEGIN WORK"] {
            assert_eq!(kinds(plain), [OpKind::Begin], "{plain}");
        }
        assert_eq!(kinds("SELECT pg_advisory_xact_lock(42)").last(), Some(&OpKind::AdvisoryLock));
        assert_eq!(kinds("select PG_TRY_ADVISORY_XACT_LOCK_SHARED(1, 2)").last(), Some(&OpKind::AdvisoryLock));
        assert_eq!(kinds("SELECT pg_advisory_lock(42)").len(), 1, "a session lock outlives the transaction");
        // A locking clause holds the rows it returns to the transaction's end (found by a probe).
        assert_eq!(
            kinds("SELECT id FROM users WHERE tenant_id = 3 FOR UPDATE").last(),
            Some(&OpKind::LocksRows("FOR UPDATE"))
        );
        assert_eq!(
            kinds("WITH x AS (SELECT id FROM t FOR NO KEY UPDATE SKIP LOCKED) SELECT * FROM x").last(),
            Some(&OpKind::LocksRows("FOR NO KEY UPDATE"))
        );
        assert_eq!(
            kinds("select 1 from t for key share of t nowait").last(),
            Some(&OpKind::LocksRows("FOR KEY SHARE"))
        );
        assert_eq!(kinds("SELECT * FROM t FOR SHARE").last(), Some(&OpKind::LocksRows("FOR SHARE")));
        assert_eq!(kinds("SELECT substring(a FOR 3), 'for update' FROM t").len(), 1);
        assert_eq!(kinds("SELECT 'pg_advisory_xact_lock(1)'").len(), 1);
        let commit = OpKind::Commit { rollback: false };
        assert_eq!(kinds("COMMIT AND CHAIN"), [commit.clone(), OpKind::Begin, OpKind::TransactionMode]);
        assert_eq!(kinds("rollback work and chain")[0], OpKind::Commit { rollback: true });
        assert_eq!(kinds("END AND NO CHAIN"), kinds("COMMIT"));
        assert_eq!(kinds("COMMIT"), [commit]);
        for modes in [
            "SET TRANSACTION READ ONLY",
            "SET LOCAL transaction_read_only = on",
            "SET transaction_isolation TO 'serializable'",
        ] {
            assert_eq!(kinds(modes), [OpKind::TransactionMode], "{modes}");
        }
        assert!(
            matches!(kind("SET transaction_timeout = '60s'"), OpKind::Set { name, .. } if name == "transaction_timeout")
        );
        assert_eq!(kind("COMMIT AND NO CHAIN"), OpKind::Commit { rollback: false });
        assert_eq!(kind("END WORK"), OpKind::Commit { rollback: false });
        // A plan that turned these into its own BEGIN or COMMIT would run what the draft cannot.
        for typo in ["BEGIN(", "COMMIT 1", "ROLLBACK (", "END)", "ABORT 'x'"] {
            assert!(matches!(kind(typo), OpKind::Opaque { risky: false }), "{typo}: {:?}", kind(typo));
        }
    }

    #[test]
    fn set_forms_without_equals() {
        let kind = |sql: &str| lower(sql).remove(0).kind;
        // PostgreSQL rejects a plain setting without `=` or `TO`: it sets nothing.
        assert!(!matches!(kind("SET LOCAL lock_timeout ''"), OpKind::Set { .. }));
        assert!(
            matches!(kind("SET ROLE app_owner"), OpKind::Set { name, value, .. } if name == "role" && value == "app_owner")
        );
        assert!(
            matches!(kind("SET LOCAL TIME ZONE 'UTC'"), OpKind::Set { name, value, local: true } if name == "timezone" && value == "'UTC'")
        );
        assert!(
            matches!(kind("SET search_path TO app, public"), OpKind::Set { name, value, .. } if name == "search_path" && value == "app, public")
        );
        assert!(
            matches!(kind("SET myapp.tenant = 'acme'"), OpKind::Set { name, value, .. } if name == "myapp.tenant" && value == "'acme'")
        );
        assert!(matches!(kind("RESET \"MyApp\".v"), OpKind::Set { name, .. } if name == "MyApp.v"));
        // set_config with literals is a SET, or a SET LOCAL; with anything else, not one.
        assert!(matches!(
            kind("SELECT pg_catalog.set_config('search_path', '', false)"),
            OpKind::Set { name, value, local: false } if name == "search_path" && value == "''"
        ));
        assert!(matches!(
            kind("select set_config('MyApp.Tenant', 'it''s', true)"),
            OpKind::Set { name, value, local: true } if name == "myapp.tenant" && value == "'it''s'"
        ));
        for sql in [
            "SELECT set_config('a.b', current_setting('a.c'), false)",
            "SELECT set_config('a.b', 'x', false), 1",
            "SELECT set_config('a.b', 'x', is_local)",
            "SELECT set_config('a.b', E'x', false)",
        ] {
            assert!(!matches!(kind(sql), OpKind::Set { .. }), "{sql}");
        }
        // The aliases are the settings they stand for.
        assert!(
            matches!(kind("SET SCHEMA 'billing'"), OpKind::Set { name, value, .. } if name == "search_path" && value == "'billing'")
        );
        assert!(
            matches!(kind("set local names 'LATIN1'"), OpKind::Set { name, value, local: true } if name == "client_encoding" && value == "'LATIN1'")
        );
    }

    #[test]
    fn cluster_and_partition_actions() {
        let ops = lower("CLUSTER VERBOSE public.orders USING orders_pkey");
        assert!(matches!(&ops[0].kind, OpKind::Other { what } if what == "CLUSTER"));
        assert_eq!((&*ops[0].locks[0].table.key, ops[0].locks[0].mode), ("public.orders", LockMode::AccessExclusive));
        assert_eq!(&*lower("cluster orders_pkey on orders")[0].locks[0].table.key, "orders");
        assert!(matches!(&lower("CLUSTER")[0].kind, OpKind::NoTransaction { .. }));
        for sql in ["DISCARD ALL", "COMMIT PREPARED 'tx1'", "rollback prepared 'tx1'"] {
            assert!(matches!(&lower(sql)[0].kind, OpKind::NoTransaction { .. }), "{sql}");
        }
        assert!(!matches!(&lower("DISCARD TEMP")[0].kind, OpKind::NoTransaction { .. }));
        assert!(matches!(&lower("DISCARD TEMP")[0].kind, OpKind::DiscardTemp));
        assert!(lower("DISCARD ALL").iter().any(|o| o.kind == OpKind::DiscardTemp));
        // Only some forms of ALTER DATABASE and ALTER SUBSCRIPTION refuse a transaction block.
        let refused = |sql: &str| matches!(&lower(sql)[0].kind, OpKind::NoTransaction { .. });
        for sql in [
            "ALTER DATABASE app SET TABLESPACE fast",
            "alter database \"App\" set tablespace fast",
            "ALTER SUBSCRIPTION s REFRESH PUBLICATION WITH (copy_data = false)",
            "ALTER SUBSCRIPTION s SET PUBLICATION p",
            "ALTER SUBSCRIPTION s ADD PUBLICATION p WITH (refresh = true)",
        ] {
            assert!(refused(sql), "{sql}");
        }
        for sql in [
            "ALTER DATABASE app SET work_mem = '64MB'",
            "ALTER DATABASE app RENAME TO app2",
            "ALTER SUBSCRIPTION s SET PUBLICATION p WITH (refresh = false)",
            "ALTER SUBSCRIPTION s DROP PUBLICATION p WITH (refresh 'off')",
            "ALTER SUBSCRIPTION s ENABLE",
            "ALTER SUBSCRIPTION s SET (slot_name = NONE)",
        ] {
            assert!(!refused(sql), "{sql}");
        }
        // A default for later sessions, not a setting of this one.
        let default = |sql: &str| match &lower(sql)[0].kind {
            OpKind::SetsDefault { what } => Some(what.clone()),
            _ => None,
        };
        assert_eq!(
            default("ALTER DATABASE app SET search_path = billing").as_deref(),
            Some("ALTER DATABASE … SET search_path")
        );
        assert_eq!(default("alter role app IN DATABASE x reset all").as_deref(), Some("ALTER ROLE … RESET all"));
        assert_eq!(
            default("ALTER USER u SET statement_timeout TO '1s'").as_deref(),
            Some("ALTER USER … SET statement_timeout")
        );
        for sql in
            ["ALTER DATABASE app SET TABLESPACE fast", "ALTER ROLE app RENAME TO b", "ALTER ROLE app PASSWORD 'reset'"]
        {
            assert_eq!(default(sql), None, "{sql}");
        }
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
