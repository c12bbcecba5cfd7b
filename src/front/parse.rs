//! Parse one statement with sqlparser (PostgreSQL dialect). Each statement is parsed on its own so
//! that one unsupported statement never fails the file; `None` means "keep it opaque".

use super::mask::mask_placeholders;
use super::tokens::Tok;
use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

/// Why sqlparser gave no statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unparsed {
    /// Syntax sqlparser does not support, not exactly one statement, or words after the statement
    /// that sqlparser would silently drop.
    Syntax,
    /// Nested deeper than sqlparser follows (about 50 levels of parentheses or operators).
    TooDeep,
}

pub fn parse_statement(body: &str) -> Option<Statement> {
    parse(body).ok()
}

/// [`parse_statement`], saying why it failed.
///
/// The statement must account for every word of `body`: sqlparser's `parse_sql` stops quietly at
/// an `END` after a complete statement (`… REFERENCES p END AS x NOT VALID` parses as the
/// constraint alone), and an AST that lost words would be trusted for what it does not say.
pub fn parse(body: &str) -> Result<Statement, Unparsed> {
    if longest_operator_chain(body) > MAX_OPERATOR_CHAIN {
        return Err(Unparsed::TooDeep);
    }
    match parse_masked(&mask_placeholders(body)) {
        Err(Unparsed::Syntax) => match without_unsupported(body) {
            Some(plain) => parse_masked(&mask_placeholders(&plain)),
            None => Err(Unparsed::Syntax),
        },
        read => read,
    }
}

/// `body` with the clauses sqlparser lacks blanked, bytes in place; `None` when it has none.
fn without_unsupported(body: &str) -> Option<String> {
    let plain = without_action_columns(body);
    without_index_parameters(plain.as_deref().unwrap_or(body)).or(plain)
}

/// `body` with each key's index parameters (`WITH (…)`, `USING INDEX TABLESPACE t`) blanked,
/// bytes in place; `None` when it has none. Lowering reads them from the tokens
/// (`super::index_parameters`).
fn without_index_parameters(body: &str) -> Option<String> {
    let has = |w: &[u8]| body.as_bytes().windows(w.len()).any(|x| x.eq_ignore_ascii_case(w));
    if !has(b"with") && !has(b"tablespace") {
        return None;
    }
    let clauses = super::index_parameters::clauses(&super::tokens::lex(body));
    let mut plain = body.to_string();
    for c in &clauses {
        // Each clause starts at a word and ends at `)` or a name: whole characters, blanked.
        plain.replace_range(c.clone(), &" ".repeat(c.len()));
    }
    (!clauses.is_empty()).then_some(plain)
}

/// `body` with the column list of each `ON DELETE SET NULL (a, …)` or `SET DEFAULT (a, …)`
/// (PostgreSQL 15) blanked, bytes in place; `None` when it has none. sqlparser reads the action
/// without the list; what the list changes (which columns a delete clears) takes no other lock and
/// moves no rewrite, and the plan keeps it, since rewrites edit the draft's own text.
fn without_action_columns(body: &str) -> Option<String> {
    if !body.as_bytes().windows(6).any(|w| w.eq_ignore_ascii_case(b"delete")) {
        return None;
    }
    let toks = super::tokens::lex(body);
    let mut plain = body.to_string();
    let mut found = false;
    for (i, w) in toks.windows(5).enumerate() {
        let action = w[0].is_word("on") && w[1].is_word("delete") && w[2].is_word("set");
        if !(action && (w[3].is_word("null") || w[3].is_word("default")) && w[4].is_punct('(')) {
            continue;
        }
        let close = toks[i + 5..].iter().position(|t| t.is_punct(')') || t.is_punct('('))?;
        let close = &toks[i + 5 + close];
        if !close.is_punct(')') {
            return None;
        }
        // Only ASCII punctuation at both ends: the blanked range keeps every character boundary.
        plain.replace_range(w[4].span.start..close.span.end, &" ".repeat(close.span.end - w[4].span.start));
        found = true;
    }
    found.then_some(plain)
}

