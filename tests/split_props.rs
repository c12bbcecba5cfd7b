//! Properties of the script splitter (`pgsafe::front::split`).
//!
//! * Scripts generated from a mix of tricky fragments (quotes, dollar quotes, comments, CRLF,
//!   unicode, placeholders, psql meta-commands, goose regions) split into exactly the generated
//!   statements, with exact bodies, and the pieces give back the input byte for byte.
//! * Arbitrary input never panics; a successful split is lossless and contiguous, and an error
//!   points at the opening token of a construct that never closes.

use pgsafe::front::split::{leaves_open, split, Piece, PieceKind};
use proptest::prelude::*;

/// Text that is part of a statement body and never ends it.
fn fragment() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(vec![
        // literals and quoted identifiers
        "'a;b'",
        "'it''s; -- not a comment'",
        "E'it\\'s; \\\\'",
        "e'\\\\'",
        "U&'d\\0061t;'",
        "B'0101'",
        "X'1F'",
        "N'n;'",
        "''",
        "'日本; é'",
        "'multi\r\nline;\n'",
        "'/* not a comment */'",
        "\"we;ird\"",
        "\"a\"\"b\"",
        "U&\"d\\0061t\"",
        "\"ü;\"",
        // dollar quotes
        "$$ ; $$",
        "$$$$",
        "$fn$ SELECT $$;$$; $x$ ; $fn$",
        "$BODY$\r\nBEGIN; RETURN 1; END;\r\n$BODY$",
        "$_1$ é; $ $_ $_1$",
        "$日本$;$日本$",
        // not dollar quotes
        "$1",
        "${schema}.t",
        "$%AUTO_INCREMENT%$",
        "a$b$",
        // template and psql placeholders
        "{{ .Namespace }}.users",
        "{{ index .Options \"Namespace\" }}",
        ":var",
        ":'var'",
        ":\"var\"",
        // punctuation
        "x::int",
        "(1, 2)",
        "(t.x)",
        "=",
        "<>",
        "-",
        "/",
        "*",
        "||",
        ",",
        "1.5e3",
        "naïve",
        "日本",
        "\u{0}\u{7f}",
    ])
    .prop_map(str::to_string);
    prop_oneof![
        3 => fixed,
        // words that are not key words the splitter cares about (create, begin, case, end ...)
        1 => "[tw][a-z0-9_]{0,6}",
    ]
}

/// White space or comments inside a body. Starts with white space, so a comment never glues
/// onto a `-` or `/` fragment before it.
fn separator() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        " ",
        "  ",
        "\t",
        "\n",
        "\r\n",
        " -- c; 'x\n",
        " -- c\r\n",
        " /* c; /* nested; */ ' */ ",
        " /* multi\r\nline; */\n",
    ])
}

/// Trivia before a piece. Never ends in the middle of a `--` comment line.
fn leading() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "",
        "",
        "\n",
        "\r\n\r\n",
        "-- lead; 'x\n",
        "/* lead; */ ",
        "  /* a /* b */ c */\r\n-- d\r\n",
        "\u{FEFF}",
    ])
}

/// Trivia after a `;` on the same line, or the start of the next line.
fn trailing() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", "\n", "\r\n", " ", " -- t\n", " /* t */\r\n", "\t-- t\r\n"])
}

#[derive(Debug, Clone)]
enum Gen {
    /// A statement: its body and everything else.
    Stmt { lead: String, body: String, trail: String },
    /// A psql meta-command line.
    Meta { lead: String, body: String },
}

fn body() -> impl Strategy<Value = String> {
    (fragment(), prop::collection::vec((separator(), fragment()), 0..6)).prop_map(|(first, rest)| {
        let mut s = first;
        for (sep, frag) in rest {
            s.push_str(sep);
            s.push_str(&frag);
        }
        s
    })
}

fn item() -> impl Strategy<Value = Gen> {
    prop_oneof![
        8 => (leading(), body(), trailing()).prop_map(|(l, b, t)| Gen::Stmt {
            lead: l.to_string(),
            body: b,
            trail: t.to_string(),
        }),
        // an empty statement: a lone `;`
        1 => (leading(), trailing()).prop_map(|(l, t)| Gen::Stmt {
            lead: l.to_string(),
            body: String::new(),
            trail: t.to_string(),
        }),
        1 => (leading(), prop::sample::select(vec!["\\set x 1", "\\if :flag", "\\echo 'it''s; ok'", "\\connect db"]))
            .prop_map(|(l, b)| Gen::Meta { lead: l.to_string(), body: b.to_string() }),
    ]
}

fn script() -> impl Strategy<Value = (Vec<Gen>, &'static str)> {
    (prop::collection::vec(item(), 0..12), prop::sample::select(vec!["", "\n", "-- the end\n", "/* end */", "\r\n  "]))
}

