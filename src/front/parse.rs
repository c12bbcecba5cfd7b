//! Parse one statement with sqlparser (PostgreSQL dialect). Each statement is parsed on its own so
//! that one unsupported statement never fails the file; `None` means "keep it opaque".

use super::mask::mask_placeholders;
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
    let masked = mask_placeholders(body);
    let dialect = PostgreSqlDialect {};
    let why = |e: ParserError| match e {
        ParserError::RecursionLimitExceeded => Unparsed::TooDeep,
        _ => Unparsed::Syntax,
    };
    let mut parser = Parser::new(&dialect).try_with_sql(&masked).map_err(why)?;
    let statement = parser.parse_statement().map_err(why)?;
    while parser.consume_token(&Token::SemiColon) {}
    match parser.peek_token_ref().token {
        Token::EOF => Ok(statement),
        _ => Err(Unparsed::Syntax),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
