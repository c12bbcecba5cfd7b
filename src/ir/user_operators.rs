//! The operator names a `CREATE OPERATOR` gives a function of the user's (`CREATE OPERATOR +
//! (LEFTARG = int, RIGHTARG = mytype, FUNCTION = f)`). PostgreSQL picks an operator by its name
//! and its operands' types, so where the draft or `--schema` makes one, a use of that name (`a +
//! b`, a built-in's name too) may run the user's function, which pgsafe cannot see: it may be
//! volatile, or read the table. Read from the statement's words (a `DO` block's code too), without
//! the schema the operator is made in: one on the `search_path` is found by its name alone.

use crate::front::tokens::{Lexer, Tok, Token};

/// The operator names `text`, one statement, makes (`+` for `CREATE OPERATOR public.+ (…)`),
/// as PostgreSQL names them (`<>` for `!=`).
pub fn made_by(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    // Every statement comes here: most are told by their first two words.
    let mut lexer = Lexer::new(text);
    let (Some(first), Some(second)) = (lexer.next(), lexer.next()) else { return out };
    if first.is_word("create") && second.is_word("operator") {
        let toks: Vec<Token<'_>> = lexer.take_while(|t| !t.is_punct('(')).collect();
        out.extend(name(&toks));
    } else if first.is_word("do") {
        // Its code, and the strings that code runs (`EXECUTE 'CREATE OPERATOR …'`).
        in_code(text, &mut out);
    }
    out
}

/// Every `CREATE OPERATOR` in `code`, and in the strings it holds.
fn in_code(code: &str, out: &mut Vec<String>) {
    let toks: Vec<Token<'_>> = Lexer::new(code).collect();
    for (k, t) in toks.iter().enumerate() {
        if t.tok == Tok::Literal {
            in_code(super::lower::string_body(&code[t.span.clone()]), out);
        } else if t.is_word("create") && toks.get(k + 1).is_some_and(|n| n.is_word("operator")) {
            let rest = toks[k + 2..].iter().take_while(|t| !t.is_punct('(')).cloned().collect::<Vec<_>>();
            out.extend(name(&rest));
        }
    }
}

/// The operator's name from the tokens between `CREATE OPERATOR` and its `(`: the symbol after
/// the last `.` (`public.+`); none for `CREATE OPERATOR CLASS` or `FAMILY`, which make no
/// operator.
fn name(toks: &[Token<'_>]) -> Option<String> {
    let after_schema = toks.iter().rposition(|t| t.is_punct('.')).map_or(0, |k| k + 1);
    let symbol: String = toks[after_schema..]
        .iter()
        .map(|t| match t.tok {
            Tok::Punct(c) => Some(c),
            _ => None,
        })
        .collect::<Option<String>>()?;
    match symbol.as_str() {
        "" => None,
        "!=" => Some("<>".into()),
        _ => Some(symbol),
    }
}

#[cfg(test)]
mod tests {
    use super::made_by;

    #[test]
    fn operator_names_are_read_without_their_schema() {
        let made = |text: &str| made_by(text).join(" ");
        assert_eq!(made("CREATE OPERATOR + (LEFTARG = int, RIGHTARG = mytype, FUNCTION = f)"), "+");
        assert_eq!(made("create operator public.### (leftarg = int, function = f)"), "###");
        assert_eq!(made("CREATE OPERATOR \"my schema\".!= (LEFTARG = a, RIGHTARG = a, FUNCTION = f)"), "<>");
        assert_eq!(made("CREATE OPERATOR /* sum */ + (FUNCTION = f, RIGHTARG = t)"), "+");
        assert_eq!(
            made("DO $$ BEGIN EXECUTE 'CREATE OPERATOR = (LEFTARG = t, RIGHTARG = t, FUNCTION = eq)'; END $$"),
            "="
        );
        for text in [
            "CREATE OPERATOR CLASS c FOR TYPE t USING btree AS OPERATOR 1 <",
            "CREATE OPERATOR FAMILY f USING btree",
            "ALTER OPERATOR + (int, mytype) OWNER TO app",
            "UPDATE t SET c = a + b",
            "SELECT 'CREATE OPERATOR + (FUNCTION = f)'",
        ] {
            assert_eq!(made(text), "", "{text}");
        }
    }
}
