//! A small lexer for text the splitter has already validated (one statement or one action):
//! words, quoted names, literals and punctuation with byte spans. Used to find clause boundaries
//! that neither sqlparser's partial spans nor the forms grammar give directly.

use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok<'a> {
    /// A bare word as written: compare it with [`Token::is_word`], fold it with [`fold_word`]
    /// (borrowed: a statement is lexed word by word several times, and a `String` per word was a
    /// tenth of a compile).
    Word(&'a str),
    /// A `"quoted"` identifier, unescaped.
    Quoted(String),
    /// A string, dollar-quoted body or number, as written.
    Literal,
    Punct(char),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token<'a> {
    pub tok: Tok<'a>,
    pub span: Range<usize>,
}

impl Token<'_> {
    /// Is it the bare word `w` (given in lower case)? Only ASCII letters fold, as PostgreSQL folds
    /// unquoted words in UTF-8.
    pub fn is_word(&self, w: &str) -> bool {
        matches!(self.tok, Tok::Word(x) if x.eq_ignore_ascii_case(w))
    }

    /// The bare word it is, lower-cased.
    pub fn folded_word(&self) -> Option<String> {
        match self.tok {
            Tok::Word(w) => Some(fold_word(w)),
            _ => None,
        }
    }

    /// The identifier it spells, as PostgreSQL keys it: a bare word folded, a quoted name as is.
    pub fn ident(&self) -> Option<String> {
        match &self.tok {
            Tok::Quoted(q) => Some(q.clone()),
            _ => self.folded_word(),
        }
    }

    pub fn is_punct(&self, c: char) -> bool {
        self.tok == Tok::Punct(c)
    }
}

/// Does `bytes` hold `word` at offset `k`, in any ASCII letter case? The cheap test the readers at
/// lowering make before they lex, anchored on a rarer letter of the word they look for.
pub fn says_at(bytes: &[u8], k: usize, word: &[u8]) -> bool {
    bytes.get(k..k + word.len()).is_some_and(|s| s.eq_ignore_ascii_case(word))
}

/// Lex `text` (offsets relative to it). Comments and whitespace are skipped; an unterminated
/// construct simply ends at the end of the text.
pub fn lex(text: &str) -> Vec<Token<'_>> {
    // Sized for about a token per four bytes, within a bound (a 10 MB line must not reserve its
    // worst case): grown from empty, every statement's tokens took four or five reallocations.
    let mut toks = Vec::with_capacity((text.len() / 4 + 4).min(1 << 12));
    toks.extend(Lexer { text, i: 0 });
    toks
}

