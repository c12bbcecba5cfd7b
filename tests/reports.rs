//! Snapshots of every report format on the same outcomes (a draft pgsafe rewrites, one it only
//! warns about, one it cannot read), and the SARIF validated against the official SARIF 2.1.0
//! JSON schema (from the npm package `@microsoft/jest-sarif`, which `.ci/run` installs under
//! `target/ci-tools`) with Python's `jsonschema` (PyPI).

use pgsafe::report::{github, json, markdown, sarif, Outcome};
use pgsafe::runner::Runner;
use pgsafe::{compile_for, Config, Want};
use std::path::Path;

fn outcomes() -> Vec<Outcome> {
    outcomes_for(Want::Everything)
}

/// The outcomes compiled for what a report reads (`Want::Review` for the review, as the command
/// compiles them).
fn outcomes_for(want: Want) -> Vec<Outcome> {
    let rewrite = "-- The article's example.\nCREATE INDEX idx_orders_customer_id ON orders(customer_id);\n\nALTER TABLE orders\nADD CONSTRAINT fk_orders_users FOREIGN KEY (user_id) REFERENCES users(id);\n";
    let warn = "ALTER TABLE users RENAME COLUMN email TO mail;\n";
    let a = "migrations/20240102000000_orders.sql";
    let b = "migrations/20240103000000_rename.sql";
    vec![
        Outcome {
            path: a.into(),
            runner: Some((Runner::Sqlx, "--runner".into())),
            result: Ok(compile_for(a, rewrite.into(), &Config::default(), want).unwrap()),
            error_at: None,
        },
        Outcome {
            path: b.into(),
            runner: None,
            result: Ok(compile_for(b, warn.into(), &Config::default(), want).unwrap()),
            error_at: None,
        },
        Outcome {
            path: "migrations/20240104000000_bad.sql".into(),
            runner: None,
            result: Err("migrations/20240104000000_bad.sql:1:8: unterminated string".into()),
            error_at: Some((1, 8)),
        },
    ]
}

#[test]
fn markdown_review() {
    insta::assert_snapshot!("review_markdown", markdown::render(&outcomes_for(Want::Review), &Default::default()));
}

#[test]
fn json_report() {
    let doc = json::render(&outcomes());
    // A reader checks the version before anything else: it is the document's first key.
    assert!(doc.starts_with("{\n  \"format_version\": 1,\n"), "{}", &doc[..80]);
    insta::assert_snapshot!("report_json", doc);
}

#[test]
fn the_json_reports_manifest_is_the_plans_manifest() {
    // Written step by step with its keys sorted: the same fields and values as `manifest.json`.
    let outcomes = outcomes();
    let doc: serde_json::Value = serde_json::from_str(&json::render(&outcomes)).unwrap();
    let c = outcomes[0].result.as_ref().unwrap();
    assert!(!c.manifest.as_ref().unwrap().steps.is_empty());
    assert_eq!(doc["files"][0]["manifest"], serde_json::to_value(c.manifest.as_ref()).unwrap());
    assert_eq!(doc["files"][2]["manifest"], serde_json::Value::Null);
}

#[test]
fn the_review_shows_the_view_diff_with_two_lines_of_context() {
    let outcomes = outcomes_for(Want::Review);
    let review = markdown::render(&outcomes, &Default::default());
    let c = outcomes[0].result.as_ref().unwrap();
    let flat = pgsafe::emit::Flat::new(&c.files);
    let diff = pgsafe::diff::plan_diff(c, &flat).context(2);
    let unified = diff.unified(&outcomes[0].path, "plan");
    assert!(unified.contains("+CREATE INDEX CONCURRENTLY"), "{unified}");
    let section = format!("({} lines)</summary>\n\n```diff\n{unified}```", unified.lines().count());
    assert!(review.contains(&section), "{review}");
}

#[test]
fn sarif_report() {
    insta::assert_snapshot!("report_sarif", sarif::render(&outcomes()));
}

#[test]
fn github_annotations() {
    insta::assert_snapshot!("report_github", github::render(&outcomes()));
}