fn parse_masked(masked: &str) -> Result<Statement, Unparsed> {
    let dialect = PostgreSqlDialect {};
    let why = |e: ParserError| match e {
        ParserError::RecursionLimitExceeded => Unparsed::TooDeep,
        _ => Unparsed::Syntax,
    };
    let mut parser = Parser::new(&dialect).try_with_sql(masked).map_err(why)?;
    let statement = parser.parse_statement().map_err(why)?;
    while parser.consume_token(&Token::SemiColon) {}
    match parser.peek_token_ref().token {
        Token::EOF => Ok(statement),
        _ => Err(Unparsed::Syntax),
    }
}

/// A type alone (`varchar(255)`, `timestamp with time zone`), when sqlparser reads all of it.
///
/// A draft names a few dozen types thousands of times (a table's columns, `ADD COLUMN`, `ALTER
/// COLUMN … TYPE`): each thread keeps the types it read, up to `TYPES_KEPT` of them, so a type
/// is parsed once (sqlparser setting up a parser was most of reading one).
pub fn parse_data_type(text: &str) -> Option<sqlparser::ast::DataType> {
    thread_local! {
        static READ: std::cell::RefCell<rustc_hash::FxHashMap<Box<str>, Option<sqlparser::ast::DataType>>> =
            Default::default();
    }
    READ.with_borrow_mut(|read| {
        if let Some(data_type) = read.get(text) {
            return data_type.clone();
        }
        let data_type = read_data_type(text);
        if read.len() >= TYPES_KEPT {
            read.clear();
        }
        read.insert(text.into(), data_type.clone());
        data_type
    })
}

/// How many types [`parse_data_type`] keeps per thread: more than a draft names, few enough that
/// the memory is nothing (a draft of ever new types starts over each time).
const TYPES_KEPT: usize = 1024;

fn read_data_type(text: &str) -> Option<sqlparser::ast::DataType> {
    let mut parser = Parser::new(&PostgreSqlDialect {}).try_with_sql(text).ok()?;
    let data_type = parser.parse_data_type().ok()?;
    (parser.peek_token_ref().token == Token::EOF).then_some(data_type)
}

/// An expression alone, when sqlparser reads all of it.
pub fn parse_expr(text: &str) -> Option<sqlparser::ast::Expr> {
    let mut parser = Parser::new(&PostgreSqlDialect {}).try_with_sql(text).ok()?;
    let expr = parser.parse_expr().ok()?;
    (parser.peek_token_ref().token == Token::EOF).then_some(expr)
}

/// The most operators (`OR`, `AND`, `+`, `=`, `::`, … each punctuation mark counted) in one run
/// at one level of parentheses, not cut by a comma. sqlparser reads `a OR b OR c …` into a tree
/// one level deeper for each operator without counting them against its limit, and the walks of
/// that tree (its spans) recurse as deep: a `DELETE … WHERE id = 0 OR id = 1 …` of 6,000 terms
/// overflowed a thread's stack. PostgreSQL reads such chains flat.
fn longest_operator_chain(body: &str) -> usize {
    if body.len() < MAX_OPERATOR_CHAIN {
        return 0;
    }
    let (mut levels, mut longest) = (vec![0usize], 0);
    for t in crate::front::tokens::Lexer::new(body) {
        match t.tok {
            Tok::Punct('(') => levels.push(0),
            Tok::Punct(')') if levels.len() > 1 => {
                levels.pop();
            }
            Tok::Punct(',' | ';') => *levels.last_mut().unwrap_or(&mut 0) = 0,
            Tok::Punct(
                '+' | '-' | '*' | '/' | '%' | '^' | '=' | '<' | '>' | '!' | '|' | '&' | ':' | '~' | '#' | '@',
            ) => {
                if let Some(n) = levels.last_mut() {
                    *n += 1;
                    longest = longest.max(*n);
                }
            }
            _ if t.is_word("or") || t.is_word("and") => {
                if let Some(n) = levels.last_mut() {
                    *n += 1;
                    longest = longest.max(*n);
                }
            }
            _ => {}
        }
    }
    longest
}

/// Operators in one run that a thread's stack follows with room to spare (2 MB stacks overflowed
/// at about 12,000: 6,000 terms of `id = n OR`).
const MAX_OPERATOR_CHAIN: usize = 4000;

