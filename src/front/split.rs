//! Step 1 of the pipeline: cut a migration script into pieces with exact byte spans.
//!
//! The token rules (quotes, comments, dollar quotes, psql meta-commands …) live in
//! `grammar/split.pest`; this file groups the token stream into [`Piece`]s:
//!
//! * leading trivia (white space, comments) belongs to the statement that follows it;
//! * after a statement's `;`, the rest of that line belongs to the statement when it holds only
//!   white space and comments (line break included);
//! * a `;` ends a statement only outside parentheses and outside a `BEGIN ATOMIC … END` body of
//!   `CREATE [OR REPLACE] FUNCTION|PROCEDURE` (the same heuristic as psql's own lexer). If the
//!   input ends while such a `(` or `BEGIN` is still open, it was a typo: rather than swallow the
//!   rest of the script, the statement ends at its first `;`, and from there on nesting is
//!   ignored;
//! * a line starting with `\` at a statement start is a psql meta-command; inside a statement, a
//!   `\g`-family meta-command (`\g`, `\gx`, `\gset`, `\gexec`, `\gdesc`, `\watch`,
//!   `\crosstabview`) sends, and so ends, the statement;
//! * goose `-- +goose StatementBegin` … `-- +goose StatementEnd` makes one statement of the region;
//!   a section marker (`Up`, `Down`) ends a region left open before it (goose refuses such a file);
//! * migration-tool markers and `-- pgsafe:ignore` directives are recorded on the piece whose
//!   trivia holds them. A migration-tool marker (goose `Up`/`Down`/`StatementBegin`/
//!   `StatementEnd`/`NO TRANSACTION`, dbmate `migrate:up`/`migrate:down`, drizzle
//!   `--> statement-breakpoint`) at the start of a line also ends a statement that lacks its
//!   `;`, so a statement never spans two sections and no such marker hides in a body.
//!   (A `-- pgsafe:ignore` comment inside a statement body is an ordinary comment.)
//!
//! Concatenating the spans of all pieces gives back the input byte for byte. Splitting is linear
//! in the input; it fails only on a quote, dollar quote or block comment that never closes. The
//! split reads tokens as it needs them, so it can hand out the pieces it cut while it reads the
//! rest ([`split_in_chunks`]: a big draft lowers meanwhile).

use std::ops::Range;

use pest::Parser;
use pest_derive::Parser;

#[derive(Parser)]
#[grammar = "../grammar/split.pest"]
struct SplitGrammar;

/// One piece of the script. Concatenating `src[piece.span]` over all pieces gives back the input byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The whole piece: leading trivia (whitespace, comments) + body + terminator + trailing same-line trivia.
    pub span: Range<usize>,
    pub kind: PieceKind,
    /// Migration-tool markers and pgsafe directives found in this piece's leading trivia (and same-line trailing comment).
    pub markers: Vec<Marker>,
    /// A statement that leaves a `(` or a routine's `BEGIN` open: the split guessed where it ends
    /// (see the module documentation), and where every statement after it ends. Equal to
    /// [`leaves_open`] of its body (property-tested), recorded here as the split reads it.
    pub leaves_open: bool,
    /// Cut inside a goose `StatementBegin` block: it ends at the block's `StatementEnd`, whatever
    /// it leaves open, so nothing after it is a guess.
    pub in_goose_block: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PieceKind {
    /// A SQL statement. `body`: from its first token to its last token, excluding the `;`.
    /// `terminated`: false when the script ended without a `;`.
    Statement { body: Range<usize>, terminated: bool },
    /// A psql meta-command line such as `\set x 1`, `\if :flag`, `\echo hi`, `\connect db`. body = the command text without the newline.
    Meta { body: Range<usize> },
    /// Only whitespace and comments (e.g. the tail of the file, or a file of comments only).
    Trivia,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub span: Range<usize>,
    pub kind: MarkerKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkerKind {
    /// `-- +goose Up` (the keyword after `+goose` is case-insensitive).
    GooseUp,
    /// `-- +goose Down`
    GooseDown,
    /// `-- +goose StatementBegin`
    GooseStatementBegin,
    /// `-- +goose StatementEnd`
    GooseStatementEnd,
    /// `-- +goose NO TRANSACTION`
    GooseNoTransaction,
    /// `-- migrate:up` (options may follow; `transaction:false` also records [`MarkerKind::NoTransaction`]).
    DbmateUp,
    /// `-- migrate:down`
    DbmateDown,
    /// sqlx `-- no-transaction` as the first line; dbmate `transaction:false`.
    NoTransaction,
    /// drizzle `--> statement-breakpoint`
    StatementBreakpoint,
    /// node-pg-migrate `-- Up Migration` at the start of a line (its pattern: `--`, dashes or
    /// white space, `up`, white space, `migration`, any letter case).
    NodePgMigrateUp,
    /// node-pg-migrate `-- Down Migration`, likewise.
    NodePgMigrateDown,
    /// `-- pgsafe:ignore rule-a, rule-b` (empty vec = `-- pgsafe:ignore` alone = all rules).
    /// Rule ids are separated by commas and/or white space; a word that is not a rule id
    /// (for example `--` before a reason) ends the list.
    PgsafeIgnore(Vec<String>),
}

impl MarkerKind {
    /// Starts an up or a down section.
    pub fn starts_section(&self) -> bool {
        matches!(
            self,
            MarkerKind::GooseUp
                | MarkerKind::GooseDown
                | MarkerKind::DbmateUp
                | MarkerKind::DbmateDown
                | MarkerKind::NodePgMigrateUp
                | MarkerKind::NodePgMigrateDown
        )
    }
}

/// Why a script could not be split. `offset` is the byte offset of the opening token of the
/// construct that never closes (the `'`, `E'`, `"`, `$tag$` or `/*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError {
    pub offset: usize,
    pub message: String,
}

impl std::fmt::Display for SplitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.offset)
    }
}

impl std::error::Error for SplitError {}

/// Cuts `src` into pieces. See the module documentation for the rules.
pub fn split(src: &str) -> Result<Vec<Piece>, SplitError> {
    split_in_chunks(src, |_| {})
}

/// Pieces [`split_in_chunks`] hands out at a time.
pub const CHUNK: usize = 256;

/// [`split`], handing `chunk` the pieces cut so far, [`CHUNK`] or more at a time and in order,
/// while it reads the rest of the text (the pieces handed out are final). The split reads tokens
/// as it needs them, so a caller can lower the first statements of a big draft before the last
/// are read; on an error it drops what it made of them.
pub fn split_in_chunks(src: &str, chunk: impl FnMut(&[Piece])) -> Result<Vec<Piece>, SplitError> {
    let mut splitter = Splitter::new(src);
    splitter.run(chunk);
    let Splitter { toks, tokenizer, pieces, .. } = splitter;
    // Read before the errors: with the setting off, what follows is read otherwise by psql.
    let bodies = pieces.iter().filter_map(|p| match &p.kind {
        PieceKind::Statement { body, .. } => Some(body.clone()),
        _ => None,
    });
    if let Some(offset) = super::standard_strings::turned_off_at(src, bodies) {
        return Err(SplitError {
            offset,
            message: "cannot read the script: it turns standard_conforming_strings off, and psql then reads a \\' \
                      inside a string as a quote where pgsafe (and PostgreSQL's default since 9.1) reads a backslash as \
                      itself, so pgsafe could cut or keep statements where psql does not: write strings that need a \
                      backslash escape as E'…' and leave the setting on"
                .into(),
        });
    }
    if let Some(offset) = super::error_stop::turned_off_at(src, &pieces) {
        return Err(SplitError {
            offset,
            message:
                "cannot plan the script: it turns psql's ON_ERROR_STOP off, so psql goes on past a statement that \
                      fails, and no plan can mean the same (a step's transaction would roll back the statements beside \
                      it, and a lock timeout would make psql skip a statement the draft waited for and ran): take the \
                      line out, and guard a statement that may fail on purpose (IF EXISTS, IF NOT EXISTS, a DO block \
                      that catches the error)"
                    .into(),
        });
    }
    if let Some(e) = tokenizer.error {
        return Err(e);
    }
    if let Some(last) = toks.last() {
        if let TokKind::Unterminated(what) = last.kind {
            return Err(unterminated_error(src, last, what));
        }
    }
    Ok(pieces)
}

/// Whether a statement's text leaves a `(` or a routine's `BEGIN` open: then the split guessed
/// where it ends (see the module documentation), and where every statement after it ends. The
/// split records it for each piece it cuts ([`Piece::leaves_open`]); this reads one text alone.
pub fn leaves_open(body: &str) -> bool {
    let Ok(toks) = tokenize(body) else { return false };
    let mut nesting = Nesting::default();
    for t in &toks {
        match t.kind {
            TokKind::Word => nesting.word(&body[t.start()..t.end()]),
            TokKind::OpenParen => nesting.paren += 1,
            TokKind::CloseParen => nesting.paren = nesting.paren.saturating_sub(1),
            _ => {}
        }
    }
    !nesting.at_top()
}

// ---------------------------------------------------------------------------------------------
// Tokens (shared with `mask.rs`)

