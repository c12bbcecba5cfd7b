//! Placeholder masking: make a statement that contains template or psql placeholders parseable
//! by sqlparser without moving any byte.
//!
//! | placeholder             | replaced by (same byte length)     |
//! |-------------------------|------------------------------------|
//! | `{{ .Namespace }}`      | identifier `_p______________`      |
//! | `${schema}`             | identifier `_p_______`             |
//! | `:name` (psql variable) | identifier `_p___`                 |
//! | `:'name'`               | string literal `'xxxx'`            |
//! | `:"name"`               | quoted identifier `"xxxx"`         |
//!
//! Placeholders inside string literals, quoted identifiers, comments, dollar quotes and psql
//! meta-commands are left alone (the token rules are those of `grammar/split.pest`). `::` casts,
//! `:=` and `a[1:n]`-style slices (a `:` right after an identifier, a number, `)` or `]`) are not
//! psql variables.

use std::borrow::Cow;
use std::ops::Range;

use super::split::{tokenize, TokKind, Token};

/// Longest `${...}` placeholder we look for; keeps the scan linear on pathological input.
const MAX_DOLLAR_BRACE: usize = 256;

#[derive(Clone, Copy)]
enum Fill {
    Ident,
    String,
    QuotedIdent,
}

/// Returns a copy of `stmt` with template/psql placeholders replaced by text of EXACTLY the same byte length that sqlparser can parse,
/// so byte offsets in the masked text equal offsets in the original. Borrowed when nothing was replaced.
pub fn mask_placeholders(stmt: &str) -> Cow<'_, str> {
    let edits = find_placeholders(stmt);
    if edits.is_empty() {
        return Cow::Borrowed(stmt);
    }
    let mut out = stmt.as_bytes().to_vec();
    for (range, fill) in edits {
        let len = range.len();
        let dst = &mut out[range];
        match fill {
            Fill::Ident => {
                dst.fill(b'_');
                if len >= 2 {
                    dst[1] = b'p';
                }
            }
            Fill::String | Fill::QuotedIdent => {
                let q = if matches!(fill, Fill::String) { b'\'' } else { b'"' };
                dst.fill(b'x');
                dst[0] = q;
                dst[len - 1] = q;
            }
        }
    }
    // Every replaced range starts and ends at an ASCII byte (or the end), so char boundaries are
    // kept and the result is valid UTF-8.
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(_) => Cow::Borrowed(stmt),
    }
}

/// The identifiers of `stmt` a placeholder stands in (part of), as sqlparser reads them from the
/// masked text, in lower case: `fk_${x}` is `fk__p__`, `:"col"` is `xxx`. A name read from
/// sqlparser's tree that holds one is the mask's, not the draft's: a rewrite must not repeat it.
pub fn masked_identifiers(stmt: &str) -> Vec<String> {
    let edits = find_placeholders(stmt);
    if !edits.iter().any(|(_, fill)| matches!(fill, Fill::Ident | Fill::QuotedIdent)) {
        return Vec::new();
    }
    let masked = mask_placeholders(stmt);
    let b = masked.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80;
    let mut out: Vec<String> = Vec::new();
    for (range, fill) in edits {
        let (mut start, mut end) = (range.start, range.end);
        match fill {
            // Whole bytes of whole characters: the run stops at ASCII bytes only.
            Fill::Ident => {
                while start > 0 && word(b[start - 1]) {
                    start -= 1;
                }
                while end < b.len() && word(b[end]) {
                    end += 1;
                }
            }
            Fill::QuotedIdent => (start, end) = (start + 1, end - 1),
            Fill::String => continue,
        }
        let w = masked[start..end].to_ascii_lowercase();
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

/// Does `text` hold a placeholder that [`mask_placeholders`] masks?
pub fn has_placeholder(text: &str) -> bool {
    !find_placeholders(text).is_empty()
}

/// Does `text` hold `w` as a whole identifier (no identifier byte right before or after it)?
pub fn holds_identifier(text: &str, w: &str) -> bool {
    let word = |c: Option<&u8>| c.is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80);
    let b = text.as_bytes();
    !w.is_empty()
        && text
            .match_indices(w)
            .any(|(k, _)| !word(k.checked_sub(1).and_then(|p| b.get(p))) && !word(b.get(k + w.len())))
}

/// Does `stmt` use a psql variable (`:name`, `:'name'`, `:"name"`)? psql does not substitute
/// them inside dollar quotes, so such a statement cannot move into a generated `DO` block.
pub fn has_psql_variables(stmt: &str) -> bool {
    find_placeholders(stmt).iter().any(|(r, _)| stmt.as_bytes()[r.start] == b':')
}

/// May `text` interpolate a psql variable (`:name`, `:'name'`, `:"name"`, `:{?name}`)? Read
/// loosely, so as to miss none: a `::` cast or a `:=` is not one, anything else after a `:` that
/// could start a name is.
pub fn may_interpolate(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(k, &b)| {
        let next = bytes.get(k + 1).copied().unwrap_or(b' ');
        b == b':'
            && (k == 0 || bytes[k - 1] != b':')
            && (next.is_ascii_alphabetic() || matches!(next, b'_' | b'\'' | b'"' | b'{') || next >= 0x80)
    })
}

