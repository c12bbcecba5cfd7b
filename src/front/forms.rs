//! Byte spans of the lock-relevant statement forms (see `grammar/forms.pest`).

use super::tokens::{Lexer, Tok};
use pest::iterators::Pair;
use pest::Parser;
use pest_derive::Parser;
use std::ops::Range;

#[derive(Parser)]
#[grammar = "../grammar/forms.pest"]
struct FormsParser;

/// `CREATE INDEX` as written: spans are relative to the statement body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateIndexForm {
    pub unique: bool,
    pub concurrently: bool,
    pub if_not_exists: bool,
    pub name: Option<String>,
    pub only: bool,
    pub table: String,
    /// Offset just after the table name.
    pub table_end: usize,
    /// Offset just after the `INDEX` keyword.
    pub after_index_kw: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropIndexForm {
    pub concurrently: bool,
    pub if_exists: bool,
    pub names: Vec<String>,
    pub cascade: bool,
    pub after_index_kw: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReindexForm {
    pub target: String,
    /// Concurrent however spelled: the `CONCURRENTLY` keyword, or the option list's last
    /// `CONCURRENTLY [true|on|1]` (PostgreSQL 14+; `CONCURRENTLY false` is a plain REINDEX).
    pub concurrently: bool,
    pub name: String,
    /// Offset just after the target keyword (`INDEX`, `TABLE`, …), where `CONCURRENTLY` goes.
    pub after_target_kw: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterTableForm {
    pub table: String,
    /// Each comma-separated action, trimmed of surrounding whitespace.
    pub actions: Vec<Range<usize>>,
}

fn parse(rule: Rule, body: &str) -> Option<Pair<'_, Rule>> {
    FormsParser::parse(rule, body).ok()?.next()
}

/// The length of the (possibly qualified, possibly templated) name at the start of `text`: what
/// the grammar's `name` rule matches, scanned by hand. Names are read several times per statement,
/// and pest's checks on every rule call (call limit, stack depth) made this the costliest step of
/// lowering (about a sixth of all instructions). A property test holds it equal to the rule.
pub fn name_len(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut end = name_part_end(b, 0)?;
    loop {
        let dot = skip_blanks(b, end);
        if b.get(dot) != Some(&b'.') {
            return Some(end);
        }
        match name_part_end(b, skip_blanks(b, dot + 1)) {
            Some(e) => end = e,
            None => return Some(end),
        }
    }
}

/// The grammar's `WHITESPACE*`.
fn skip_blanks(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\r' | b'\n' | 0x0C)) {
        i += 1;
    }
    i
}

/// `name_part`: one or more placeholders, quoted or bare identifiers, run together.
fn name_part_end(b: &[u8], mut i: usize) -> Option<usize> {
    let first = i;
    while let Some(e) = piece_end(b, i) {
        i = e;
    }
    (i > first).then_some(i)
}

/// One placeholder, quoted identifier or bare identifier at `i`, tried in the grammar's order.
fn piece_end(b: &[u8], i: usize) -> Option<usize> {
    let rest = &b[i.min(b.len())..];
    let until = |from: usize, close: &[u8]| {
        rest[from..].windows(close.len()).position(|w| w == close).map(|p| i + from + p + close.len())
    };
    // A bare identifier ends before a `${…}` placeholder (`idx_${x}` is `idx_` and `${x}`): read
    // as part of it, the `$` left `{x}` unread, and the statement was no form at all.
    let ident_end = |from: usize| {
        from + b[from..]
            .iter()
            .enumerate()
            .take_while(|&(k, &c)| ident_char(c) && !opens_dollar_brace(b, from + k))
            .count()
    };
    let placeholder = if rest.starts_with(b"{{") {
        until(2, b"}}")
    } else if rest.starts_with(b"${") {
        until(2, b"}")
    } else if rest.starts_with(b":'") {
        until(2, b"'")
    } else if rest.starts_with(b":\"") {
        until(2, b"\"")
    } else {
        None
    };
    if placeholder.is_some() {
        return placeholder;
    }
    match rest {
        [b':', c, ..] if ident_start(*c) => Some(ident_end(i + 2)),
        [b'"', ..] => {
            let mut j = 1;
            loop {
                match rest.get(j)? {
                    b'"' if rest.get(j + 1) == Some(&b'"') => j += 2,
                    b'"' => return Some(i + j + 1),
                    _ => j += 1,
                }
            }
        }
        [c, ..] if ident_start(*c) => Some(ident_end(i + 1)),
        _ => None,
    }
}