/// What kind of construct an `unterminated_*` token opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unclosed {
    String,
    EscapeString,
    QuotedIdent,
    DollarQuote,
    BlockComment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokKind {
    Space,
    Newline,
    LineComment,
    BlockComment,
    /// `'..'`, `U&'..'`, `B'..'`, `X'..'`, `N'..'`
    String,
    /// `E'..'`
    EscapeString,
    /// `".."`, `U&".."`
    QuotedIdent,
    DollarQuote,
    Semicolon,
    OpenParen,
    CloseParen,
    /// `\...` to the end of the line.
    Meta,
    Word,
    Other,
    /// The data lines after `COPY … FROM STDIN;`, through the `\.` line that ends them: psql
    /// sends them to the server as they are, so they are neither SQL nor split.
    CopyData,
    /// An opened construct that runs to the end of the input.
    Unterminated(Unclosed),
}

impl TokKind {
    fn is_trivia(self) -> bool {
        matches!(self, TokKind::Space | TokKind::Newline | TokKind::LineComment | TokKind::BlockComment)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: TokKind,
    // Byte offsets as u32: a token is then 12 bytes, not 24, and a dense 10 MB line has millions
    // of them (inputs above 4 GiB are refused before splitting).
    start: u32,
    end: u32,
}

impl Token {
    fn new(kind: TokKind, start: usize, end: usize) -> Token {
        Token { kind, start: start as u32, end: end as u32 }
    }

    pub fn start(&self) -> usize {
        self.start as usize
    }

    pub fn end(&self) -> usize {
        self.end as usize
    }
}

/// Splits `src` into tokens that cover it without gaps; an unterminated construct is the last
/// token and runs to the end of the input. Fails only if pest itself gives up (a resource limit).
///
/// Plain text (white space, line breaks, words, punctuation, `;`, parentheses) is scanned here;
/// wherever a quote, comment, dollar quote or meta-command may start, the grammar's `one_token`
/// rule decides what the token is and where it ends. This gives exactly the tokens of the
/// grammar's `script` rule (a test checks it) at a fraction of the cost.
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, SplitError> {
    let mut toks = token_buffer(src);
    let mut tokenizer = Tokenizer::new(src);
    while tokenizer.push_next(&mut toks) {}
    tokenizer.error.map_or(Ok(toks), Err)
}

/// Room for one token per two bytes (denser than SQL gets in practice; a 10 MB line of tuples
/// has one per 2.6): the vector then never moves, and pages it never fills never become resident.
fn token_buffer(src: &str) -> Vec<Token> {
    Vec::with_capacity(src.len() / 2 + 1)
}

/// Where [`tokenize`] is in its text: it makes one token at a time, so the split can read the
/// tokens as they are made (and hand out the statements it cut while the rest is read).
struct Tokenizer<'a> {
    src: &'a str,
    /// The next token starts here.
    at: usize,
    copy: CopyFromStdin,
    /// Why the text could not be read to its end; no token is made after it.
    error: Option<SplitError>,
}

impl<'a> Tokenizer<'a> {
    fn new(src: &'a str) -> Self {
        Tokenizer { src, at: 0, copy: CopyFromStdin::default(), error: None }
    }

    /// Push the next token onto `toks` (the tokens made so far); `false` at the end of the text or
    /// once it met an error.
    fn push_next(&mut self, toks: &mut Vec<Token>) -> bool {
        if self.error.is_some() {
            return false;
        }
        match self.next_token(toks) {
            Ok(pushed) => pushed,
            Err(e) => {
                self.error = Some(e);
                false
            }
        }
    }

    fn next_token(&mut self, toks: &mut Vec<Token>) -> Result<bool, SplitError> {
        let (src, i) = (self.src, self.at);
        let b = src.as_bytes();
        if i >= b.len() {
            if self.copy.data_next {
                return Err(unclosed_copy_data(src.len()));
            }
            return Ok(false);
        }
        let copy = &mut self.copy;
        if copy.data_next && toks.last().is_some_and(|t: &Token| t.kind == TokKind::Newline) {
            let end = copy_data_end(src, i).ok_or_else(|| unclosed_copy_data(i))?;
            toks.push(Token::new(TokKind::CopyData, i, end));
            *copy = CopyFromStdin::default();
            self.at = end;
            return Ok(true);
        }
        let c = b[i];
        let next = b.get(i + 1).copied();
        let (kind, end) = if grammar_needed(b, i) {
            let t = grammar_token(src, i)?;
            (t.kind, t.end())
        } else {
            match c {
                b' ' | b'\t' | 0x0B | 0x0C => (TokKind::Space, skip_spaces(b, i)),
                0xEF if src[i..].starts_with('\u{FEFF}') => (TokKind::Space, skip_spaces(b, i)),
                b'\n' => (TokKind::Newline, i + 1),
                b'\r' if next == Some(b'\n') => (TokKind::Newline, i + 2),
                b'\r' => (TokKind::Newline, i + 1),
                b';' => (TokKind::Semicolon, i + 1),
                b'(' => (TokKind::OpenParen, i + 1),
                b')' => (TokKind::CloseParen, i + 1),
                _ if is_ident_start(c) => {
                    let len = b[i + 1..].iter().take_while(|&&c| is_ident_cont(c)).count();
                    (TokKind::Word, i + 1 + len)
                }
                _ => {
                    let mut j = i + 1;
                    while j < b.len() && !starts_token(b, j) {
                        j += 1;
                    }
                    (TokKind::Other, j)
                }
            }
        };
        if copy.data_next && !ends_a_line(kind, &src[i..end]) {
            return Err(SplitError {
                offset: i,
                message: "cannot split the script: `COPY … FROM stdin` must end its line. psql reads the data from \
                          the next line and runs what follows the `;` on this line only after the data, an order a plan cannot keep: \
                          move it to a line of its own"
                    .into(),
            });
        }
        copy.token(kind, &src[i..end]);
        // A section marker at a line's start ends the statement (the split cuts there): a
        // `COPY … FROM stdin` before it has no data (its `;`, if any, comes in the next section),
        // and a `COPY` after it is the first word of its statement.
        let section_marker = || parse_markers(&src[i..end], false).iter().any(is_section_marker);
        if copy.words != 0 && kind == TokKind::LineComment && line_start(toks) && section_marker() {
            *copy = CopyFromStdin::default();
        }
        toks.push(Token::new(kind, i, end));
        self.at = end;
        Ok(true)
    }
}

/// May this token follow a `COPY … FROM stdin;` on its line? Only blanks and comments, which psql
/// skips before it reads the data from the next line.
fn ends_a_line(kind: TokKind, text: &str) -> bool {
    match kind {
        TokKind::Space | TokKind::Newline | TokKind::LineComment => true,
        TokKind::BlockComment => !text.contains(['\n', '\r']),
        _ => false,
    }
}

/// The data of a `COPY … FROM stdin` that starts at `at` runs to the end of the input without its
/// `\.` line. psql takes the end of the file for the end of the data, but in a plan step a `COMMIT`
/// or the next statement would follow it and be read as data.
fn unclosed_copy_data(at: usize) -> SplitError {
    SplitError {
        offset: at,
        message: "cannot split the script: the data of `COPY … FROM stdin` runs to the end of the file without \
                  the `\\.` line that ends it; add that line (pgsafe's plan puts statements after the data, which \
                  psql would read as more data)"
            .into(),
    }
}

/// Would psql read data lines after `body` once a `;` ends it (`COPY … FROM STDIN`, by the words
/// the split follows)?
pub fn copies_from_stdin(body: &str) -> bool {
    let Ok(toks) = tokenize(body) else { return false };
    let mut copy = CopyFromStdin::default();
    for t in toks {
        copy.token(t.kind, &body[t.start()..t.end()]);
    }
    copy.state == 3
}

/// Follows the words of each statement to see a `COPY … FROM STDIN` end: its data starts on
/// the next line.
#[derive(Default)]
struct CopyFromStdin {
    /// Words of the current statement seen so far (saturating).
    words: usize,
    /// 1: the statement starts with COPY; 2: … and the last word was FROM; 3: … FROM STDIN.
    state: u8,
    /// The statement ended with its `;`: data follows the line break.
    data_next: bool,
}

impl CopyFromStdin {
    fn token(&mut self, kind: TokKind, text: &str) {
        match kind {
            TokKind::Word => {
                let is = |w: &str| text.eq_ignore_ascii_case(w);
                self.state = match self.state {
                    0 if self.words == 0 && is("copy") => 1,
                    1 | 2 if is("from") => 2,
                    2 if is("stdin") || is("pstdin") => 3,
                    3 => 3,
                    0 => 0,
                    _ => 1,
                };
                self.words = self.words.saturating_add(1);
            }
            TokKind::Semicolon => {
                self.data_next = self.state == 3;
                self.words = 0;
                self.state = 0;
            }
            // psql's `\copy … from stdin` reads the lines after it too.
            TokKind::Meta => {
                let lower = text.to_ascii_lowercase();
                self.data_next =
                    lower.starts_with("\\copy ") && (lower.contains(" from stdin") || lower.contains(" from pstdin"));
            }
            _ => {}
        }
    }
}

/// Do the tokens so far end a line (blanks aside), or is there none: does the next one start a line?
fn line_start(toks: &[Token]) -> bool {
    toks.iter().rev().find(|t| t.kind != TokKind::Space).is_none_or(|t| t.kind == TokKind::Newline)
}