/// May `text` interpolate one of the variables psql sets after every query (`ROW_COUNT`, `ERROR`,
/// `SQLSTATE`, `LAST_ERROR_MESSAGE`, `LAST_ERROR_SQLSTATE`)? They describe the query before it,
/// so the two must run in one session, one right after the other. Read loosely, as
/// [`may_interpolate`] reads (psql's names are in upper case).
pub fn may_read_the_last_result(text: &str) -> bool {
    const NAMES: [&[u8]; 4] = [b"ROW_COUNT", b"ERROR", b"SQLSTATE", b"LAST_ERROR_"];
    let bytes = text.as_bytes();
    memchr::memchr_iter(b':', bytes).any(|k| {
        let name = &bytes[k + 1..];
        let name = name.strip_prefix(b"'").or_else(|| name.strip_prefix(b"\"")).unwrap_or(name);
        NAMES.iter().any(|n| name.starts_with(n))
    })
}

/// A byte that may appear in a psql variable name (`[A-Za-z0-9_]` and any non-ASCII byte).
fn is_var_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Tokens whose text is never scanned for placeholders.
fn is_opaque(kind: TokKind) -> bool {
    !matches!(
        kind,
        TokKind::Space
            | TokKind::Newline
            | TokKind::Semicolon
            | TokKind::OpenParen
            | TokKind::CloseParen
            | TokKind::Word
            | TokKind::Other
    )
}

fn find_placeholders(stmt: &str) -> Vec<(Range<usize>, Fill)> {
    let bytes = stmt.as_bytes();
    let mut edits = Vec::new();
    // Cheap exit for the common case.
    if memchr::memchr2(b'{', b':', bytes).is_none() {
        return edits;
    }
    let Ok(toks) = tokenize(stmt) else {
        return edits;
    };
    let token_at = |pos: usize| -> Option<&Token> {
        let idx = toks.partition_point(|t| t.end() <= pos);
        toks.get(idx).filter(|t| t.start() <= pos)
    };
    // Set once a `{{` has no `}}` after it: then no later `{{` has one either.
    let mut no_close_braces = false;
    let mut ti = 0;
    let mut i = 0;
    while i < bytes.len() {
        while ti < toks.len() && toks[ti].end() <= i {
            ti += 1;
        }
        let Some(tok) = toks.get(ti) else { break };
        if is_opaque(tok.kind) {
            i = tok.end();
            continue;
        }
        let found: Option<(usize, Fill)> = match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') && !no_close_braces => match stmt[i + 2..].find("}}") {
                Some(k) => Some((i + 2 + k + 2, Fill::Ident)),
                None => {
                    no_close_braces = true;
                    None
                }
            },
            b'$' if bytes.get(i + 1) == Some(&b'{') => bytes[i + 2..]
                .iter()
                .take(MAX_DOLLAR_BRACE)
                .take_while(|&&b| b != b'\n' && b != b'\r')
                .position(|&b| b == b'}')
                .filter(|&k| k > 0)
                .map(|k| (i + 2 + k + 1, Fill::Ident)),
            b':' if !(i > 0 && is_operand_end(bytes[i - 1])) => match bytes.get(i + 1) {
                Some(b'\'') | Some(b'"') => token_at(i + 1)
                    .filter(|t| {
                        t.start() == i + 1
                            && matches!(t.kind, TokKind::String | TokKind::QuotedIdent)
                            && t.end() - t.start() > 2
                            && bytes[t.start() + 1..t.end() - 1].iter().all(|&b| is_var_byte(b))
                    })
                    .map(|t| {
                        let fill = if bytes[i + 1] == b'\'' { Fill::String } else { Fill::QuotedIdent };
                        (t.end(), fill)
                    }),
                Some(&b) if is_var_byte(b) => {
                    let len = bytes[i + 1..].iter().take_while(|&&b| is_var_byte(b)).count();
                    Some((i + 1 + len, Fill::Ident))
                }
                _ => None,
            },
            _ => None,
        };
        match found {
            Some((end, fill)) => {
                edits.push((i..end, fill));
                i = end;
                // If the placeholder ended inside an opaque token (unbalanced quotes inside a
                // template), skip the rest of that token.
                if let Some(t) = token_at(i) {
                    if is_opaque(t.kind) && t.start() < i {
                        i = t.end();
                    }
                }
            }
            None => i += 1,
        }
    }
    edits
}