/// The lexer as an iterator, so a caller that needs only the first words stops early.
pub struct Lexer<'a> {
    text: &'a str,
    i: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(text: &'a str) -> Lexer<'a> {
        Lexer { text, i: 0 }
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let (text, b) = (self.text, self.text.as_bytes());
        loop {
            let start = self.i;
            let c = *b.get(start)?;
            let mut i = start;
            let escape_string = (c == b'e' || c == b'E') && b.get(i + 1) == Some(&b'\'');
            // Blanks and words first: they are most of any statement.
            let tok = if c.is_ascii_whitespace() {
                i += 1;
                None
            } else if (c.is_ascii_alphabetic() || c == b'_' || c >= 0x80) && !escape_string {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' || b[i] >= 0x80) {
                    i += 1;
                }
                Some(Tok::Word(&text[start..i]))
            } else if b[i..].starts_with(b"--") {
                i = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |n| i + n);
                None
            } else if b[i..].starts_with(b"/*") {
                let mut depth = 0;
                while i < b.len() {
                    if b[i..].starts_with(b"/*") {
                        depth += 1;
                        i += 2;
                    } else if b[i..].starts_with(b"*/") {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                None
            } else if c == b'\'' || escape_string {
                let escapes = c != b'\'';
                i += if escapes { 2 } else { 1 };
                while i < b.len() {
                    if escapes && b[i] == b'\\' {
                        i += 2;
                    } else if b[i] == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                i = i.min(b.len());
                Some(Tok::Literal)
            } else if c == b'"' {
                let mut name = String::new();
                i += 1;
                while i < b.len() {
                    if b[i] == b'"' {
                        if b.get(i + 1) == Some(&b'"') {
                            name.push('"');
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    } else {
                        let ch = text[i..].chars().next().unwrap_or('?');
                        name.push(ch);
                        i += ch.len_utf8();
                    }
                }
                Some(Tok::Quoted(name))
            } else if let Some(tag) = (c == b'$').then(|| dollar_tag(&text[i..])).flatten() {
                i += tag.len();
                i = text[i..].find(tag).map_or(b.len(), |n| i + n + tag.len());
                Some(Tok::Literal)
            } else if c.is_ascii_digit() {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    i += 1;
                }
                Some(Tok::Literal)
            } else {
                let ch = text[i..].chars().next().unwrap_or('?');
                i += ch.len_utf8();
                Some(Tok::Punct(ch))
            };
            self.i = i;
            if let Some(tok) = tok {
                return Some(Token { tok, span: start..i });
            }
        }
    }
}

/// `$tag$` or `$$` at the start of `s`, but not `$1` (a parameter). Only the tag's own characters
/// are read, so a `$` in a long statement costs nothing.
fn dollar_tag(s: &str) -> Option<&str> {
    let tag_len = s[1..].bytes().take_while(|&c| c.is_ascii_alphanumeric() || c == b'_').count();
    let tag = &s[1..1 + tag_len];
    let ok = s.as_bytes().get(1 + tag_len) == Some(&b'$')
        && (tag.is_empty() || tag.as_bytes()[0].is_ascii_alphabetic() || tag.as_bytes()[0] == b'_');
    ok.then(|| &s[..tag_len + 2])
}

/// From an opening parenthesis at `open`, the index of its closing one and that token's end.
pub fn skip_parens(toks: &[Token<'_>], open: usize) -> Option<(usize, usize)> {
    let mut depth = 0;
    for (k, t) in toks.iter().enumerate().skip(open) {
        if t.is_punct('(') {
            depth += 1;
        } else if t.is_punct(')') {
            depth -= 1;
            if depth == 0 {
                return Some((k, t.span.end));
            }
        }
    }
    None
}

/// A bare word folded to lower case, the key it is compared by.
pub fn fold_word(word: &str) -> String {
    // Most words are ASCII: a plain byte fold there.
    if word.is_ascii() {
        word.to_ascii_lowercase()
    } else {
        word.to_lowercase()
    }
}

/// The first word of a statement, lower-cased (empty when it has none).
pub fn first_word(stmt: &str) -> String {
    Lexer::new(stmt).find_map(|t| t.folded_word()).unwrap_or_default()
}

/// The words among the first `n` tokens of a statement, lower-cased, for classifying what
/// sqlparser could not parse.
pub fn head_words(text: &str, n: usize) -> Vec<String> {
    Lexer::new(text).take(n).filter_map(|t| t.folded_word()).collect()
}

/// [`head_words`] of text already lexed.
pub fn words(toks: &[Token<'_>], n: usize) -> Vec<String> {
    toks.iter().take(n).filter_map(Token::folded_word).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexes_strings_names_and_comments() {
        let toks = lex("ADD \"Ab\"\"c\" /* x /* y */ */ E'it\\'s' $f$ a; $f$ -- c\n(1)");
        let kinds: Vec<Tok> = toks.into_iter().map(|t| t.tok).collect();
        assert_eq!(
            kinds,
            vec![
                Tok::Word("ADD"),
                Tok::Quoted("Ab\"c".into()),
                Tok::Literal,
                Tok::Literal,
                Tok::Punct('('),
                Tok::Literal,
                Tok::Punct(')'),
            ]
        );
    }

    #[test]
    fn multibyte_text_inside_comments_is_skipped_safely() {
        let toks = lex("A/*ⷘ*/𐲀 -- ü\nb");
        assert_eq!(toks.len(), 3);
    }

    #[test]
    fn parameters_are_not_dollar_quotes() {
        let toks = lex("$1 + x");
        assert_eq!(toks[0].tok, Tok::Punct('$'));
    }
}
