//! `pgsafe.toml`: the project's settings, found in the working directory or the nearest parent.
//! Flags override it; a `[[override]]` whose `paths` match a file overrides the top level for
//! that file. An unknown key, a bad value or an unknown rule is an error naming the file and line.
//!
//! ```toml
//! runner = "sqlx"                 # layout for `pgsafe fix` (else detected, else psql)
//! pg_version = 14
//! lock_timeout = "100ms"
//! statement_timeout = "5s"
//! batch_size = 10000
//! schema = "schema.sql"           # relative to this file
//! include = ["migrations/**/*.sql"]
//! exclude = ["migrations/legacy/**"]
//!
//! [rules]
//! fk-index = false                # off everywhere
//!
//! [[override]]
//! paths = ["migrations/small/**"]
//! lock_timeout = "1s"
//! rules = { backfill = false }
//! ```

use crate::source::Source;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "pgsafe.toml";

/// Settings that may appear at the top level and in an `[[override]]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub runner: Option<String>,
    pub pg_version: Option<u32>,
    pub lock_timeout: Option<String>,
    pub statement_timeout: Option<String>,
    pub batch_size: Option<u32>,
    #[serde(default)]
    pub rules: BTreeMap<String, bool>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub paths: Vec<String>,
    #[serde(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct Raw {
    runner: Option<String>,
    pg_version: Option<u32>,
    lock_timeout: Option<String>,
    statement_timeout: Option<String>,
    batch_size: Option<u32>,
    #[serde(default)]
    rules: BTreeMap<String, bool>,
    schema: Option<PathBuf>,
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default, rename = "override")]
    overrides: Vec<Override>,
}

/// A loaded `pgsafe.toml`.
#[derive(Debug, Clone, Default)]
pub struct ConfigFile {
    /// Where it was found (`None`: there is none; everything is default).
    pub path: Option<PathBuf>,
    pub settings: Settings,
    /// `schema`, resolved against the file's directory.
    pub schema: Option<PathBuf>,
    pub include: Vec<glob::Pattern>,
    pub exclude: Vec<glob::Pattern>,
    pub overrides: Vec<(Vec<glob::Pattern>, Settings)>,
}