#[test]
fn sarif_is_valid_against_the_official_schema() {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/ci-tools/node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if !schema.is_file() {
        assert!(!ci, "{} is missing: .ci/run installs it", schema.display());
        eprintln!("skipped: no SARIF schema at {}", schema.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("report.sarif");
    std::fs::write(&doc, sarif::render(&outcomes())).unwrap();
    let script = "import json, sys, jsonschema\n\
                  schema = json.load(open(sys.argv[1]))\n\
                  doc = json.load(open(sys.argv[2]))\n\
                  jsonschema.Draft7Validator.check_schema(schema)\n\
                  errors = list(jsonschema.Draft7Validator(schema).iter_errors(doc))\n\
                  [print(list(e.absolute_path), e.message) for e in errors]\n\
                  sys.exit(1 if errors else 0)\n";
    let out = std::process::Command::new("python3").arg("-c").arg(script).arg(&schema).arg(&doc).output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
            if text.contains("No module named 'jsonschema'") && !ci {
                eprintln!("skipped: python3 has no jsonschema");
                return;
            }
            panic!("SARIF does not validate:\n{text}");
        }
        Err(e) => {
            assert!(!ci, "python3 is missing: {e}");
            eprintln!("skipped: no python3");
        }
    }
}

#[test]
fn the_review_reads_each_steps_lock_timeout_from_the_plan_not_from_its_text() {
    // A function body that sets its own lock_timeout is not the step's setting.
    let draft = "ALTER TABLE orders ADD COLUMN c int;\nCREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n  SET lock_timeout = '1h';\nEND $$;\n";
    let a = "migrations/20240102000000_c.sql";
    let c = compile_for(a, draft.into(), &Config::default(), Want::Review).unwrap();
    assert!(c.files[0].body().contains("'1h'"), "{}", c.files[0].body());
    let review = markdown::render(
        &[Outcome { path: a.into(), runner: None, result: Ok(c), error_at: None }],
        &Default::default(),
    );
    let row = review.lines().find(|l| l.contains("ACCESS EXCLUSIVE `orders`")).unwrap();
    assert!(row.ends_with("| 100ms (lock_timeout) |"), "{row}");
}

#[test]
fn an_input_errors_place_is_a_field_of_every_machine_format() {
    let outcomes = outcomes();
    let doc: serde_json::Value = serde_json::from_str(&json::render(&outcomes)).unwrap();
    assert_eq!(doc["files"][2]["error_at"], serde_json::json!({ "line": 1, "column": 8 }));
    assert_eq!(doc["files"][0]["error_at"], serde_json::Value::Null);
    let sarif: serde_json::Value = serde_json::from_str(&sarif::render(&outcomes)).unwrap();
    let notification = &sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"][0];
    let region = &notification["locations"][0]["physicalLocation"]["region"];
    assert_eq!(*region, serde_json::json!({ "startLine": 1, "startColumn": 8 }));
    let github = github::render(&outcomes);
    assert!(github.contains("::error file=migrations/20240104000000_bad.sql,line=1,col=8,title=pgsafe::"), "{github}");
}

#[test]
fn json_offsets_are_the_files_bytes_with_a_byte_order_mark() {
    // Applying an edit at its offset to the file's bytes must put it where it belongs.
    for file in ["CREATE INDEX i ON t (c);\n", "\u{feff}CREATE INDEX i ON t (c);\n"] {
        let outcome = Outcome {
            path: "d.sql".into(),
            runner: None,
            result: Ok(pgsafe::compile("d.sql", file, &Config::default()).unwrap()),
            error_at: None,
        };
        let doc: serde_json::Value = serde_json::from_str(&json::render(&[outcome])).unwrap();
        let edit = &doc["files"][0]["diagnostics"][0]["fix"]["edits"][0];
        let at = edit["start"]["offset"].as_u64().unwrap() as usize;
        let fixed = format!("{}{}{}", &file[..at], edit["text"].as_str().unwrap(), &file[at..]);
        assert_eq!(fixed.trim_start_matches('\u{feff}'), "CREATE INDEX CONCURRENTLY i ON t (c);\n");
        assert_eq!(edit["start"]["column"], 13, "columns count what an editor shows");
    }
}

#[test]
fn sarif_uris_are_percent_encoded() {
    let path = "migrations/a b\nc%#?:é.sql";
    let outcome = Outcome { path: path.into(), runner: None, result: Err(format!("{path}: bad")), error_at: None };
    let doc: serde_json::Value = serde_json::from_str(&sarif::render(&[outcome])).unwrap();
    let notification = &doc["runs"][0]["invocations"][0]["toolExecutionNotifications"][0];
    let uri = notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
    assert_eq!(uri, "migrations/a%20b%0Ac%25%23%3F%3A%C3%A9.sql");
}