/// The grammar's `ident_start` and `ident_char` (any byte of a non-ASCII character counts).
fn ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn ident_char(c: u8) -> bool {
    ident_start(c) || c.is_ascii_digit() || c == b'$'
}

/// Does a `${` placeholder open at `i` (the grammar's `bare_ident` stops there)?
fn opens_dollar_brace(b: &[u8], i: usize) -> bool {
    b.get(i) == Some(&b'$') && b.get(i + 1) == Some(&b'{')
}

/// `CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] [name] ON [ONLY] table …` (the
/// grammar's `create_index`, read by hand: see `Head`).
pub fn create_index(body: &str) -> Option<CreateIndexForm> {
    let mut head = Head::new(body);
    if !head.keyword("create") {
        return None;
    }
    let unique = head.keyword("unique");
    if !head.keyword("index") {
        return None;
    }
    let after_index_kw = head.i;
    let concurrently = head.keyword("concurrently");
    let if_not_exists = head.keywords(&["if", "not", "exists"]);
    let before = head.i;
    let name = match head.keyword("on") {
        true => None,
        false => head.name(),
    };
    if name.is_none() {
        head.i = before;
    }
    if !head.keyword("on") {
        return None;
    }
    let only = head.keyword("only");
    let table = head.name()?;
    balanced(&body.as_bytes()[table.end..]).then(|| CreateIndexForm {
        unique,
        concurrently,
        if_not_exists,
        name: name.map(|n| body[n].to_string()),
        only,
        table: body[table.clone()].to_string(),
        table_end: table.end,
        after_index_kw,
    })
}

/// Is all of `b` the grammar's `balanced_item*`: no `(` left open and no `)` unopened outside
/// strings, quoted names, dollar quotes and comments (each only where it is closed)?
fn balanced(b: &[u8]) -> bool {
    let (mut i, mut depth) = (0, 0usize);
    while i < b.len() {
        let rest = &b[i..];
        let closed = match rest[0] {
            b'(' => {
                depth += 1;
                Some(1)
            }
            b')' if depth == 0 => return false,
            b')' => {
                depth -= 1;
                Some(1)
            }
            b'\'' => quoted_len(rest, b'\'', true),
            b'"' => quoted_len(rest, b'"', false),
            b'$' => dollar_quoted_len(rest),
            b'-' if rest.starts_with(b"--") => Some(rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len())),
            b'/' => block_comment_len(rest),
            _ => None,
        };
        i += closed.unwrap_or(1);
    }
    depth == 0
}

/// A string (`backslash`: `\` escapes the next character, as the grammar's `sq_string` reads
/// every string) or quoted name at the start of `b`, with its doubled quotes, if it is closed.
fn quoted_len(b: &[u8], quote: u8, backslash: bool) -> Option<usize> {
    let mut j = 1;
    while j < b.len() {
        match b[j] {
            c if c == quote && b.get(j + 1) == Some(&quote) => j += 2,
            c if c == quote => return Some(j + 1),
            b'\\' if backslash && j + 1 < b.len() => j += 2,
            _ => j += 1,
        }
    }
    None
}

/// A dollar-quoted string (`$$…$$`, `$tag$…$tag$`) at the start of `b`, if it is closed.
fn dollar_quoted_len(b: &[u8]) -> Option<usize> {
    let tag_len = match b.get(1) {
        Some(&c) if c.is_ascii_alphabetic() || c == b'_' => {
            let word = 2 + b[2..].iter().take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_').count();
            (b.get(word) == Some(&b'$')).then_some(word + 1)
        }
        _ => None,
    }
    .or_else(|| b.starts_with(b"$$").then_some(2))?;
    let tag = &b[..tag_len];
    b[tag_len..].windows(tag_len).position(|w| w == tag).map(|p| 2 * tag_len + p)
}

