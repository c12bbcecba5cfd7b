//! Parse one statement with sqlparser (PostgreSQL dialect). Each statement is parsed on its own so
//! that one unsupported statement never fails the file; `None` means "keep it opaque".

use super::mask::mask_placeholders;
use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};

/// Why sqlparser gave no statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unparsed {
    /// Syntax sqlparser does not support (or not exactly one statement).
    Syntax,
    /// Nested deeper than sqlparser follows (about 50 levels of parentheses or operators).
    TooDeep,
}

pub fn parse_statement(body: &str) -> Option<Statement> {
    parse(body).ok()
}

/// [`parse_statement`], saying why it failed.
pub fn parse(body: &str) -> Result<Statement, Unparsed> {
    let masked = mask_placeholders(body);
    match Parser::parse_sql(&PostgreSqlDialect {}, &masked) {
        Ok(mut parsed) if parsed.len() == 1 => Ok(parsed.remove(0)),
        Ok(_) => Err(Unparsed::Syntax),
        Err(ParserError::RecursionLimitExceeded) => Err(Unparsed::TooDeep),
        Err(_) => Err(Unparsed::Syntax),
    }
}
