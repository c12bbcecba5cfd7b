//! The views a statement creates, read at lowering for the passes (`destructive` must not advise
//! a view of a renamed table's old name that the draft itself creates later).

use super::name::Name;
use crate::front::forms;
use crate::front::tokens::Token;

/// The view `CREATE [OR REPLACE] [RECURSIVE] VIEW v …` makes (not a temporary one, which other
/// sessions never see, nor a materialized one, a copy that writes do not reach).
/// `head`: the statement's first tokens (six are enough), read once for every such question.
pub fn view_created(text: &str, toks: &[Token]) -> Option<Name> {
    let mut k = 1;
    if !toks.first()?.is_word("create") {
        return None;
    }
    if toks.get(k).is_some_and(|t| t.is_word("or")) && toks.get(k + 1).is_some_and(|t| t.is_word("replace")) {
        k += 2;
    }
    if toks.get(k).is_some_and(|t| t.is_word("recursive")) {
        k += 1;
    }
    if !toks.get(k)?.is_word("view") {
        return None;
    }
    let start = toks.get(k + 1)?.span.start;
    let len = forms::name_len(&text[start..])?;
    Some(Name::new(&text[start..start + len]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_or_replaced_view_is_read() {
        let name = |sql: &str| {
            let head: Vec<Token> = crate::front::tokens::Lexer::new(sql).take(6).collect();
            view_created(sql, &head).map(|n| n.text.to_string())
        };
        assert_eq!(name("CREATE VIEW orders AS SELECT 1").as_deref(), Some("orders"));
        assert_eq!(
            name("create or replace recursive view app.\"Old\" (a) AS SELECT 1").as_deref(),
            Some("app.\"Old\"")
        );
        assert_eq!(name("CREATE TEMP VIEW orders AS SELECT 1"), None);
        assert_eq!(name("CREATE MATERIALIZED VIEW orders AS SELECT 1"), None);
        assert_eq!(name("CREATE TABLE orders (id int)"), None);
    }
}