/// `DROP INDEX [CONCURRENTLY] [IF EXISTS] name, … [CASCADE | RESTRICT]` (the grammar's
/// `drop_index`, read by hand: pest took three times what sqlparser takes to parse it).
pub fn drop_index(body: &str) -> Option<DropIndexForm> {
    let mut head = Head::new(body);
    if !(head.keyword("drop") && head.keyword("index")) {
        return None;
    }
    let after_index_kw = head.i;
    let concurrently = head.keyword("concurrently");
    let if_exists = head.keywords(&["if", "exists"]);
    let mut names = vec![body[head.name()?].to_string()];
    loop {
        let before = head.i;
        head.skip();
        if body.as_bytes().get(head.i) != Some(&b',') {
            head.i = before;
            break;
        }
        head.i += 1;
        names.push(body[head.name()?].to_string());
    }
    let cascade = head.keyword("cascade");
    if !cascade {
        head.keyword("restrict");
    }
    head.skip();
    (head.i == body.len()).then_some(DropIndexForm { concurrently, if_exists, names, cascade, after_index_kw })
}

/// `ALTER INDEX [IF EXISTS] name RENAME TO new`: the two names as written.
pub fn rename_index(body: &str) -> Option<(String, String)> {
    alter_index(body, ["rename", "to"])
}

/// `ALTER INDEX [IF EXISTS] parent ATTACH PARTITION child`: (parent, child) as written.
pub fn attach_index(body: &str) -> Option<(String, String)> {
    alter_index(body, ["attach", "partition"])
}

/// `ALTER INDEX [IF EXISTS] name <action> other`, with nothing after: the two names as written.
fn alter_index(body: &str, [first, second]: [&str; 2]) -> Option<(String, String)> {
    let mut head = Head::new(body);
    if !(head.keyword("alter") && head.keyword("index")) {
        return None;
    }
    head.keywords(&["if", "exists"]);
    let name = body[head.name()?].to_string();
    if !(head.keyword(first) && head.keyword(second)) {
        return None;
    }
    let other = body[head.name()?].to_string();
    head.skip();
    (head.i == body.len()).then_some((name, other))
}

pub fn reindex(body: &str) -> Option<ReindexForm> {
    let mut form = ReindexForm { target: String::new(), concurrently: false, name: String::new(), after_target_kw: 0 };
    for p in parse(Rule::reindex, body)?.into_inner() {
        match p.as_rule() {
            Rule::reindex_target => {
                form.target = p.as_str().to_uppercase();
                form.after_target_kw = p.as_span().end();
            }
            Rule::reindex_options => form.concurrently = concurrently_option(p.as_str()),
            // PostgreSQL appends the keyword to the option list, so it wins over the list.
            Rule::k_concurrently => form.concurrently = true,
            Rule::name => form.name = p.as_str().to_string(),
            _ => {}
        }
    }
    Some(form)
}

/// Does a utility option list `(…)` end up with `CONCURRENTLY` on? The last mention counts, as
/// in PostgreSQL; a bare option is on, and its value is read as PostgreSQL reads a boolean.
fn concurrently_option(options: &str) -> bool {
    let toks: Vec<_> = Lexer::new(options).collect();
    let mut on = false;
    // Each option starts after the opening parenthesis or a comma at the list's own depth.
    let mut depth = 0;
    for (i, t) in toks.iter().enumerate() {
        match t.tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            _ => {}
        }
        let starts = depth == 1 && (t.is_punct('(') || t.is_punct(','));
        if !(starts && toks.get(i + 1).is_some_and(|n| n.is_word("concurrently"))) {
            continue;
        }
        on = match toks.get(i + 2) {
            Some(v) if v.is_punct(',') || v.is_punct(')') => true,
            Some(v) => {
                let value = options[v.span.clone()].trim_matches('\'');
                ["true", "on", "1"].iter().any(|b| value.eq_ignore_ascii_case(b))
            }
            None => true,
        };
    }
    on
}

/// A statement's head read the way the grammar's non-atomic rules read it: keywords in any letter
/// case and not run into an identifier, names, and blanks and comments between them. By hand for
/// the forms lowering reads on most statements (see [`name_len`]); property tests hold each equal
/// to its grammar rule.
struct Head<'a> {
    text: &'a str,
    i: usize,
}