/// The end of the data lines that start at `start`: after the line `\.`; `None` without one.
fn copy_data_end(src: &str, start: usize) -> Option<usize> {
    let mut at = start;
    while at < src.len() {
        let line_end = src[at..].find('\n').map_or(src.len(), |n| at + n + 1);
        if src[at..line_end].trim_end_matches(['\n', '\r']) == "\\." {
            return Some(line_end);
        }
        at = line_end;
    }
    None
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_ident_cont(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit() || c == b'$'
}

/// The end of the run of white space (grammar rule `space`) that starts at `i`.
fn skip_spaces(b: &[u8], mut i: usize) -> usize {
    loop {
        match b.get(i) {
            Some(b' ' | b'\t' | 0x0B | 0x0C) => i += 1,
            Some(0xEF) if b[i..].starts_with("\u{FEFF}".as_bytes()) => i += 3,
            _ => return i,
        }
    }
}

/// Whether a quote, comment, dollar quote or meta-command may start at byte `i`: then the
/// grammar decides.
fn grammar_needed(b: &[u8], i: usize) -> bool {
    let next = b.get(i + 1).copied();
    match b[i] {
        b'\'' | b'"' | b'$' | b'\\' => true,
        b'-' => next == Some(b'-'),
        b'/' => next == Some(b'*'),
        // E'..', B'..', X'..', N'..'
        b'e' | b'E' | b'b' | b'B' | b'x' | b'X' | b'n' | b'N' => next == Some(b'\''),
        // U&'..', U&".."
        b'u' | b'U' => next == Some(b'&') && matches!(b.get(i + 2), Some(b'\'' | b'"')),
        _ => false,
    }
}

/// Whether some token other than `other` may start at byte `j` (grammar rule `special`).
fn starts_token(b: &[u8], j: usize) -> bool {
    match b[j] {
        b' ' | b'\t' | 0x0B | 0x0C | b'\n' | b'\r' | b'$' | b'\'' | b'"' | b';' | b'(' | b')' | b'\\' => true,
        b'-' => b.get(j + 1) == Some(&b'-'),
        b'/' => b.get(j + 1) == Some(&b'*'),
        c => is_ident_start(c),
    }
}

/// Runs the grammar's `one_token` rule at byte `at`.
fn grammar_token(src: &str, at: usize) -> Result<Token, SplitError> {
    let limit_error =
        |offset: usize, what: String| SplitError { offset, message: format!("cannot split the script: {what}") };
    let mut pairs = SplitGrammar::parse(Rule::one_token, &src[at..]).map_err(|e| {
        let offset = match e.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((s, _)) => s,
        };
        limit_error(at + offset, e.variant.message().into_owned())
    })?;
    let pair =
        pairs.next().and_then(|one| one.into_inner().next()).ok_or_else(|| limit_error(at, "no token".to_string()))?;
    let span = pair.as_span();
    let kind = rule_kind(pair.as_rule()).ok_or_else(|| limit_error(at, "no token".to_string()))?;
    Ok(Token::new(kind, at + span.start(), at + span.end()))
}

fn rule_kind(rule: Rule) -> Option<TokKind> {
    Some(match rule {
        Rule::space => TokKind::Space,
        Rule::newline => TokKind::Newline,
        Rule::line_comment => TokKind::LineComment,
        Rule::block_comment => TokKind::BlockComment,
        Rule::dollar_quote => TokKind::DollarQuote,
        Rule::escape_string => TokKind::EscapeString,
        Rule::string => TokKind::String,
        Rule::quoted_ident => TokKind::QuotedIdent,
        Rule::semicolon => TokKind::Semicolon,
        Rule::open_paren => TokKind::OpenParen,
        Rule::close_paren => TokKind::CloseParen,
        Rule::meta_command => TokKind::Meta,
        Rule::word => TokKind::Word,
        Rule::other | Rule::joined_semicolon => TokKind::Other,
        Rule::unterminated_block_comment => TokKind::Unterminated(Unclosed::BlockComment),
        Rule::unterminated_dollar_quote => TokKind::Unterminated(Unclosed::DollarQuote),
        Rule::unterminated_escape_string => TokKind::Unterminated(Unclosed::EscapeString),
        Rule::unterminated_string => TokKind::Unterminated(Unclosed::String),
        Rule::unterminated_quoted_ident => TokKind::Unterminated(Unclosed::QuotedIdent),
        _ => return None,
    })
}

/// The tokens of the grammar's `script` rule, straight from pest (the reference for `tokenize`).
#[cfg(test)]
fn tokenize_with_grammar(src: &str) -> Vec<Token> {
    let pairs = SplitGrammar::parse(Rule::script, src).expect("the grammar is total");
    pairs
        .filter_map(|pair| {
            let kind = rule_kind(pair.as_rule())?;
            let span = pair.as_span();
            Some(Token::new(kind, span.start(), span.end()))
        })
        .collect()
}

fn unterminated_error(src: &str, tok: &Token, what: Unclosed) -> SplitError {
    let text = &src[tok.start()..tok.end()];
    // The opening token: up to and including the first quote character (or the whole `$tag$`).
    let opening = match what {
        Unclosed::BlockComment => "/*",
        Unclosed::DollarQuote => {
            let close = text[1..].find('$').map_or(text.len(), |i| i + 2);
            &text[..close]
        }
        Unclosed::String | Unclosed::EscapeString => &text[..text.find('\'').map_or(text.len(), |i| i + 1)],
        Unclosed::QuotedIdent => &text[..text.find('"').map_or(text.len(), |i| i + 1)],
    };
    let message = match what {
        Unclosed::BlockComment => "unterminated block comment /*".to_string(),
        Unclosed::DollarQuote => format!("unterminated dollar-quoted string {opening}"),
        Unclosed::String => format!("unterminated quoted string {opening}"),
        Unclosed::EscapeString => {
            format!("unterminated quoted string {opening} (in an E'' string a backslash escapes the next character)")
        }
        Unclosed::QuotedIdent => format!("unterminated quoted identifier {opening}"),
    };
    SplitError { offset: tok.start(), message }
}

// ---------------------------------------------------------------------------------------------
// Markers