/// A byte after which `:` is not a psql variable (`::`, `a[1:n]`, `f(x):...`).
fn is_operand_end(b: u8) -> bool {
    b == b':' || b == b')' || b == b']' || is_var_byte(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psql_variables_are_found_loosely_and_casts_are_not_variables() {
        for text in ["WHERE id <= :max_id", "VALUES (:'name')", "SELECT :\"col\"", ":{?v}", "x = :é"] {
            assert!(may_interpolate(text), "{text}");
        }
        for text in ["SELECT 1::int", "x := 1", "'12:30'", "SELECT 1"] {
            assert!(!may_interpolate(text), "{text}");
        }
    }

    fn masked(s: &str) -> String {
        let m = mask_placeholders(s);
        assert_eq!(m.len(), s.len(), "length must be preserved: {s:?} -> {m:?}");
        m.into_owned()
    }

    #[test]
    fn nothing_to_mask_is_borrowed() {
        for s in [
            "SELECT 1",
            "SELECT a::int, b := 1",
            "SELECT '{{ x }}', '${x}', ':x', \":x\" -- :x {{ y }}",
            "SELECT $$ :x ${y} $$ /* :z */",
            "SELECT arr[1:n], arr[lo:hi], f(x)::text",
            "SELECT 'unterminated :x",
        ] {
            assert!(matches!(mask_placeholders(s), Cow::Borrowed(_)), "{s}");
        }
    }

    #[test]
    fn go_templates_and_dollar_braces() {
        assert_eq!(
            masked("CREATE INDEX i ON {{ .Namespace }}.users (id)"),
            "CREATE INDEX i ON _p______________.users (id)"
        );
        assert_eq!(masked("ALTER TABLE ${schema}.t ADD c int"), "ALTER TABLE _p_______.t ADD c int");
        assert_eq!(masked("SELECT {{index .V \"a b\"}} x"), "SELECT _p________________ x");
        assert_eq!(masked("SELECT {{}}, ${}"), "SELECT _p__, ${}");
        assert_eq!(masked("SELECT {{ x"), "SELECT {{ x");
    }

    #[test]
    fn psql_variables() {
        assert_eq!(
            masked("SELECT :var, :'str', :\"ident\", x::int FROM t WHERE a=:id"),
            "SELECT _p__, 'xxxx', \"xxxxxx\", x::int FROM t WHERE a=_p_"
        );
        assert_eq!(masked("SELECT (:a,:b)"), "SELECT (_p,_p)");
        assert_eq!(masked("x := :'v'"), "x := 'xx'");
        // `:'...'` must hold a variable name.
        assert_eq!(masked("SELECT :'a b'"), "SELECT :'a b'");
    }

    #[test]
    fn byte_offsets_survive_non_ascii() {
        let s = "SELECT 'été', naïve FROM {{ .Schéma }}.t WHERE x = :café AND y = :'ñ'";
        let m = masked(s);
        // `{{ .Schéma }}` is 14 bytes, `:café` 6, `:'ñ'` 5.
        assert_eq!(m, "SELECT 'été', naïve FROM _p____________.t WHERE x = _p____ AND y = 'xxx'");
        for piece in ["SELECT 'été', naïve FROM ", ".t WHERE x = ", " AND y = "] {
            assert_eq!(s.find(piece), m.find(piece), "{piece:?} moved");
        }
    }

    #[test]
    fn masked_identifiers_are_whole_words_of_the_masked_text() {
        assert_eq!(masked_identifiers("ALTER TABLE t ADD CONSTRAINT FK_${x} CHECK (a > 0)"), ["fk__p__"]);
        assert_eq!(masked_identifiers("ALTER TABLE ${s}.t ALTER COLUMN :\"col\" SET NOT NULL"), ["_p__", "xxxx"]);
        assert!(masked_identifiers("SELECT :'v', '${x}'").is_empty());
        assert!(masked_identifiers("SELECT 1").is_empty());
        assert!(holds_identifier("Name { text: \"fk__p__\" }", "fk__p__"));
        assert!(holds_identifier("(_p__ is not null)", "_p__"));
        assert!(!holds_identifier("orders__p___key", "_p__"));
        assert!(!holds_identifier("a_p__", "_p__"));
    }

    use proptest::prelude::*;

    proptest::proptest! {
        #[test]
        fn masking_keeps_every_byte_offset(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(vec![
                        "{{", "}}", " .X ", "${", "}", ":", "::", ":=", "'", "\"", "$$", "--", "\n",
                        "/*", "*/", "a", "é", "日本", "[1:", "]", "(", ")", "\\",
                    ])
                    .prop_map(str::to_string),
                    "\\PC{0,3}",
                ],
                0..30,
            )
        ) {
            let s = parts.concat();
            let m = mask_placeholders(&s);
            proptest::prop_assert_eq!(m.len(), s.len());
            for (a, b) in s.bytes().zip(m.bytes()) {
                proptest::prop_assert!(a == b || b"_px'\"".contains(&b), "{:?} -> {:?}", s, m);
            }
            if !s.contains(['{', ':']) {
                proptest::prop_assert!(matches!(m, Cow::Borrowed(_)));
            }
        }
    }
}