/// Could sqlparser give up on `body`'s depth ([`Unparsed::TooDeep`])? `false` is a proof that it
/// cannot: a statement whose tree pgsafe does not need is then not parsed at all (a quarter of a
/// big draft's statements, `CREATE INDEX`, `COMMENT`, `SET`, …, whose lowering reads the forms
/// grammar and tokens).
///
/// sqlparser counts the frames of its recursive descent (statement, query, expression, interval,
/// data type, table factor) and stops at 51. A frame opens a nested one only after it consumed a
/// token, so the depth is at most the number of tokens and a few (property-tested below with twice
/// that margin); `token_bound` is at least sqlparser's token count.
pub fn may_be_too_deep(body: &str) -> bool {
    token_bound(&mask_placeholders(body), MAX_SHALLOW_TOKENS) > MAX_SHALLOW_TOKENS
}

/// Statements of at most this many tokens nest at most 2 × 24 + 2 = 50 frames deep.
const MAX_SHALLOW_TOKENS: usize = 24;

/// At least the number of tokens sqlparser makes of `text`: a quoted string or name is one token;
/// a run of ASCII letters, digits, `_` and `$` is one, plus one at every `$` (a `$1` placeholder
/// or a dollar quote starts there) and after every digit a letter follows (`1abc` is a number
/// and a word); every other byte that is not white space counts one (a comment, or a character
/// beyond ASCII, counts more than its tokens). The count stops once it passes `enough` (most
/// statements are long: the answer is known at their 25th token).
fn token_bound(text: &str, enough: usize) -> usize {
    let b = text.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$';
    let (mut n, mut i) = (0, 0);
    while let Some(&c) = b.get(i).filter(|_| n <= enough) {
        i += 1;
        if c.is_ascii_whitespace() {
            continue;
        }
        n += 1;
        if c == b'\'' || c == b'"' {
            // To the closing quote (a doubled one is inside); sqlparser's string ends there or later.
            while let Some(&d) = b.get(i) {
                i += 1;
                if d == c {
                    if b.get(i) != Some(&c) {
                        break;
                    }
                    i += 1;
                }
            }
        } else if word(c) {
            let mut prev = c;
            while let Some(&d) = b.get(i).filter(|&&d| word(d)) {
                n += usize::from(d == b'$' || (prev.is_ascii_digit() && !d.is_ascii_digit()));
                prev = d;
                i += 1;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Everything that opens a frame in sqlparser, around an expression `{}`: parentheses, unary
    /// operators, subqueries (also in `FROM`), arrays, casts, `INTERVAL`, `EXISTS`, calls; and
    /// what it reads in a loop or gives up on as a syntax error when deep (`false`: a postfix
    /// cast, `CASE`, binary operators of rising precedence).
    const WRAPPERS: [(&str, bool); 15] = [
        ("({})", true),
        ("- {}", true),
        ("NOT ({})", true),
        ("(SELECT {})", true),
        ("(SELECT * FROM (SELECT {}) s)", true),
        ("ARRAY[{}]", true),
        ("CAST({} AS numeric(3))", true),
        ("INTERVAL {}", true),
        ("EXISTS (SELECT {})", true),
        ("f({})", true),
        ("(({}))", true),
        ("{}::int[]", false),
        ("CASE WHEN a THEN {} END", false),
        ("CASE {} WHEN 1 THEN 2 END", false),
        ("a OR a AND a = 1 + 2 * {}", false),
    ];

    fn wrapped(kinds: &[usize]) -> String {
        kinds.iter().fold("a".to_string(), |e, &k| WRAPPERS[k].0.replace("{}", &e))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// What `may_be_too_deep` clears, sqlparser never gives up on.

    #[test]
        fn a_statement_cleared_as_shallow_never_is_too_deep(
            kinds in proptest::collection::vec(0..WRAPPERS.len(), 0..40),
            head in prop_oneof![Just("SELECT "), Just("CREATE INDEX i ON t ("), Just("SET x = "), Just("COMMENT ON TABLE t IS ")],
        ) {
            let sql = format!("{head}{}", wrapped(&kinds));
            if !may_be_too_deep(&sql) {
                prop_assert_ne!(parse(&sql), Err(Unparsed::TooDeep), "{}", sql);
            }
            // The claim itself, with no margin: at most a frame per token, and three more.
            let limit = token_bound(&sql, usize::MAX) + 3;
            let parsed = Parser::new(&PostgreSqlDialect {})
                .with_recursion_limit(limit)
                .try_with_sql(&sql)
                .and_then(|mut p| p.parse_statement());
            prop_assert!(!matches!(parsed, Err(ParserError::RecursionLimitExceeded)), "{} {}", limit, sql);
        }
    }

    /// Each way of nesting in the property does reach sqlparser's limit, and is then not cleared.
    #[test]
    fn every_kind_of_nesting_can_be_too_deep_and_is_then_not_cleared() {
        for (k, &(wrapper, nests)) in WRAPPERS.iter().enumerate().filter(|(_, w)| w.1) {
            let sql = format!("SELECT {}", wrapped(&[k; 60]));
            assert_eq!(parse(&sql), Err(Unparsed::TooDeep), "{wrapper} {nests}");
            assert!(may_be_too_deep(&sql), "{wrapper}");
        }
        let deep = format!("CREATE INDEX i ON t ({}a{})", "(".repeat(60), ")".repeat(60));
        assert_eq!(parse(&deep), Err(Unparsed::TooDeep));
        assert!(may_be_too_deep(&deep));
    }

    #[test]
    fn the_bound_counts_what_sqlparser_splits() {
        assert_eq!(token_bound("CREATE INDEX i ON public.t (a)", usize::MAX), 10);
        assert_eq!(token_bound("'it''s (((' \"a\"\"b\"", usize::MAX), 2);
        // A number then a word; two placeholders in one run.
        assert_eq!(token_bound("1abc", usize::MAX), 2);
        assert_eq!(token_bound("12$3$4", usize::MAX), 3);
        assert!(!may_be_too_deep("CREATE INDEX idx_app_table_1_col_3 ON public.app_table_1 (col_3)"));
    }

    #[test]
    fn words_after_the_statement_are_not_dropped() {
        assert!(parse("ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (id) REFERENCES p NOT VALID").is_ok());
        assert_eq!(
            parse("ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (id) REFERENCES p END AS status NOT VALID"),
            Err(Unparsed::Syntax)
        );
        assert_eq!(parse("SELECT 1 END"), Err(Unparsed::Syntax));
        assert_eq!(parse("SELECT 1; SELECT 2"), Err(Unparsed::Syntax));
        assert!(parse("SELECT 1;").is_ok());
    }

    #[test]
    fn a_key_is_read_without_its_index_parameters() {
        for (sql, without) in [
            (
                "ALTER TABLE t ADD CONSTRAINT k UNIQUE (a) WITH (fillfactor = 70) USING INDEX TABLESPACE x",
                "ALTER TABLE t ADD CONSTRAINT k UNIQUE (a)",
            ),
            (
                "CREATE TABLE t (id int PRIMARY KEY WITH (fillfactor = 70), a int, UNIQUE (a) USING INDEX TABLESPACE x) \
                 WITH (fillfactor = 60)",
                "CREATE TABLE t (id int PRIMARY KEY, a int, UNIQUE (a)) WITH (fillfactor = 60)",
            ),
        ] {
            assert_eq!(parse(sql), parse(without), "{sql}");
            assert!(parse(sql).is_ok(), "{sql}");
        }
        // Parameters in another place stay an error.
        assert!(parse("ALTER TABLE t ADD CONSTRAINT k UNIQUE (a) NOT VALID WITH (fillfactor = 70)").is_err());
    }

    #[test]
    fn a_delete_action_that_clears_some_columns_is_read_without_them() {
        let sql = "ALTER TABLE n ADD CONSTRAINT f FOREIGN KEY (u, o) REFERENCES o (u, \"Ïd\") ON DELETE SET NULL (u) ON UPDATE CASCADE";
        let Ok(Statement::AlterTable(at)) = parse(sql) else { panic!("{sql}") };
        let listed = parse(&sql.replace(" (u) ON UPDATE", "     ON UPDATE")).unwrap();
        assert_eq!(Statement::AlterTable(at), listed);
        assert!(parse(&sql.replace("DELETE SET NULL (u)", "UPDATE SET NULL (u)")).is_err());
        assert!(parse(&sql.replace("(u) ON UPDATE", "(u ON UPDATE")).is_err());
    }
}