/// Builds the script text and the expected (kind, body) of every statement and meta-command.
fn render(items: &[Gen], tail: &str) -> (String, Vec<(&'static str, String)>) {
    let mut src = String::new();
    let mut expected = Vec::new();
    for item in items {
        match item {
            Gen::Stmt { lead, body, trail } => {
                src.push_str(lead);
                src.push_str(body);
                src.push(';');
                src.push_str(trail);
                expected.push(("stmt", body.clone()));
            }
            Gen::Meta { lead, body } => {
                // A meta-command is a line of its own.
                if !(src.is_empty() || src.ends_with('\n')) {
                    src.push('\n');
                }
                src.push_str(lead);
                if !(lead.is_empty() || lead.ends_with('\n')) {
                    src.push('\n');
                }
                src.push_str(body);
                src.push('\n');
                expected.push(("meta", body.clone()));
            }
        }
    }
    src.push_str(tail);
    (src, expected)
}

/// Pieces are contiguous, cover the input, and every inner range lies inside its piece; the
/// nesting the split records for a statement is what its body alone leaves open.
fn check_lossless(src: &str, pieces: &[Piece]) -> Result<(), TestCaseError> {
    let mut at = 0;
    for p in pieces {
        prop_assert_eq!(p.span.start, at, "pieces must be contiguous");
        prop_assert!(p.span.end > p.span.start, "empty piece {:?}", p);
        at = p.span.end;
        match &p.kind {
            PieceKind::Statement { body, .. } | PieceKind::Meta { body } => {
                prop_assert!(p.span.start <= body.start && body.start <= body.end);
                prop_assert!(body.end <= p.span.end);
            }
            PieceKind::Trivia => {}
        }
        let open = match &p.kind {
            PieceKind::Statement { body, .. } => leaves_open(&src[body.clone()]),
            _ => false,
        };
        prop_assert_eq!(p.leaves_open, open, "{:?} in {:?}", p, src);
        for m in &p.markers {
            prop_assert!(p.span.start <= m.span.start && m.span.end <= p.span.end);
        }
    }
    prop_assert_eq!(at, src.len());
    let joined: String = pieces.iter().map(|p| &src[p.span.clone()]).collect();
    prop_assert_eq!(joined, src);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn generated_scripts_split_into_the_generated_statements((items, tail) in script()) {
        let (src, expected) = render(&items, tail);
        let pieces = split(&src).map_err(|e| TestCaseError::fail(format!("{e:?} in {src:?}")))?;
        check_lossless(&src, &pieces)?;
        let mut got = Vec::new();
        for (i, p) in pieces.iter().enumerate() {
            match &p.kind {
                PieceKind::Statement { body, terminated } => {
                    prop_assert!(terminated, "statement {} is not terminated", i);
                    got.push(("stmt", src[body.clone()].to_string()));
                }
                PieceKind::Meta { body } => got.push(("meta", src[body.clone()].to_string())),
                PieceKind::Trivia => prop_assert_eq!(i, pieces.len() - 1, "trivia only at the end"),
            }
        }
        prop_assert_eq!(got, expected, "script: {:?}", src);
    }

    #[test]
    fn a_missing_final_semicolon_leaves_the_last_statement_open(b in body(), t in trailing()) {
        let src = format!("SELECT 1;\n{b}{t}");
        let pieces = split(&src).unwrap();
        check_lossless(&src, &pieces)?;
        let stmts: Vec<_> = pieces
            .iter()
            .filter_map(|p| match &p.kind {
                PieceKind::Statement { body, terminated } => Some((src[body.clone()].to_string(), *terminated)),
                _ => None,
            })
            .collect();
        prop_assert_eq!(stmts, vec![("SELECT 1".to_string(), true), (b, false)]);
    }

    #[test]
    fn a_goose_region_is_one_statement(bodies in prop::collection::vec(body(), 1..5), crlf in any::<bool>()) {
        let nl = if crlf { "\r\n" } else { "\n" };
        let inner = bodies.join(&format!(";{nl}"));
        let head = format!("-- +goose Up{nl}-- +goose StatementBegin{nl}");
        let src = format!("{head}{inner};{nl}-- +goose StatementEnd{nl}SELECT 2;{nl}");
        let pieces = split(&src).unwrap();
        check_lossless(&src, &pieces)?;
        prop_assert_eq!(pieces.len(), 2);
        prop_assert_eq!(
            &pieces[0].kind,
            &PieceKind::Statement {
                body: head.len()..head.len() + inner.len(),
                terminated: true,
            }
        );
        prop_assert!(src[pieces[1].span.clone()].starts_with("-- +goose StatementEnd"));
    }

    #[test]
    fn arbitrary_text_never_panics(src in any::<String>()) {
        check_result(&src)?;
    }

    #[test]
    fn sql_like_noise_never_panics(
        parts in prop::collection::vec(
            prop_oneof![
                prop::sample::select(vec![
                    "'", "''", "\"", "$", "$$", "$a$", "$1", "E'", "U&'", "\\", "\\g\n", "--", "-",
                    "/*", "*/", "/", ";", "(", ")", "\n", "\r", "\r\n", " ", "create", "function",
                    "begin", "atomic", "case", "end", "-- +goose StatementBegin\n",
                    "-- +goose StatementEnd\n", "-- migrate:down\n", "--> statement-breakpoint\n",
                    "é", "\u{FEFF}", "x",
                ]).prop_map(str::to_string),
                "\\PC{0,4}",
            ],
            0..60,
        )
    ) {
        check_result(&parts.concat())?;
    }
}

fn check_result(src: &str) -> Result<(), TestCaseError> {
    match split(src) {
        Ok(pieces) => check_lossless(src, &pieces),
        Err(e) => {
            prop_assert!(e.offset < src.len() && src.is_char_boundary(e.offset), "{:?}", e);
            let rest = &src[e.offset..];
            let opening = ["'", "\"", "$", "/*", "E'", "e'", "U&", "u&", "B'", "b'", "X'", "x'", "N'", "n'"];
            prop_assert!(opening.iter().any(|o| rest.starts_with(o)), "{:?} at {:?}", e, rest);
            prop_assert!(e.message.starts_with("unterminated"), "{:?}", e);
            Ok(())
        }
    }
}
