//! `SET standard_conforming_strings = off`: psql then reads `\'` inside a string as a quote (it
//! follows the server's setting as it reads the file), where pgsafe, like PostgreSQL since 9.1,
//! reads a backslash as an ordinary character. A plan split such a draft inside a string (a
//! probe's `'it\'s done; CREATE INDEX …'` stored another text), or kept an unreadable stretch
//! without timeouts, so the split refuses the file, naming the statement.

use super::tokens::{Lexer, Tok};

/// The offset of the first statement among `bodies` (in order) that turns the setting off, if
/// any. Only a text that names the setting at all is read.
pub fn turned_off_at(src: &str, mut bodies: impl Iterator<Item = std::ops::Range<usize>>) -> Option<usize> {
    let b = src.as_bytes();
    let at = |k: usize, w: &[u8]| crate::front::tokens::says_at(b, k, w);
    let named = memchr::memchr_iter(b'_', b).any(|k| k >= 8 && at(k - 8, b"standard_conforming_strings"));
    if !named {
        return None;
    }
    bodies.find(|b| turns_off(&src[b.clone()])).map(|b| b.start)
}

/// `SET [SESSION | LOCAL] standard_conforming_strings {= | TO} <false>`, or a `set_config` of it
/// to a false value.
fn turns_off(text: &str) -> bool {
    let toks: Vec<_> = Lexer::new(text).take(12).collect();
    let raw = |k: usize| toks.get(k).map(|t| text[t.span.clone()].trim_matches('\'').to_ascii_lowercase());
    let named = |k: usize| raw(k).is_some_and(|w| w == "standard_conforming_strings");
    let is_false = |k: usize| raw(k).is_some_and(|v| false_word(&v));
    let Some(first) = toks.first() else { return false };
    if first.is_word("set") {
        let k = 1 + usize::from(toks.get(1).is_some_and(|t| t.is_word("session") || t.is_word("local")));
        named(k) && toks.get(k + 1).is_some_and(|t| t.is_punct('=') || t.is_word("to")) && is_false(k + 2)
    } else {
        // `SELECT set_config('standard_conforming_strings', 'off', …)`: the name, then the value.
        (0..toks.len()).any(|k| toks[k].tok == Tok::Literal && named(k) && is_false(k + 2))
    }
}

/// A value PostgreSQL reads as boolean false (`parse_bool`: a prefix of `false` or `no`, `of`,
/// `off`, `0`).
fn false_word(v: &str) -> bool {
    !v.is_empty() && ("false".starts_with(v) || "no".starts_with(v) || v == "of" || v == "off" || v == "0")
}

#[cfg(test)]
mod tests {
    use super::turns_off;

    #[test]
    fn the_ways_to_turn_it_off_are_found() {
        assert!(turns_off("SET standard_conforming_strings = off"));
        assert!(turns_off("set session STANDARD_CONFORMING_STRINGS to 'false'"));
        assert!(turns_off("SET LOCAL standard_conforming_strings = 0"));
        assert!(turns_off("SELECT set_config('standard_conforming_strings', 'off', false)"));
        assert!(!turns_off("SET standard_conforming_strings = on"));
        assert!(!turns_off("SET standard_conforming_strings TO DEFAULT"));
        assert!(!turns_off("COMMENT ON TABLE t IS 'standard_conforming_strings = off'"));
    }
}