impl<'a> Head<'a> {
    fn new(text: &'a str) -> Head<'a> {
        Head { text, i: 0 }
    }

    /// The grammar's implicit `(WHITESPACE | COMMENT)*`.
    fn skip(&mut self) {
        loop {
            let rest = &self.text.as_bytes()[self.i..];
            if rest.first().is_some_and(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n' | 0x0C)) {
                self.i += 1;
            } else if rest.starts_with(b"--") {
                self.i += rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
            } else if let Some(len) = block_comment_len(rest) {
                self.i += len;
            } else {
                return;
            }
        }
    }

    /// Skip, then take keyword `k` (lower case) if it comes next; else stay where it was.
    /// Skip, then take all of `ks` in a row, or none of them.
    fn keywords(&mut self, ks: &[&str]) -> bool {
        let start = self.i;
        let all = ks.iter().all(|k| self.keyword(k));
        if !all {
            self.i = start;
        }
        all
    }

    fn keyword(&mut self, k: &str) -> bool {
        let start = self.i;
        self.skip();
        let rest = &self.text.as_bytes()[self.i..];
        let word = rest.len() >= k.len()
            && rest[..k.len()].eq_ignore_ascii_case(k.as_bytes())
            && !rest.get(k.len()).is_some_and(|&c| ident_char(c));
        self.i = if word { self.i + k.len() } else { start };
        word
    }

    /// Skip, then take a name (see [`name_len`]).
    fn name(&mut self) -> Option<Range<usize>> {
        self.skip();
        let start = self.i;
        self.i += name_len(&self.text[start..])?;
        Some(start..self.i)
    }
}

/// The grammar's nested `block_comment` at the start of `b`, if it is closed. (Counting depth
/// matches the recursive rule: a nested comment left open leaves the outer one open too.)
fn block_comment_len(b: &[u8]) -> Option<usize> {
    if !b.starts_with(b"/*") {
        return None;
    }
    let (mut i, mut depth) = (2, 1);
    while i < b.len() {
        if b[i..].starts_with(b"*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return Some(i);
            }
        } else if b[i..].starts_with(b"/*") {
            depth += 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    None
}

/// The table name's span and where the head ends (the grammar's `alter_table`).
fn alter_table_head(body: &str) -> Option<(Range<usize>, usize)> {
    let mut head = Head::new(body);
    if !(head.keyword("alter") && head.keyword("table")) {
        return None;
    }
    head.keywords(&["if", "exists"]);
    head.keyword("only");
    let table = head.name()?;
    head.skip();
    if head.text.as_bytes().get(head.i) == Some(&b'*') {
        head.i += 1;
    }
    Some((table, head.i))
}

/// `ALTER TABLE [IF EXISTS] [ONLY] name [*] action, …` (the grammar's `alter_table` for the head).
/// `None` where the name is a bare `ALL`, a reserved word that names no table: `ALTER TABLE ALL IN
/// TABLESPACE …` moves every table of a tablespace (`ir::lower_move_all`), and any other such
/// statement is an error.
pub fn alter_table(body: &str) -> Option<AlterTableForm> {
    let (table, head_end) = alter_table_head(body)?;
    let table = body[table].to_string();
    if table.eq_ignore_ascii_case("all") {
        return None;
    }
    // Actions: from their first token to their last, cut at commas outside parentheses and
    // brackets (`ARRAY['a', 'b']`). Comments around an action stay outside its span, so text
    // appended to it stays live.
    let mut actions = Vec::new();
    let mut current: Option<Range<usize>> = None;
    let mut depth = 0i32;
    for t in Lexer::new(&body[head_end..]) {
        let span = head_end + t.span.start..head_end + t.span.end;
        match t.tok {
            Tok::Punct(',') if depth == 0 => actions.push(current.take()?),
            _ => {
                if t.is_punct('(') || t.is_punct('[') {
                    depth += 1;
                } else if t.is_punct(')') || t.is_punct(']') {
                    depth -= 1;
                }
                current = Some(current.map_or(span.clone(), |c| c.start..span.end));
            }
        }
    }
    actions.push(current?);
    Some(AlterTableForm { table, actions })
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(5000))]
        /// The hand scanner matches what the grammar's `name` rule matches, on text made of the
        /// characters that matter to names (quotes, dots, blanks, placeholder delimiters…).
        #[test]
        fn name_len_is_the_grammar_rule(text in "[aZ_0$é\"'.:{} \n(*-]{0,14}") {
            let grammar = parse(Rule::name, &text).map(|p| p.as_span().end());
            proptest::prop_assert_eq!(name_len(&text), grammar, "{:?}", text);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(5000))]
        /// The hand-read head is the grammar's `alter_table`: same table, same end, on heads
        /// built from the words, names, blanks and comments that can meet there.
        #[test]
        fn alter_table_head_is_the_grammar_rule(lead in proptest::sample::select(&[
            "ALTER TABLE ", "alter/* x */table\n", "ALTER TABLE IF EXISTS ", "ALTER TABLE ONLY ", "ALTER TABLE", "",
        ][..]), parts in proptest::collection::vec(proptest::sample::select(&[
            "ALTER", "alter", "TABLE", "Table", "IF", "if", "EXISTS", "ONLY", "only", "onlyx", "ifx", "t", "s.t",
            "\"T\"\"x\"", "{{ .S }}", ":'v'", "*", " ", "\n", "/* c /* d */ */", "/* open", "-- c\n", "--", "ADD", ",",
            "(", ")", ".", "é", "$",
        ][..]), 0..10)) {
            let body = format!("{lead}{}", parts.concat());
            let grammar = parse(Rule::alter_table, &body).and_then(|head| {
                let end = head.as_span().end();
                let table = head.into_inner().find(|p| p.as_rule() == Rule::table_name)?.as_span();
                Some((table.start()..table.end(), end))
            });
            proptest::prop_assert_eq!(alter_table_head(&body), grammar, "{:?}", body);
        }
    }

    /// What the grammar's `create_index` rule reads (the spec [`create_index`] follows).
    fn create_index_by_the_grammar(body: &str) -> Option<CreateIndexForm> {
        let mut form = CreateIndexForm {
            unique: false,
            concurrently: false,
            if_not_exists: false,
            name: None,
            only: false,
            table: String::new(),
            table_end: 0,
            after_index_kw: 0,
        };
        for p in parse(Rule::create_index, body)?.into_inner() {
            match p.as_rule() {
                Rule::k_unique => form.unique = true,
                Rule::k_index => form.after_index_kw = p.as_span().end(),
                Rule::k_concurrently => form.concurrently = true,
                Rule::if_not_exists => form.if_not_exists = true,
                Rule::index_name => form.name = Some(p.as_str().to_string()),
                Rule::k_only => form.only = true,
                Rule::table_name => {
                    form.table = p.as_str().to_string();
                    form.table_end = p.as_span().end();
                }
                _ => {}
            }
        }
        Some(form)
    }

    /// What the grammar's `drop_index` rule reads (the spec [`drop_index`] follows).
    fn drop_index_by_the_grammar(body: &str) -> Option<DropIndexForm> {
        let mut form = DropIndexForm {
            concurrently: false,
            if_exists: false,
            names: Vec::new(),
            cascade: false,
            after_index_kw: 0,
        };
        for p in parse(Rule::drop_index, body)?.into_inner() {
            match p.as_rule() {
                Rule::k_index => form.after_index_kw = p.as_span().end(),
                Rule::k_concurrently => form.concurrently = true,
                Rule::if_exists => form.if_exists = true,
                Rule::dropped => form.names.push(p.as_str().to_string()),
                Rule::k_cascade => form.cascade = true,
                _ => {}
            }
        }
        Some(form)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(5000))]
        /// The hand-read `DROP INDEX` is the grammar's (keywords as names, lists, blanks and
        /// comments anywhere, templates).
        #[test]
        fn drop_index_is_the_grammar_rule(lead in proptest::sample::select(&[
            "DROP INDEX ", "drop index concurrently ", "DROP INDEX IF EXISTS ", "DROP/* c */INDEX", "DROP INDEX i",
            "DROP INDEXES ", "",
        ][..]), parts in proptest::collection::vec(proptest::sample::select(&[
            "IF", "if", "EXISTS", "CONCURRENTLY", "CASCADE", "restrict", "i", "s.i", "\"I\"\"x\"", "{{ .S }}", " ",
            "\n", ",", " , ", ".", "(", ")", "'", "\"", "--", "-- c\n", "/*", "*/", "/* , */", "é", "$1", ":v", ";",
            "INDEX", "cascaded",
        ][..]), 0..10)) {
            let body = format!("{lead}{}", parts.concat());
            proptest::prop_assert_eq!(drop_index(&body), drop_index_by_the_grammar(&body), "{:?}", body);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(5000))]
        /// The hand-read `CREATE INDEX` is the grammar's, head and tail (strings, dollar quotes,
        /// quoted names and comments, closed or not, around parentheses).
        #[test]
        fn create_index_is_the_grammar_rule(lead in proptest::sample::select(&[
            "CREATE INDEX ", "create unique index concurrently ", "CREATE INDEX IF NOT EXISTS i ON ", "CREATE INDEX ON ",
            "CREATE/* c */INDEX i ON ONLY t", "CREATE INDEX i ON t ", "",
        ][..]), parts in proptest::collection::vec(proptest::sample::select(&[
            "ON", "on", "ONLY", "IF", "NOT", "EXISTS", "CONCURRENTLY", "i", "t", "s.t", "\"T\"\"x\"", "{{ .S }}", "${x}", "i_$", " ",
            "\n", "(", ")", "(a)", "'", "')'", "'it''s'", "'\\'", "\\", "$$", "$x$", "$$)$$", "$1", "\"", "\")\"",
            "--", "-- )\n", "/*", "*/", "/* ( */", "é", ",", "WHERE", "USING", "btree",
        ][..]), 0..10)) {
            let body = format!("{lead}{}", parts.concat());
            proptest::prop_assert_eq!(create_index(&body), create_index_by_the_grammar(&body), "{:?}", body);
        }
    }

    #[test]
    fn name_len_cases() {
        for (text, len) in [
            ("orders ADD", Some(6)),
            ("public . \"Or\"\"ders\" x", Some(19)),
            ("{{ .Schema }}.orders_{{ .Suffix }} (a)", Some(34)),
            (":'schema'.t", Some(11)),
            ("${s}.t.", Some(6)),
            ("idx_${x} ON t", Some(8)),
            ("a$b${x}_c.d", Some(11)),
            ("\"unterminated", None),
            ("(a)", None),
        ] {
            assert_eq!(name_len(text), len, "{text}");
            assert_eq!(parse(Rule::name, text).map(|p| p.as_span().end()), len, "the grammar on {text}");
        }
    }

    #[test]
    fn drop_index_lists_and_options() {
        for body in [
            "DROP INDEX IF EXISTS a, s.\"B\" , {{ .S }}.c CASCADE -- gone\n",
            "drop index concurrently if exists ix",
            "DROP INDEX if",
            "DROP INDEX a RESTRICT",
        ] {
            assert_eq!(drop_index(body), drop_index_by_the_grammar(body), "{body}");
        }
        let f = drop_index("DROP INDEX IF EXISTS a, s.\"B\" , {{ .S }}.c CASCADE").unwrap();
        assert_eq!(f.names, ["a", "s.\"B\"", "{{ .S }}.c"]);
        assert!(f.if_exists && f.cascade && !f.concurrently);
        assert_eq!(f.after_index_kw, "DROP INDEX".len());
        for body in ["DROP INDEX IF EXISTS", "DROP INDEX a,", "DROP INDEX a b", "DROP INDEX CONCURRENTLY"] {
            assert_eq!(drop_index(body), None, "{body}");
            assert_eq!(drop_index_by_the_grammar(body), None, "{body}");
        }
    }

    #[test]
    fn create_index_forms_sqlparser_lacks() {
        let body = "create unique index if not exists \"Idx\" on only {{ .Schema }}.orders (a)";
        let f = create_index(body).unwrap();
        assert!(f.unique && f.if_not_exists && f.only && !f.concurrently);
        assert_eq!(f.name.as_deref(), Some("\"Idx\""));
        assert_eq!(f.table, "{{ .Schema }}.orders");
        assert_eq!(&body[..f.after_index_kw], "create unique index");
    }

    #[test]
    fn create_index_without_name() {
        let f = create_index("CREATE INDEX ON orders USING btree (a) WHERE b > 0").unwrap();
        assert_eq!(f.name, None);
        assert_eq!(f.table, "orders");
    }

    #[test]
    fn rename_index_names() {
        let pair = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
        assert_eq!(rename_index("ALTER INDEX q2_b_key RENAME TO q2_old"), pair("q2_b_key", "q2_old"));
        assert_eq!(rename_index("alter index if exists s.\"Ix\" rename to \"New\" "), pair("s.\"Ix\"", "\"New\""));
        assert_eq!(rename_index("ALTER INDEX i SET TABLESPACE t"), None);
        assert_eq!(rename_index("ALTER INDEX i RENAME TO j CASCADE"), None);
    }

    #[test]
    fn a_dollar_brace_placeholder_ends_a_bare_identifier() {
        let f = create_index("CREATE UNIQUE INDEX idx_${x} ON orders (user_id)").unwrap();
        assert_eq!((f.name.as_deref(), f.table.as_str()), (Some("idx_${x}"), "orders"));
        assert_eq!(drop_index("DROP INDEX idx_${x}").unwrap().names, vec!["idx_${x}"]);
        // A `$` not before `{` is part of the name, as PostgreSQL reads it.
        assert_eq!(create_index("CREATE INDEX a$b ON t (c)").unwrap().name.as_deref(), Some("a$b"));
    }

    #[test]
    fn drop_index_lists_names() {
        let f = drop_index("DROP INDEX CONCURRENTLY IF EXISTS public.a , b CASCADE").unwrap();
        assert!(f.concurrently && f.if_exists && f.cascade);
        assert_eq!(f.names, vec!["public.a", "b"]);
    }

    #[test]
    fn reindex_target_position() {
        let body = "REINDEX (VERBOSE) TABLE orders";
        let f = reindex(body).unwrap();
        assert_eq!(f.target, "TABLE");
        assert_eq!(&body[..f.after_target_kw], "REINDEX (VERBOSE) TABLE");
        assert!(reindex("REINDEX INDEX CONCURRENTLY i").unwrap().concurrently);
    }

    #[test]
    fn reindex_option_list_says_concurrently() {
        let concurrent = |body: &str| reindex(body).unwrap().concurrently;
        for body in [
            "REINDEX (CONCURRENTLY) TABLE orders",
            "reindex (concurrently true) index i",
            "REINDEX (VERBOSE, CONCURRENTLY) TABLE orders",
            "REINDEX (CONCURRENTLY 'on', TABLESPACE x) INDEX i",
            "REINDEX (CONCURRENTLY 1) INDEX i",
            "REINDEX (CONCURRENTLY false, CONCURRENTLY) INDEX i",
            "REINDEX (CONCURRENTLY false) INDEX CONCURRENTLY i",
        ] {
            assert!(concurrent(body), "{body}");
        }
        for body in [
            "REINDEX (CONCURRENTLY false) TABLE orders",
            "REINDEX (CONCURRENTLY off) INDEX i",
            "REINDEX (CONCURRENTLY 0) INDEX i",
            "REINDEX (VERBOSE, CONCURRENTLY, CONCURRENTLY false) INDEX i",
            "REINDEX (VERBOSE) INDEX i",
        ] {
            assert!(!concurrent(body), "{body}");
        }
    }

    #[test]
    fn alter_table_actions_split_at_top_level_commas() {
        let body = "ALTER TABLE ONLY \"Orders\"\n  ADD COLUMN a numeric(10, 2) DEFAULT 'x,y',\n  ADD CONSTRAINT c CHECK (a IN (1, 2)) -- note, here\n";
        let f = alter_table(body).unwrap();
        assert_eq!(f.table, "\"Orders\"");
        let texts: Vec<&str> = f.actions.iter().map(|r| &body[r.clone()]).collect();
        assert_eq!(texts, vec!["ADD COLUMN a numeric(10, 2) DEFAULT 'x,y'", "ADD CONSTRAINT c CHECK (a IN (1, 2))"]);
        let body = "ALTER TABLE t ADD COLUMN g text[] DEFAULT ARRAY['a', 'b'], DROP COLUMN h";
        let f = alter_table(body).unwrap();
        let texts: Vec<&str> = f.actions.iter().map(|r| &body[r.clone()]).collect();
        assert_eq!(texts, vec!["ADD COLUMN g text[] DEFAULT ARRAY['a', 'b']", "DROP COLUMN h"]);
    }
}