/// The markers a `--` comment carries (usually none; dbmate `migrate:up transaction:false`
/// carries two). `text` is the whole comment, `--` included.
fn parse_markers(text: &str, at_file_start: bool) -> Vec<MarkerKind> {
    let Some(rest) = text.strip_prefix("--") else {
        return Vec::new();
    };
    if let Some(after) = rest.strip_prefix('>') {
        if starts_with_word(after.trim_start(), "statement-breakpoint") {
            return vec![MarkerKind::StatementBreakpoint];
        }
        return Vec::new();
    }
    let rest = rest.trim_start();
    if at_file_start && starts_with_ci(rest, "no-transaction") {
        return vec![MarkerKind::NoTransaction];
    }
    if starts_with_word(rest, "+goose") {
        let words: Vec<String> = rest["+goose".len()..].split_whitespace().map(str::to_ascii_lowercase).collect();
        let kind = match words.first().map(String::as_str) {
            Some("up") => Some(MarkerKind::GooseUp),
            Some("down") => Some(MarkerKind::GooseDown),
            Some("statementbegin") => Some(MarkerKind::GooseStatementBegin),
            Some("statementend") => Some(MarkerKind::GooseStatementEnd),
            Some("notransaction") => Some(MarkerKind::GooseNoTransaction),
            Some("no") if words.get(1).map(String::as_str) == Some("transaction") => {
                Some(MarkerKind::GooseNoTransaction)
            }
            _ => None,
        };
        return kind.into_iter().collect();
    }
    let words = rest.trim_start_matches(|c: char| c == '-' || c.is_whitespace());
    for (keyword, kind) in [("up", MarkerKind::NodePgMigrateUp), ("down", MarkerKind::NodePgMigrateDown)] {
        let after = words.get(keyword.len()..).filter(|_| starts_with_ci(words, keyword)).unwrap_or("");
        if after.starts_with(char::is_whitespace) && starts_with_ci(after.trim_start(), "migration") {
            return vec![kind];
        }
    }
    for (keyword, kind) in [("migrate:up", MarkerKind::DbmateUp), ("migrate:down", MarkerKind::DbmateDown)] {
        if starts_with_word(rest, keyword) {
            let mut kinds = vec![kind];
            let no_tx =
                rest[keyword.len()..].split_whitespace().any(|opt| opt.eq_ignore_ascii_case("transaction:false"));
            if no_tx {
                kinds.push(MarkerKind::NoTransaction);
            }
            return kinds;
        }
    }
    if starts_with_word(rest, "pgsafe:ignore") {
        let rules = rest["pgsafe:ignore".len()..]
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .take_while(|w| {
                !w.starts_with('-') && w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
            .map(str::to_string)
            .collect();
        return vec![MarkerKind::PgsafeIgnore(rules)];
    }
    Vec::new()
}

/// Only spaces and tabs (and byte-order marks) stand between the start of the line and `pos`:
/// where a migration tool's marker counts (see `Splitter::markers_of`).
pub fn at_line_start(src: &str, pos: usize) -> bool {
    for c in src[..pos].chars().rev() {
        match c {
            '\n' | '\r' => return true,
            ' ' | '\t' | '\u{FEFF}' => {}
            _ => return false,
        }
    }
    true
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// `s` starts with `word` (ASCII case-insensitive), followed by the end, white space or a comma.
fn starts_with_word(s: &str, word: &str) -> bool {
    starts_with_ci(s, word) && s[word.len()..].chars().next().is_none_or(|c| c.is_whitespace() || c == ',')
}

/// A migration-tool marker (every kind but `pgsafe:ignore` and sqlx's first-line marker): when it
/// starts a line inside a statement that has no `;` yet, the statement ends before it, so the
/// marker is never hidden inside a statement body.
fn is_section_marker(kind: &MarkerKind) -> bool {
    matches!(
        kind,
        MarkerKind::GooseUp
            | MarkerKind::GooseDown
            | MarkerKind::GooseStatementBegin
            | MarkerKind::GooseStatementEnd
            | MarkerKind::GooseNoTransaction
            | MarkerKind::DbmateUp
            | MarkerKind::DbmateDown
            | MarkerKind::StatementBreakpoint
            | MarkerKind::NodePgMigrateUp
            | MarkerKind::NodePgMigrateDown
    )
}

// ---------------------------------------------------------------------------------------------
// Grouping tokens into pieces

/// psql's heuristic for `;` inside a statement (see `psqlscan.l`): parentheses nest, and in
/// `CREATE [OR REPLACE] FUNCTION|PROCEDURE`, `BEGIN` … `END` (with `CASE` … `END` inside) nests.
#[derive(Default)]
struct Nesting {
    /// First letters of the first four identifiers, when they are create/function/procedure/or/replace.
    idents: [u8; 4],
    ident_count: usize,
    paren: usize,
    begin: usize,
}

impl Nesting {
    fn word(&mut self, w: &str) {
        if self.ident_count < self.idents.len()
            && ["create", "function", "procedure", "or", "replace"].iter().any(|k| w.eq_ignore_ascii_case(k))
        {
            self.idents[self.ident_count] = w.as_bytes()[0].to_ascii_lowercase();
        }
        self.ident_count = self.ident_count.saturating_add(1);
        let id = &self.idents;
        let routine = id[0] == b'c'
            && (id[1] == b'f' || id[1] == b'p' || (id[1] == b'o' && id[2] == b'r' && (id[3] == b'f' || id[3] == b'p')));
        if routine && self.paren == 0 {
            if w.eq_ignore_ascii_case("begin") {
                self.begin += 1;
            } else if w.eq_ignore_ascii_case("case") {
                if self.begin >= 1 {
                    self.begin += 1;
                }
            } else if w.eq_ignore_ascii_case("end") {
                self.begin = self.begin.saturating_sub(1);
            }
        }
    }

    fn at_top(&self) -> bool {
        self.paren == 0 && self.begin == 0
    }
}

/// psql meta-commands that send the query buffer, and so end the statement they follow.
fn is_send_meta(text: &str) -> bool {
    let name = text[1..].split(|c: char| c.is_whitespace() || c == '\\').next().unwrap_or("");
    matches!(name, "g" | "gx" | "gset" | "gexec" | "gdesc" | "watch" | "crosstabview")
}

struct Splitter<'a> {
    src: &'a str,
    /// The tokens read so far ([`Splitter::get`] reads more).
    toks: Vec<Token>,
    tokenizer: Tokenizer<'a>,
    pieces: Vec<Piece>,
    /// Inside a goose `StatementBegin` … `StatementEnd` region.
    goose_block: bool,
    /// Set once a statement ran into the end of the input (or a section marker) with a `(` or
    /// `BEGIN` still open: that nesting was a typo, and from then on every `;` ends a statement.
    /// Per section kind (up, down): the plan's steps hold the up sections only, so a typo in a
    /// down section must not change how they are read.
    flat: [bool; 2],
    /// In a down section (goose, dbmate, node-pg-migrate).
    down: bool,
}

impl<'a> Splitter<'a> {
    fn new(src: &'a str) -> Self {
        Splitter {
            src,
            toks: token_buffer(src),
            tokenizer: Tokenizer::new(src),
            // About a statement per 64 bytes (gen_big's drafts hold one per 95).
            pieces: Vec::with_capacity(src.len() / 64 + 1),
            goose_block: false,
            flat: [false; 2],
            down: false,
        }
    }

    fn flat(&self) -> bool {
        self.flat[usize::from(self.down)]
    }

    /// Token `i`, read from the text now if the split has not reached it yet; `None` past the
    /// end (or past an error, which [`split_in_chunks`] reports).
    fn get(&mut self, i: usize) -> Option<Token> {
        while self.toks.len() <= i && self.tokenizer.push_next(&mut self.toks) {}
        self.toks.get(i).copied()
    }

    fn go_flat(&mut self) {
        self.flat[usize::from(self.down)] = true;
    }

    fn text(&self, i: usize) -> &'a str {
        let t = self.toks[i];
        &self.src[t.start()..t.end()]
    }

    fn markers_of(&self, i: usize) -> Vec<MarkerKind> {
        let t = self.toks[i];
        if t.kind != TokKind::LineComment {
            return Vec::new();
        }
        let before = &self.src[..t.start()];
        let at_file_start = before.is_empty() || before == "\u{FEFF}";
        let mut kinds = parse_markers(self.text(i), at_file_start);
        // goose, dbmate and node-pg-migrate look for their markers at the start of a line only (a
        // `--+goose Up` after a statement on its line is a comment to them); drizzle splits at
        // its breakpoint wherever it is, and pgsafe's own directive may follow a statement.
        if !self.at_line_start(t.start()) {
            kinds.retain(|k| matches!(k, MarkerKind::StatementBreakpoint | MarkerKind::PgsafeIgnore(_)));
        }
        kinds
    }

    fn at_line_start(&self, pos: usize) -> bool {
        at_line_start(self.src, pos)
    }

    fn push_markers(&self, i: usize, out: &mut Vec<Marker>) {
        let t = self.toks[i];
        for kind in self.markers_of(i) {
            out.push(Marker { span: t.start()..t.end(), kind });
        }
    }

    /// Cut the whole text, handing out the pieces in chunks (see [`split_in_chunks`]).
    fn run(&mut self, mut chunk: impl FnMut(&[Piece])) {
        let mut i = 0;
        let mut handed = 0;
        while let Some(first) = self.get(i) {
            // Every piece pushed before this one is final.
            if self.pieces.len() - handed >= CHUNK {
                chunk(&self.pieces[handed..]);
                handed = self.pieces.len();
            }
            let span_start = first.start();
            let mut markers = Vec::new();
            while self.get(i).is_some_and(|t| t.kind.is_trivia()) {
                for kind in self.markers_of(i) {
                    match kind {
                        MarkerKind::GooseStatementBegin => self.goose_block = true,
                        MarkerKind::GooseStatementEnd => self.goose_block = false,
                        // A section marker inside an open block (goose refuses such a file) ends
                        // the block: a block never spans two sections.
                        MarkerKind::GooseUp | MarkerKind::DbmateUp | MarkerKind::NodePgMigrateUp => {
                            (self.down, self.goose_block) = (false, false)
                        }
                        MarkerKind::GooseDown | MarkerKind::DbmateDown | MarkerKind::NodePgMigrateDown => {
                            (self.down, self.goose_block) = (true, false)
                        }
                        _ => {}
                    }
                    let t = self.toks[i];
                    markers.push(Marker { span: t.start()..t.end(), kind });
                }
                i += 1;
            }
            if self.get(i).is_none() {
                self.pieces.push(Piece {
                    span: span_start..self.src.len(),
                    kind: PieceKind::Trivia,
                    markers,
                    leaves_open: false,
                    in_goose_block: false,
                });
                break;
            }
            let t = self.toks[i];
            i = match t.kind {
                // Inside a goose block a backslash line is block text, as it is after the block's
                // first token (goose sends the block as one query).
                TokKind::Meta if !self.goose_block => {
                    let text = self.text(i).trim_end_matches([' ', '\t']);
                    let body = t.start()..t.start() + text.len();
                    let mut next =
                        if self.get(i + 1).map(|t| t.kind) == Some(TokKind::Newline) { i + 2 } else { i + 1 };
                    if self.get(next).is_some_and(|t| t.kind == TokKind::CopyData) {
                        next += 1;
                    }
                    self.pieces.push(Piece {
                        span: span_start..self.toks[next - 1].end(),
                        kind: PieceKind::Meta { body },
                        markers,
                        leaves_open: false,
                        in_goose_block: false,
                    });
                    next
                }
                TokKind::Semicolon if !self.goose_block => {
                    self.finish(span_start, t.start()..t.start(), true, false, i, markers)
                }
                _ => {
                    let in_goose_block = self.goose_block;
                    let next = self.statement(i, span_start, markers);
                    if let Some(piece) = self.pieces.last_mut() {
                        piece.in_goose_block = in_goose_block;
                    }
                    next
                }
            };
        }
        if self.pieces.len() > handed {
            chunk(&self.pieces[handed..]);
        }
    }

    /// Pushes a statement piece whose terminator (or last token) is token `last`, extended by
    /// the trailing same-line trivia. Returns the index of the first token after the piece.
    fn finish(
        &mut self,
        span_start: usize,
        body: Range<usize>,
        terminated: bool,
        leaves_open: bool,
        last: usize,
        mut markers: Vec<Marker>,
    ) -> usize {
        let mut next = self.trailing(last + 1);
        for j in last + 1..next {
            self.push_markers(j, &mut markers);
        }
        // `COPY … FROM STDIN` data travels with its statement.
        if self.get(next).is_some_and(|t| t.kind == TokKind::CopyData) {
            next += 1;
        }
        self.pieces.push(Piece {
            span: span_start..self.toks[next - 1].end(),
            kind: PieceKind::Statement { body, terminated },
            markers,
            leaves_open,
            in_goose_block: false,
        });
        next
    }

    /// The end (exclusive token index) of the trailing trivia that starts at token `from`: the
    /// rest of the line if it holds only white space and comments (line break included), else
    /// nothing.
    fn trailing(&mut self, from: usize) -> usize {
        let mut j = from;
        while let Some(t) = self.get(j) {
            match t.kind {
                TokKind::Space | TokKind::LineComment => j += 1,
                TokKind::BlockComment if !self.text(j).contains(['\n', '\r']) => j += 1,
                TokKind::Newline => return j + 1,
                _ => return from,
            }
        }
        j
    }

    /// Reads a statement that starts at token `first`. Returns the index of the first token
    /// after the piece.
    fn statement(&mut self, first: usize, span_start: usize, markers: Vec<Marker>) -> usize {
        let body_start = self.toks[first].start();
        let mut nesting = Nesting::default();
        // The last significant (non-trivia) token and the one before it.
        let mut last_sig = first;
        let mut prev_sig: Option<usize> = None;
        // The first `;` that did not end the statement because of nesting, and the body end
        // before it: where the statement ends if the nesting never closes.
        let mut nested_semi: Option<(usize, usize)> = None;
        let mut i = first;
        while let Some(t) = self.get(i) {
            let mut significant = true;
            match t.kind {
                TokKind::Space | TokKind::Newline | TokKind::BlockComment => significant = false,
                TokKind::LineComment => {
                    significant = false;
                    let kinds = self.markers_of(i);
                    let ends_block = self.goose_block && kinds.contains(&MarkerKind::GooseStatementEnd);
                    let section = kinds.iter().any(is_section_marker);
                    if ends_block || (section && self.at_line_start(t.start())) {
                        // The statement ends before this comment, which (with the trivia
                        // before it) becomes leading trivia of the next piece.
                        let nested = !nesting.at_top();
                        let open = OpenStatement { span_start, body_start, last_sig, prev_sig, nested_semi, nested };
                        return self.close(open, markers);
                    }
                }
                TokKind::Semicolon if !self.goose_block && (self.flat() || nesting.at_top()) => {
                    let body_end = if i == first { body_start } else { self.toks[last_sig].end() };
                    return self.finish(span_start, body_start..body_end, true, !nesting.at_top(), i, markers);
                }
                TokKind::Meta if !self.goose_block && i != first && is_send_meta(self.text(i)) => {
                    let body = body_start..self.toks[last_sig].end();
                    let last = if self.get(i + 1).map(|t| t.kind) == Some(TokKind::Newline) { i + 1 } else { i };
                    self.pieces.push(Piece {
                        span: span_start..self.toks[last].end(),
                        kind: PieceKind::Statement { body, terminated: true },
                        markers,
                        leaves_open: !nesting.at_top(),
                        in_goose_block: false,
                    });
                    return last + 1;
                }
                TokKind::Semicolon if !self.goose_block && nested_semi.is_none() => {
                    nested_semi = Some((i, self.toks[last_sig].end()));
                }
                TokKind::Word => nesting.word(self.text(i)),
                TokKind::OpenParen => nesting.paren += 1,
                TokKind::CloseParen => nesting.paren = nesting.paren.saturating_sub(1),
                _ => {}
            }
            if significant && i != first {
                prev_sig = Some(last_sig);
                last_sig = i;
            }
            i += 1;
        }
        let nested = !nesting.at_top();
        let open = OpenStatement { span_start, body_start, last_sig, prev_sig, nested_semi, nested };
        self.close(open, markers)
    }

    /// Ends a statement that met no terminating `;`: at a goose `StatementEnd`, a section
    /// marker, or the end of the input. It ends after its last significant token; in a goose
    /// region a final `;` is the terminator. If a `;` was skipped only because a `(` or `BEGIN`
    /// never closed, the statement ends at that `;` instead, and nesting is ignored from then on.
    /// (A `;` inside a nesting that did close, as in `… BEGIN ATOMIC SELECT 1; END` without its
    /// final `;`, belongs to the statement.)
    fn close(&mut self, open: OpenStatement, markers: Vec<Marker>) -> usize {
        let OpenStatement { span_start, body_start, last_sig, prev_sig, nested_semi, nested } = open;
        if let Some((semi, body_end)) = nested_semi.filter(|_| nested) {
            self.go_flat();
            // Open at that `;`: it was skipped for the nesting.
            return self.finish(span_start, body_start..body_end, true, true, semi, markers);
        }
        // Without a `;` the typo is the same: a plan that ends this statement with one (its
        // step files do) must split what follows as the draft did.
        if nested && !self.goose_block {
            self.go_flat();
        }
        let last = self.toks[last_sig];
        let (body_end, terminated) = if self.goose_block && last.kind == TokKind::Semicolon {
            (prev_sig.map_or(body_start, |p| self.toks[p].end()), true)
        } else {
            (last.end(), false)
        };
        self.goose_block = false;
        self.finish(span_start, body_start..body_end, terminated, nested, last_sig, markers)
    }
}

/// Where a statement without its terminating `;` stands (see [`Splitter::close`]).
struct OpenStatement {
    span_start: usize,
    body_start: usize,
    /// The last significant token and the one before it.
    last_sig: usize,
    prev_sig: Option<usize>,
    /// The first `;` skipped because of nesting, and the body end before it.
    nested_semi: Option<(usize, usize)>,
    /// A `(` or `BEGIN` is still open.
    nested: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_hand_out_every_piece_once_in_order_as_the_text_is_read() {
        let src = format!(
            "-- +goose Up\n{}-- +goose StatementBegin\nSELECT 1;\nSELECT 2;\n-- +goose StatementEnd\n\\set x 1\n\
             COPY t FROM stdin;\n1\n\\.\n-- +goose Down\nDROP TABLE t;\n",
            "CREATE TABLE t (a int); -- same line\n\n".repeat(CHUNK * 3 + 7)
        );
        let mut handed = Vec::new();
        let mut sizes = Vec::new();
        let pieces = split_in_chunks(&src, |chunk| {
            sizes.push(chunk.len());
            handed.extend(chunk.iter().map(|p| p.span.clone()));
        })
        .unwrap();
        let spans: Vec<Range<usize>> = pieces.iter().map(|p| p.span.clone()).collect();
        assert_eq!(handed, spans);
        assert!(sizes.len() >= 3 && sizes[..sizes.len() - 1].iter().all(|&n| n >= CHUNK), "{sizes:?}");
        // Lazily read, the tokens are the ones read at once, and so are the errors found late.
        for bad in ["SELECT 'x;\n", "DO $$ BEGIN\n", "COPY t FROM stdin;\n1\n", "COPY t FROM stdin; SELECT 1;\n"] {
            let text = format!("{src}{bad}");
            let at_once = tokenize(&text).and_then(|toks| match toks.last().map(|t| (t, t.kind)) {
                Some((last, TokKind::Unterminated(what))) => Err(unterminated_error(&text, last, what)),
                _ => Ok(()),
            });
            assert_eq!(split(&text).map(|_| ()), at_once, "{bad:?}");
            assert!(at_once.is_err(), "{bad:?}");
        }
    }

    /// (kind, span text, body text) for each piece; also checks losslessness.
    fn pieces(src: &str) -> Vec<(&'static str, String, String)> {
        let ps = split(src).unwrap_or_else(|e| panic!("split failed: {e:?}"));
        let joined: String = ps.iter().map(|p| &src[p.span.clone()]).collect();
        assert_eq!(joined, src, "pieces must concatenate to the input");
        ps.iter()
            .map(|p| match &p.kind {
                PieceKind::Statement { body, terminated } => (
                    if *terminated { "stmt" } else { "stmt-open" },
                    src[p.span.clone()].to_string(),
                    src[body.clone()].to_string(),
                ),
                PieceKind::Meta { body } => ("meta", src[p.span.clone()].to_string(), src[body.clone()].to_string()),
                PieceKind::Trivia => ("trivia", src[p.span.clone()].to_string(), String::new()),
            })
            .collect()
    }

    fn p(kind: &'static str, span: &str, body: &str) -> (&'static str, String, String) {
        (kind, span.to_string(), body.to_string())
    }

    fn bodies(src: &str) -> Vec<String> {
        pieces(src).into_iter().filter(|(k, _, _)| k.starts_with("stmt")).map(|(_, _, b)| b).collect()
    }

    fn err(src: &str) -> SplitError {
        split(src).expect_err("expected a split error")
    }

    #[test]
    fn empty_input_gives_no_pieces() {
        assert_eq!(split("").unwrap(), vec![]);
    }

    #[test]
    fn exact_spans_of_a_simple_script() {
        let src = "-- create\nCREATE TABLE t (id int);  -- trailing\n\nSELECT 1;\n";
        let ps = split(src).unwrap();
        assert_eq!(
            ps,
            vec![
                Piece {
                    span: 0..48,
                    kind: PieceKind::Statement { body: 10..33, terminated: true },
                    markers: vec![],
                    leaves_open: false,
                    in_goose_block: false
                },
                Piece {
                    span: 48..59,
                    kind: PieceKind::Statement { body: 49..57, terminated: true },
                    markers: vec![],
                    leaves_open: false,
                    in_goose_block: false
                },
            ]
        );
        assert_eq!(&src[10..33], "CREATE TABLE t (id int)");
        assert_eq!(&src[49..57], "SELECT 1");
    }

    #[test]
    fn trivia_attachment() {
        assert_eq!(
            pieces("SELECT 1; /* a */ -- b\r\n\r\n/* lead */\nSELECT 2 ;  \n-- tail\n"),
            vec![
                p("stmt", "SELECT 1; /* a */ -- b\r\n", "SELECT 1"),
                p("stmt", "\r\n/* lead */\nSELECT 2 ;  \n", "SELECT 2"),
                p("trivia", "-- tail\n", ""),
            ]
        );
        // Text after the `;` on the same line: the rest of the line is not trailing trivia.
        assert_eq!(
            pieces("SELECT 1; /* c */ SELECT 2;"),
            vec![p("stmt", "SELECT 1;", "SELECT 1"), p("stmt", " /* c */ SELECT 2;", "SELECT 2"),]
        );
        // A block comment that runs onto the next line is leading trivia of the next statement.
        assert_eq!(
            pieces("SELECT 1; /* a\nb */ SELECT 2;"),
            vec![p("stmt", "SELECT 1;", "SELECT 1"), p("stmt", " /* a\nb */ SELECT 2;", "SELECT 2"),]
        );
        assert_eq!(pieces("  \n-- only comments\n/* x */"), vec![p("trivia", "  \n-- only comments\n/* x */", "")]);
    }

    #[test]
    fn missing_final_semicolon_and_empty_statements() {
        assert_eq!(
            pieces("SELECT 1;\nSELECT 2 -- no semicolon\n\n"),
            vec![
                p("stmt", "SELECT 1;\n", "SELECT 1"),
                p("stmt-open", "SELECT 2 -- no semicolon\n", "SELECT 2"),
                p("trivia", "\n", ""),
            ]
        );
        let src = "SELECT 1;;\n ;";
        let ps = split(src).unwrap();
        assert_eq!(
            ps.iter().map(|p| (p.span.clone(), p.kind.clone())).collect::<Vec<_>>(),
            vec![
                (0..9, PieceKind::Statement { body: 0..8, terminated: true }),
                (9..11, PieceKind::Statement { body: 9..9, terminated: true }),
                (11..13, PieceKind::Statement { body: 12..12, terminated: true }),
            ]
        );
    }

    #[test]
    fn quotes_hide_semicolons() {
        assert_eq!(
            bodies(
                "SELECT 'a;''b';\nSELECT E'it\\'s; \\\\';\nSELECT U&'d\\0061t;a', B'01', X'1f';\n\
                 SELECT \"we;\"\"ird\" FROM t;\nSELECT 1::text, 'x'::regclass;"
            ),
            vec![
                "SELECT 'a;''b'",
                "SELECT E'it\\'s; \\\\'",
                "SELECT U&'d\\0061t;a', B'01', X'1f'",
                "SELECT \"we;\"\"ird\" FROM t",
                "SELECT 1::text, 'x'::regclass",
            ]
        );
        // In a standard string a backslash is just a character.
        assert_eq!(bodies("SELECT 'a\\';SELECT 2;"), vec!["SELECT 'a\\'", "SELECT 2"]);
    }

    #[test]
    fn dollar_quotes() {
        let src = "CREATE FUNCTION f() RETURNS int AS $fn_1$\n  SELECT $$;$$; -- ; \n  $BODY$ ; $BODY$\n$fn_1$ LANGUAGE sql;\nDO $$ BEGIN PERFORM 1; END $$;";
        assert_eq!(
            bodies(src),
            vec![
                "CREATE FUNCTION f() RETURNS int AS $fn_1$\n  SELECT $$;$$; -- ; \n  $BODY$ ; $BODY$\n$fn_1$ LANGUAGE sql",
                "DO $$ BEGIN PERFORM 1; END $$",
            ]
        );
        // Not dollar quotes: parameters, ${...} and $%...%$ placeholders, `$` inside identifiers.
        assert_eq!(
            bodies("SELECT $1; SELECT * FROM ${schema}.t; SELECT '$%AUTO_INCREMENT%$', $%X%$; SELECT a$b$ FROM t;"),
            vec!["SELECT $1", "SELECT * FROM ${schema}.t", "SELECT '$%AUTO_INCREMENT%$', $%X%$", "SELECT a$b$ FROM t",]
        );
    }

    #[test]
    fn comments_inside_statements() {
        assert_eq!(
            bodies("SELECT 1 -- ; not the end\n  /* ; /* nested ; */ still ; */ + 2;\nSELECT 3;"),
            vec!["SELECT 1 -- ; not the end\n  /* ; /* nested ; */ still ; */ + 2", "SELECT 3"]
        );
        assert_eq!(bodies("SELECT 1 /**/;SELECT 2 /*/ */;"), vec!["SELECT 1", "SELECT 2"]);
    }

    #[test]
    fn begin_atomic_bodies() {
        let f = "CREATE OR REPLACE FUNCTION f(a int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN a > 0 THEN 1 ELSE 2 END;\n  SELECT (CASE a WHEN 1 THEN 1 END);\nEND";
        let p2 = "CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); END";
        let src = format!("{f};\n{p2};\nBEGIN;\nSELECT CASE WHEN true THEN 1 END;\nEND;\n");
        assert_eq!(bodies(&src), vec![f, p2, "BEGIN", "SELECT CASE WHEN true THEN 1 END", "END"]);
    }

    #[test]
    fn parentheses_hide_semicolons_like_psql() {
        assert_eq!(
            bodies("CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));\nSELECT 1;"),
            vec![
                "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2))",
                "SELECT 1"
            ]
        );
    }

    #[test]
    fn an_unclosed_parenthesis_does_not_swallow_the_script() {
        assert_eq!(
            pieces("SELECT (1;\nSELECT 2;\nSELECT (3);\nSELECT 4"),
            vec![
                p("stmt", "SELECT (1;\n", "SELECT (1"),
                p("stmt", "SELECT 2;\n", "SELECT 2"),
                p("stmt", "SELECT (3);\n", "SELECT (3)"),
                p("stmt-open", "SELECT 4", "SELECT 4"),
            ]
        );
        assert_eq!(
            bodies("CREATE FUNCTION f() BEGIN ATOMIC SELECT 1; SELECT 2;"),
            vec!["CREATE FUNCTION f() BEGIN ATOMIC SELECT 1", "SELECT 2"]
        );
        // A section marker ends a goose block left open before it (goose refuses such a file):
        // the statements after it are statements of their own, in that section.
        assert_eq!(
            bodies("-- +goose Down\n-- +goose StatementBegin\n-- +goose Up\nSELECT 1;\nSELECT 2;\n-- +goose StatementEnd\n"),
            vec!["SELECT 1", "SELECT 2"]
        );
        // Cut before a section marker too.
        assert_eq!(
            bodies("-- migrate:up\nSELECT (1; SELECT 2\n-- migrate:down\nSELECT 3;"),
            vec!["SELECT (1", "SELECT 2", "SELECT 3"]
        );
        // Ended by a section marker without any `;`: the statements after it split as they would
        // if it ended with one (a plan's step files end it with one), at each `;`.
        let after = "CREATE TABLE b ((x);\nALTER TABLE w DROP COLUMN v;\n);\n";
        let cut = bodies(&format!("-- +goose Up\nSELECT (1\n-- +goose NO TRANSACTION\n{after}"));
        assert_eq!(cut, bodies(&format!("-- +goose Up\nSELECT (1;\n-- +goose NO TRANSACTION\n{after}")));
        assert_eq!(cut, vec!["SELECT (1", "CREATE TABLE b ((x)", "ALTER TABLE w DROP COLUMN v", ")"]);
    }

    #[test]
    fn a_semicolon_inside_a_nesting_that_closes_stays_in_its_statement() {
        // Without a final `;`, at the end of the input or before a section marker: the nesting
        // closed, so nothing was a typo.
        let atomic = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END";
        assert_eq!(bodies(atomic), vec![atomic]);
        assert_eq!(bodies("(;)\n-- +goose StatementBegin\nCREATE INDEX ON l()\n"), vec!["(;)", "CREATE INDEX ON l()"]);
        assert_eq!(bodies(&format!("{atomic}\n-- migrate:down\nSELECT 3;")), vec![atomic, "SELECT 3"]);
    }

    #[test]
    fn leaves_open_sees_the_nesting_the_split_sees() {
        assert!(leaves_open("CREATE TABLE b (x int REFERENCES e(id"));
        assert!(leaves_open("CREATE FUNCTION f() BEGIN ATOMIC SELECT 1"));
        assert!(!leaves_open("CREATE TABLE b (x int, y int)"));
        assert!(!leaves_open("DROP TYPE d)"));
        assert!(!leaves_open("SELECT '(' , \"(\" -- ("));
    }

    /// A section marker ends a `COPY … FROM stdin` without its `;`: the next section's `;` starts
    /// no data (a fuzz find: the plan's `down.sql` ended a statement with `;`, and the flattened
    /// plan then could not be split).
    #[test]
    fn a_section_marker_ends_a_copy_before_its_semicolon() {
        assert_eq!(
            bodies("COPY t FROM stdin\n-- +goose Down\nDROP TABLE t;\n"),
            vec!["COPY t FROM stdin", "DROP TABLE t"]
        );
        assert!(split("COPY t FROM stdin\n-- a comment\nDROP TABLE t;\n").is_err());
        assert!(split("COPY t FROM stdin /* x */ -- +goose Down\nDROP TABLE t;\n").is_err());
        // After an unterminated statement, a section's `COPY … FROM stdin;` is followed by data.
        assert!(split("ALTER TABLE t\n-- +goose Down\nCOPY t FROM stdin;\nDROP TABLE t;\n").is_err());
        assert_eq!(bodies("ALTER TABLE t\n-- +goose Down\nCOPY t FROM stdin;\n1\n\\.\n").len(), 2);
    }

    /// A block that closed in a statement's comments does not hold it: its open `(` makes the
    /// rest of the split a guess (a fuzz find: the plan kept the wrong statements as written).
    #[test]
    fn only_a_block_still_open_holds_a_statement() {
        let src = "-- +goose StatementBegin\nSELECT (1;\n-- +goose StatementEnd\nSELECT (2;\nSELECT 3;\n";
        let ps = split(src).unwrap();
        let held: Vec<(bool, bool)> = ps.iter().map(|p| (p.leaves_open, p.in_goose_block)).collect();
        assert_eq!(held[..2], [(true, true), (true, false)]);
    }

    #[test]
    fn placeholders_are_ordinary_text() {
        assert_eq!(
            bodies("CREATE INDEX i ON {{ .Namespace }}.users (id);\nSELECT :var, :'var', :\"var\", x := 1;\n"),
            vec!["CREATE INDEX i ON {{ .Namespace }}.users (id)", "SELECT :var, :'var', :\"var\", x := 1"]
        );
    }

    #[test]
    fn psql_meta_commands() {
        assert_eq!(
            pieces("\\set x 1\r\n  \\if :flag\nSELECT 1;\n\\endif"),
            vec![
                p("meta", "\\set x 1\r\n", "\\set x 1"),
                p("meta", "  \\if :flag\n", "\\if :flag"),
                p("stmt", "SELECT 1;\n", "SELECT 1"),
                p("meta", "\\endif", "\\endif"),
            ]
        );
        assert_eq!(
            pieces("SELECT count(*) AS n FROM t \\gset\nSELECT 'x' \\gexec\r\n\\echo 'it''s; done' \n"),
            vec![
                p("stmt", "SELECT count(*) AS n FROM t \\gset\n", "SELECT count(*) AS n FROM t"),
                p("stmt", "SELECT 'x' \\gexec\r\n", "SELECT 'x'"),
                p("meta", "\\echo 'it''s; done' \n", "\\echo 'it''s; done'"),
            ]
        );
        let ps = split("SELECT 1\n\\g\n").unwrap();
        assert_eq!(ps[0].kind, PieceKind::Statement { body: 0..8, terminated: true });
        assert_eq!(ps.len(), 1);
    }

    #[test]
    fn crlf_everywhere() {
        assert_eq!(
            pieces("-- a\r\nSELECT 1;\r\n\r\nSELECT 'x\r\n;';\r\n"),
            vec![
                p("stmt", "-- a\r\nSELECT 1;\r\n", "SELECT 1"),
                p("stmt", "\r\nSELECT 'x\r\n;';\r\n", "SELECT 'x\r\n;'"),
            ]
        );
    }

    #[test]
    fn goose_regions() {
        let src = "-- +goose Up\n-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS trigger AS $$\nBEGIN RETURN NEW; END;\n$$ LANGUAGE plpgsql;\nSELECT 1;\n-- +goose StatementEnd\n\n-- +goose Down\nDROP FUNCTION f;\n";
        let ps = split(src).unwrap();
        assert_eq!(ps.len(), 2);
        let body = "CREATE FUNCTION f() RETURNS trigger AS $$\nBEGIN RETURN NEW; END;\n$$ LANGUAGE plpgsql;\nSELECT 1";
        let body_start = src.find("CREATE").unwrap();
        assert_eq!(
            ps[0],
            Piece {
                span: 0..src.find("-- +goose StatementEnd").unwrap(),
                kind: PieceKind::Statement { body: body_start..body_start + body.len(), terminated: true },
                markers: vec![
                    Marker { span: 0..12, kind: MarkerKind::GooseUp },
                    Marker { span: 13..37, kind: MarkerKind::GooseStatementBegin },
                ],
                leaves_open: false,
                in_goose_block: true,
            }
        );
        let end_at = src.find("-- +goose StatementEnd").unwrap();
        let down_at = src.find("-- +goose Down").unwrap();
        assert_eq!(ps[1].span, end_at..src.len());
        assert_eq!(
            ps[1].markers,
            vec![
                Marker { span: end_at..end_at + 22, kind: MarkerKind::GooseStatementEnd },
                Marker { span: down_at..down_at + 14, kind: MarkerKind::GooseDown },
            ]
        );
        assert_eq!(&src[ps[1].span.clone()], "-- +goose StatementEnd\n\n-- +goose Down\nDROP FUNCTION f;\n");
    }

    #[test]
    fn goose_region_without_final_semicolon() {
        let src = "-- +goose StatementBegin\nSELECT 1; SELECT 2\n-- +goose StatementEnd\n";
        assert_eq!(
            pieces(src),
            vec![
                p("stmt-open", "-- +goose StatementBegin\nSELECT 1; SELECT 2\n", "SELECT 1; SELECT 2"),
                p("trivia", "-- +goose StatementEnd\n", ""),
            ]
        );
        // A region that is never closed runs to the end of the input.
        assert_eq!(bodies("-- +goose statementbegin\nSELECT 1; SELECT 2;\n"), vec!["SELECT 1; SELECT 2"]);
        // A backslash line is block text at the block's start too, as after its first token (an
        // eleventh-run fuzz find: read as a psql command, it left the block open for whatever a
        // plan step put after it, its BEGIN and timeouts included).
        let src = "-- +goose StatementBegin\n\\set x 1\nSELECT 1; SELECT 2;\n-- +goose StatementEnd\n";
        assert_eq!(bodies(src), vec!["\\set x 1\nSELECT 1; SELECT 2"]);
    }

    #[test]
    fn section_markers_end_a_statement_without_semicolon() {
        assert_eq!(
            pieces("-- migrate:up\nCREATE TABLE t (id int)\n-- migrate:down\nDROP TABLE t;\n"),
            vec![
                p("stmt-open", "-- migrate:up\nCREATE TABLE t (id int)\n", "CREATE TABLE t (id int)"),
                p("stmt", "-- migrate:down\nDROP TABLE t;\n", "DROP TABLE t"),
            ]
        );
        // A pgsafe directive inside a statement is only a comment.
        assert_eq!(
            bodies("ALTER TABLE t\n-- pgsafe:ignore x\nADD c int;"),
            vec!["ALTER TABLE t\n-- pgsafe:ignore x\nADD c int"]
        );
    }

    #[test]
    fn drizzle_breakpoints() {
        let src = "CREATE TABLE \"a\" (id int);--> statement-breakpoint\nCREATE INDEX i ON a (id);";
        let ps = split(src).unwrap();
        assert_eq!(ps.len(), 2);
        assert_eq!(&src[ps[0].span.clone()], "CREATE TABLE \"a\" (id int);--> statement-breakpoint\n");
        assert_eq!(ps[0].markers, vec![Marker { span: 26..50, kind: MarkerKind::StatementBreakpoint }]);
    }

    #[test]
    fn tool_markers_count_at_the_start_of_a_line_only() {
        let ps = split("SELECT 1; --+goose Down\nCREATE TABLE a (id int);--> statement-breakpoint\n").unwrap();
        assert_eq!(ps[0].markers, vec![]);
        assert_eq!(ps[1].markers.iter().map(|m| &m.kind).collect::<Vec<_>>(), vec![&MarkerKind::StatementBreakpoint]);
    }

    #[test]
    fn a_typo_in_a_down_section_leaves_the_up_section_as_it_reads() {
        // The `(` left open in the down section makes that section's `;`s end statements; the up
        // section, which the plan's steps hold without it, still reads `(;)` as one statement.
        let src = "-- +goose Down\n(\n-- +goose Up\n(;);DROP INDEX i;\n";
        assert_eq!(bodies(src), vec!["(", "(;)", "DROP INDEX i"]);
        assert_eq!(bodies("-- +goose Up\n(\n-- +goose Down\n(;);\n"), vec!["(", "(;)"]);
    }

    #[test]
    fn marker_kinds() {
        let k = |s: &str| parse_markers(s, false);
        assert_eq!(k("-- +goose Up"), vec![MarkerKind::GooseUp]);
        assert_eq!(k("-- +goose DOWN"), vec![MarkerKind::GooseDown]);
        assert_eq!(k("--+goose statementBegin"), vec![MarkerKind::GooseStatementBegin]);
        assert_eq!(k("-- +goose StatementEnd  "), vec![MarkerKind::GooseStatementEnd]);
        assert_eq!(k("-- +goose NO  TRANSACTION"), vec![MarkerKind::GooseNoTransaction]);
        assert_eq!(k("-- +goose ENVSUB ON"), vec![]);
        assert_eq!(k("-- +gooseUp"), vec![]);
        assert_eq!(k("-- migrate:up"), vec![MarkerKind::DbmateUp]);
        assert_eq!(k("-- migrate:up transaction:false"), vec![MarkerKind::DbmateUp, MarkerKind::NoTransaction]);
        assert_eq!(k("-- migrate:down"), vec![MarkerKind::DbmateDown]);
        assert_eq!(k("-- migrate:upgrade"), vec![]);
        assert_eq!(k("--> statement-breakpoint"), vec![MarkerKind::StatementBreakpoint]);
        assert_eq!(k("-- Up Migration"), vec![MarkerKind::NodePgMigrateUp]);
        assert_eq!(k("---- down   MIGRATIONS"), vec![MarkerKind::NodePgMigrateDown]);
        assert_eq!(k("-- update migration"), vec![]);
        assert_eq!(k("-- down migrations_old"), vec![MarkerKind::NodePgMigrateDown], "its pattern has no word end");
        assert_eq!(k("-- down migrated"), vec![]);
        assert_eq!(k("-- Down"), vec![]);
        assert_eq!(k("-- no-transaction"), vec![]);
        assert_eq!(parse_markers("-- no-transaction", true), vec![MarkerKind::NoTransaction]);
        assert_eq!(k("-- pgsafe:ignore"), vec![MarkerKind::PgsafeIgnore(vec![])]);
        assert_eq!(
            k("-- pgsafe:ignore rule-a, rule-b -- reason: small table"),
            vec![MarkerKind::PgsafeIgnore(vec!["rule-a".into(), "rule-b".into()])]
        );
        assert_eq!(k("-- pgsafe:ignored"), vec![]);
        assert_eq!(k("-- a comment"), vec![]);
    }

    #[test]
    fn sqlx_no_transaction_only_on_the_first_line() {
        let ps = split("-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n-- no-transaction\n").unwrap();
        assert_eq!(ps[0].markers, vec![Marker { span: 0..17, kind: MarkerKind::NoTransaction }]);
        assert_eq!(ps[1].kind, PieceKind::Trivia);
        assert_eq!(ps[1].markers, vec![]);
    }

    #[test]
    fn pgsafe_ignore_leading_and_trailing() {
        let src =
            "-- pgsafe:ignore concurrent-index\nCREATE INDEX i ON t (a); -- pgsafe:ignore fk-not-valid\nSELECT 1;";
        let ps = split(src).unwrap();
        assert_eq!(ps.len(), 2);
        assert_eq!(
            ps[0].markers,
            vec![
                Marker { span: 0..33, kind: MarkerKind::PgsafeIgnore(vec!["concurrent-index".into()]) },
                Marker { span: 59..88, kind: MarkerKind::PgsafeIgnore(vec!["fk-not-valid".into()]) },
            ]
        );
        assert_eq!(ps[1].markers, vec![]);
    }

    #[test]
    fn unicode_and_bom() {
        let src = "\u{FEFF}-- résumé\nSELECT 'ü;' AS naïve, \"日本\";\nSELECT 2";
        assert_eq!(
            pieces(src),
            vec![
                p("stmt", "\u{FEFF}-- résumé\nSELECT 'ü;' AS naïve, \"日本\";\n", "SELECT 'ü;' AS naïve, \"日本\""),
                p("stmt-open", "SELECT 2", "SELECT 2"),
            ]
        );
    }

    #[test]
    fn unterminated_constructs_are_errors_at_the_opening_token() {
        assert_eq!(
            err("SELECT 1;\nSELECT 'abc;\nSELECT 2;"),
            SplitError { offset: 17, message: "unterminated quoted string '".into() }
        );
        let e = err("SELECT E'it\\';");
        assert_eq!(e.offset, 7);
        assert!(e.message.starts_with("unterminated quoted string E'"), "{}", e.message);
        assert_eq!(
            err("SELECT \"a\"\"b;"),
            SplitError { offset: 7, message: "unterminated quoted identifier \"".into() }
        );
        assert_eq!(
            err("DO $fn$ BEGIN END $$;"),
            SplitError { offset: 3, message: "unterminated dollar-quoted string $fn$".into() }
        );
        assert_eq!(
            err("SELECT 1; /* a /* b */ ;"),
            SplitError { offset: 10, message: "unterminated block comment /*".into() }
        );
        // Byte offsets, not character offsets.
        assert_eq!(err("SELECT 'é'; '").offset, 13);
    }

    #[test]
    fn noise_is_statement_text() {
        let src = "\u{0}\u{1}ÿ\u{7f}*/ ) ) \\ -\u{2}";
        let ps = split(src).unwrap();
        let joined: String = ps.iter().map(|p| &src[p.span.clone()]).collect();
        assert_eq!(joined, src);
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let src = format!("{}{}", "/*".repeat(100_000), "*/".repeat(100_000));
        assert_eq!(pieces(&src), vec![p("trivia", &src, "")]);
        let src = format!("SELECT {} 1 {};", "(".repeat(100_000), ")".repeat(100_000));
        assert_eq!(bodies(&src).len(), 1);
    }

    #[test]
    fn copy_data_travels_with_its_statement() {
        let src = "COPY t (a, b) FROM stdin;\n1\tit's\n2\t\\N\n\\.\nCREATE INDEX i ON t (a);\n";
        assert_eq!(
            pieces(src),
            vec![
                p("stmt", "COPY t (a, b) FROM stdin;\n1\tit's\n2\t\\N\n\\.\n", "COPY t (a, b) FROM stdin"),
                p("stmt", "CREATE INDEX i ON t (a);\n", "CREATE INDEX i ON t (a)"),
            ]
        );
        let src = "\\copy t from stdin with csv\r\na,\"b\r\n\\.\r\nSELECT 1;";
        assert_eq!(bodies(src), vec!["SELECT 1"]);
        assert_eq!(pieces(src)[0].0, "meta");
        // COPY … TO STDOUT and FROM a file have no data lines.
        assert_eq!(bodies("COPY t TO stdout;\nSELECT 1;"), vec!["COPY t TO stdout", "SELECT 1"]);
        assert_eq!(bodies("copy t from '/tmp/x';\nSELECT 1;"), vec!["copy t from '/tmp/x'", "SELECT 1"]);
        // Blanks and comments may follow the `;` on its line.
        let src = "COPY t FROM stdin; /* rows */ -- note\n1\n\\.\nSELECT 1;";
        assert_eq!(bodies(src), vec!["COPY t FROM stdin", "SELECT 1"]);
    }

    #[test]
    fn copy_data_a_plan_could_not_keep_in_order_is_refused() {
        // psql runs what follows the `;` on the COPY's line after the data (the fuzzer's case: a
        // `\.` there); a plan would run it, or its own COMMIT, as data.
        for (src, at) in [
            ("COPY t FROM stdin; SELECT 1;\n1\n\\.\n", 19),
            ("COPY FROM stdin;\\.\nCREATE INDEX ON o", 16),
            ("COPY t FROM stdin; /* a\n */\n1\n\\.\n", 19),
        ] {
            let e = split(src).unwrap_err();
            assert_eq!(e.offset, at, "{src:?}");
            assert!(e.message.contains("must end its line"), "{}", e.message);
        }
        // Data that the end of the file ends, or no data at all: a COMMIT after it would be read
        // as data.
        for src in ["COPY t FROM stdin;\n1\n2\n", "COPY t FROM stdin;\n", "COPY t FROM stdin;"] {
            assert!(split(src).unwrap_err().message.contains("without the `\\.` line"), "{src:?}");
        }
        // Without its `;` at the end it reads nothing; a plan that ends it must add the `\.`.
        assert!(split("COPY t FROM stdin").is_ok());
        assert!(copies_from_stdin("COPY t (a) FROM STDIN WITH (FORMAT csv)"));
        assert!(!copies_from_stdin("COPY t TO stdout") && !copies_from_stdin("copy t from '/tmp/x'"));
    }

    #[test]
    fn fast_tokenizer_matches_the_grammar_on_samples() {
        for src in [
            "SELECT e'a\\'b', E'x' ,U&'d' u&\"i\" U&x B'1' X'f' N'n' n x'1' b",
            "a$b$ $1 ${x} $$ $ $$ $a$ b $a$ $%x%$ $",
            "/* /* */ */ -- c\r\n/**/ /*/ */ - / -1 /2 \\set x\r\n\u{FEFF} \u{FEFF}x \t\x0b\x0c",
            "é日本 naïve_$1 (;) \u{0}\u{7f} ::= <> != 'a''b' \"a\"\"b\"",
            "SELECT 'never closed",
            "SELECT $fn$ never closed",
            "SELECT /* /* */ never closed",
        ] {
            assert_eq!(tokenize(src).unwrap(), tokenize_with_grammar(src), "{src:?}");
        }
    }

    use proptest::prelude::*;

    proptest::proptest! {
        #[test]
        fn fast_tokenizer_matches_the_grammar(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(vec![
                        " ", "\t", "\n", "\r\n", "\r", ";", "(", ")", "'", "''", "\"", "$", "$$",
                        "$a$", "$1", "--", "-", "/*", "*/", "/", "*", "\\", "E'", "e", "U&", "u&'",
                        "b'", "X", "N'", "x", "word", "_a$b", "é", "日本", "\u{FEFF}", "1.5", "::",
                        "{{ .X }}", ":v", "\u{0}", "\x0b",
                    ]).prop_map(str::to_string),
                    "\\PC{0,3}",
                ],
                0..40,
            )
        ) {
            let src: String = parts.concat();
            proptest::prop_assert_eq!(tokenize(&src).unwrap(), tokenize_with_grammar(&src));
        }
    }
}
