//! Parse one statement with sqlparser (PostgreSQL dialect). Each statement is parsed on its own so
//! that one unsupported statement never fails the file; `None` means "keep it opaque".

use super::mask::mask_placeholders;
use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

pub fn parse_statement(body: &str) -> Option<Statement> {
    let masked = mask_placeholders(body);
    let mut parsed = Parser::parse_sql(&PostgreSqlDialect {}, &masked).ok()?;
    (parsed.len() == 1).then(|| parsed.remove(0))
}