impl ConfigFile {
    /// The nearest `pgsafe.toml` from `start` upward, loaded; no file is no error.
    pub fn find(start: &Path) -> Result<ConfigFile, String> {
        let start = start.canonicalize().unwrap_or_else(|_| start.to_path_buf());
        for dir in start.ancestors() {
            let path = dir.join(FILE_NAME);
            if path.is_file() {
                let text =
                    std::fs::read_to_string(&path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
                return ConfigFile::parse(&path, &text);
            }
        }
        Ok(ConfigFile::default())
    }

    /// Parse `text`, the contents of `path`.
    pub fn parse(path: &Path, text: &str) -> Result<ConfigFile, String> {
        let source = Source::new(path.display().to_string(), text);
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let at = e.span().map_or_else(|| source.position(0), |s| source.position(s.start));
            format!("{at}: {}", e.message())
        })?;
        let line_of = |needle: &str| text.find(needle).map_or_else(|| source.position(0), |i| source.position(i));
        let check = |s: &Settings| -> Result<(), String> {
            for rule in s.rules.keys() {
                if !crate::report::rules::is_rule(rule) {
                    return Err(format!(
                        "{}: unknown rule `{rule}` (known: {})",
                        line_of(rule),
                        crate::report::rules::all().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
            if let Some(r) = &s.runner {
                if crate::runner::Runner::from_name(r).is_none() {
                    return Err(format!(
                        "{}: unknown runner `{r}` (known: {})",
                        line_of(r),
                        crate::runner::Runner::ALL.map(|r| r.name()).join(", ")
                    ));
                }
            }
            if let Some(v) = s.pg_version.filter(|v| !(12..=18).contains(v)) {
                return Err(format!("{}: pg_version {v}: pgsafe supports 12 to 18", line_of("pg_version")));
            }
            for (key, v) in [("lock_timeout", &s.lock_timeout), ("statement_timeout", &s.statement_timeout)] {
                if let Some(v) = v {
                    crate::config::check_duration(v).map_err(|e| format!("{}: {key}: {e}", line_of(key)))?;
                }
            }
            if s.batch_size == Some(0) {
                return Err(format!("{}: batch_size must be at least 1", line_of("batch_size")));
            }
            Ok(())
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let pattern =
            |p: &String| glob::Pattern::new(p).map_err(|e| format!("{}: pattern {p:?}: {e}", line_of(p.as_str())));
        let settings = Settings {
            runner: raw.runner,
            pg_version: raw.pg_version,
            lock_timeout: raw.lock_timeout,
            statement_timeout: raw.statement_timeout,
            batch_size: raw.batch_size,
            rules: raw.rules,
        };
        check(&settings)?;
        let mut overrides = Vec::new();
        for o in raw.overrides {
            check(&o.settings)?;
            overrides.push((o.paths.iter().map(pattern).collect::<Result<Vec<_>, _>>()?, o.settings));
        }
        Ok(ConfigFile {
            path: Some(path.to_path_buf()),
            settings,
            schema: raw.schema.map(|s| base.join(s)),
            include: raw.include.iter().map(pattern).collect::<Result<_, _>>()?,
            exclude: raw.exclude.iter().map(pattern).collect::<Result<_, _>>()?,
            overrides,
        })
    }

    /// `file` relative to the config file's directory (patterns are written that way).
    fn relative(&self, file: &Path) -> PathBuf {
        let Some(base) = self.path.as_ref().and_then(|p| p.parent()) else { return file.to_path_buf() };
        let base = base.canonicalize().unwrap_or_else(|_| base.to_path_buf());
        let abs = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
        abs.strip_prefix(&base).map(Path::to_path_buf).unwrap_or(abs)
    }

    /// Should a file found under a directory be checked (include/exclude)? Files named on the
    /// command line are always checked, unless `--force-exclude` asks for this test on them too.
    pub fn selects(&self, file: &Path) -> bool {
        let rel = self.relative(file);
        (self.include.is_empty() || self.include.iter().any(|p| p.matches_path(&rel)))
            && !self.exclude.iter().any(|p| p.matches_path(&rel))
    }

    /// The settings for `file`: the top level, then every override whose paths match, in order.
    pub fn for_file(&self, file: &Path) -> Settings {
        let rel = self.relative(file);
        let mut s = self.settings.clone();
        for (patterns, o) in &self.overrides {
            if patterns.iter().any(|p| p.matches_path(&rel)) {
                s.runner = o.runner.clone().or(s.runner);
                s.pg_version = o.pg_version.or(s.pg_version);
                s.lock_timeout = o.lock_timeout.clone().or(s.lock_timeout);
                s.statement_timeout = o.statement_timeout.clone().or(s.statement_timeout);
                s.batch_size = o.batch_size.or(s.batch_size);
                s.rules.extend(o.rules.clone());
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_rules_name_the_line() {
        let e = ConfigFile::parse(Path::new("p/pgsafe.toml"), "runner = \"sqlx\"\nlock_timeot = \"1s\"\n").unwrap_err();
        assert!(e.starts_with("p/pgsafe.toml:2:1: unknown field `lock_timeot`"), "{e}");
        let e = ConfigFile::parse(Path::new("pgsafe.toml"), "[rules]\nfk-index = false\nno-such = true\n").unwrap_err();
        assert!(e.starts_with("pgsafe.toml:3:1: unknown rule `no-such`"), "{e}");
        let e = ConfigFile::parse(Path::new("pgsafe.toml"), "runner = \"liquibase\"\n").unwrap_err();
        assert!(e.contains("unknown runner"), "{e}");
    }

    #[test]
    fn overrides_apply_to_matching_paths() {
        let c = ConfigFile::parse(
            Path::new("/nonexistent/pgsafe.toml"),
            "lock_timeout = \"100ms\"\n[rules]\nfk-index = false\n[[override]]\npaths = [\"big/**\"]\nlock_timeout = \"1s\"\nrules = { backfill = false }\n",
        )
        .unwrap();
        let s = c.for_file(Path::new("/nonexistent/big/1_a.sql"));
        assert_eq!(s.lock_timeout.as_deref(), Some("1s"));
        assert_eq!(s.rules.len(), 2);
        assert_eq!(c.for_file(Path::new("/nonexistent/small/1_a.sql")).lock_timeout.as_deref(), Some("100ms"));
    }
}
