//! The server `pgsafe verify` works on: a throwaway [`Cluster`] by default, or an existing local
//! server given by URL.
//!
//! Why a layer over [`Cluster`]: with `--database-url` pgsafe must never touch the user's own
//! databases, so everything goes through scratch databases that this type creates (with a
//! recognisable `pgsafe_scratch_<pid>_…` name) and drops again. A URL whose host is not on this
//! machine is refused unless the caller allows it explicitly: verify runs the draft, which may
//! block or rewrite tables, and it generates load.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::str::FromStr as _;
use std::sync::Mutex;

use anyhow::{anyhow, bail, Context as _, Result};
use postgres::config::Host;

use super::cluster::{self, Cluster};

/// How to reach one database: what both libpq programs (`psql`, `pg_dump`) and the `postgres`
/// crate need.
#[derive(Debug, Clone)]
struct Endpoint {
    /// A host name, an IP address, or a Unix socket directory (starts with `/`).
    host: String,
    port: u16,
    user: String,
    password: Option<String>,
    /// The database to connect to for `CREATE DATABASE` / `DROP DATABASE`.
    maintenance_db: String,
}

/// A PostgreSQL server and the scratch databases pgsafe made on it.
#[derive(Debug)]
pub struct Server {
    endpoint: Endpoint,
    bindir: PathBuf,
    /// Present for the embedded default; dropping it stops the server.
    cluster: Option<Cluster>,
    /// Scratch databases still to drop (only for a server pgsafe did not start).
    scratch: Mutex<Vec<String>>,
    version: String,
}

impl Server {
    /// Start a throwaway cluster (see [`Cluster::start`]).
    pub fn embedded() -> Result<Server> {
        let cluster = Cluster::start().context("could not start a throwaway PostgreSQL cluster")?;
        let endpoint = Endpoint {
            host: "127.0.0.1".into(),
            port: cluster.port(),
            user: cluster.user().into(),
            password: None,
            maintenance_db: "postgres".into(),
        };
        let mut server = Server {
            endpoint,
            bindir: cluster.bindir().to_path_buf(),
            cluster: Some(cluster),
            scratch: Mutex::new(Vec::new()),
            version: String::new(),
        };
        server.version = server.query_version()?;
        Ok(server)
    }

    /// Use the server at `url` (a `postgresql://` URL or a libpq `key=value` string). Refused
    /// unless the host is local, or `allow_remote`.
    pub fn external(url: &str, allow_remote: bool) -> Result<Server> {
        let mut config =
            postgres::Config::from_str(url).map_err(|e| anyhow!("--database-url: cannot parse it: {e}"))?;
        // libpq's programs find the user and password themselves (see `client`); the connections
        // of the `postgres` crate (load, rows, traces) do not, so they get them here.
        super::password::complete(&mut config);
        let mut hosts: Vec<String> = config
            .get_hosts()
            .iter()
            .map(|h| match h {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            })
            .collect();
        hosts.extend(config.get_hostaddrs().iter().map(|a| a.to_string()));
        if hosts.len() > 1 {
            bail!("--database-url: give exactly one host (got {})", hosts.join(", "));
        }
        let host = hosts.pop().unwrap_or_else(|| "/var/run/postgresql".into());
        if !allow_remote && !is_local_host(&host) {
            bail!(
                "--database-url: host {host:?} is not on this machine; pgsafe verify runs the \
                 draft and generates load, so it only goes to localhost, 127.0.0.0/8, ::1 or a \
                 Unix socket unless --allow-remote is given"
            );
        }
        let endpoint = Endpoint {
            host,
            port: config.get_ports().first().copied().unwrap_or(5432),
            user: config.get_user().unwrap_or("postgres").to_owned(),
            password: config.get_password().map(|p| String::from_utf8_lossy(p).into_owned()),
            maintenance_db: config.get_dbname().unwrap_or("postgres").to_owned(),
        };
        let mut server = Server {
            endpoint,
            bindir: cluster::client_bindir()?,
            cluster: None,
            scratch: Mutex::new(Vec::new()),
            version: String::new(),
        };
        server.version = server.query_version()?;
        Ok(server)
    }

    /// `server_version`, e.g. `15.18 (Debian …)`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Whether pgsafe started this server itself.
    pub fn is_embedded(&self) -> bool {
        self.cluster.is_some()
    }

    /// Create a scratch database `pgsafe_scratch_<pid>_<label>`, optionally from `template`.
    pub fn create_scratch(&self, label: &str, template: Option<&str>) -> Result<String> {
        let name = format!("pgsafe_scratch_{}_{label}", std::process::id());
        let mut sql = format!("CREATE DATABASE {}", quote_ident(&name));
        if let Some(t) = template {
            sql.push_str(&format!(" TEMPLATE {}", quote_ident(t)));
        }
        let maintenance = self.endpoint.maintenance_db.clone();
        // Listed before it exists: a run interrupted while the server still creates it drops it too
        // (`DROP DATABASE IF EXISTS`).
        self.scratch.lock().unwrap_or_else(|e| e.into_inner()).push(name.clone());
        self.psql(&maintenance, &sql).with_context(|| format!("could not create scratch database {name}"))?;
        Ok(name)
    }

    /// Drop a scratch database this server created (anything else is refused).
    pub fn drop_scratch(&self, name: &str) -> Result<()> {
        let mut scratch = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        let Some(i) = scratch.iter().position(|n| n == name) else {
            bail!("{name} is not a scratch database of this run");
        };
        scratch.remove(i);
        drop(scratch);
        self.drop_database_unchecked(name)
    }

    /// `psql -X -q -v ON_ERROR_STOP=1 -c SQL` (one query string); stdout.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String> {
        let mut cmd = self.client("psql", db, "pgsafe-verify");
        cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql]);
        checked(cmd, &format!("psql on {db}"))
    }

    /// `psql -X -q -v ON_ERROR_STOP=1 -f FILE` as `application_name` `app`: statements one at a
    /// time, autocommit, as a user running the file would. The error carries psql's stderr, each
    /// message with its SQLSTATE (`ERROR:  55P03: …`, see [`sqlstate`]): the server words its
    /// messages in its `lc_messages`, which only a superuser may set, and a code reads the same in
    /// every language. psql's own words stay in English (`LC_ALL=C`), so that the fields only
    /// verbose messages have (`LOCATION:`, `SCHEMA NAME:`, …) are known and left out.
    pub fn psql_file(&self, db: &str, file: &Path, app: &str) -> Result<String> {
        let mut cmd = self.client("psql", db, app);
        cmd.env("LC_ALL", "C").env_remove("LANGUAGE");
        cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose", "-f"]).arg(file);
        checked(cmd, &format!("psql -f {}", file.display()))
            .map_err(|e| anyhow!("{}", without_verbose_fields(&format!("{e:#}"))))
    }

    /// The normalised `pg_dump --schema-only` of `db` (see [`cluster::normalize_schema_dump`]).
    pub fn dump_schema(&self, db: &str) -> Result<String> {
        let mut cmd = self.client("pg_dump", db, "pgsafe-verify");
        cmd.args(["--schema-only", "--no-owner", "--no-privileges"]);
        Ok(cluster::normalize_schema_dump(&checked(cmd, &format!("pg_dump of {db}"))?))
    }

    /// A `postgres` crate connection to `db` as `application_name` `app`.
    pub fn connect(&self, db: &str, app: &str) -> Result<postgres::Client> {
        let e = &self.endpoint;
        let mut config = postgres::Config::new();
        config
            .host(&e.host)
            .port(e.port)
            .user(&e.user)
            .dbname(db)
            .application_name(app)
            .connect_timeout(std::time::Duration::from_secs(10));
        if let Some(p) = &e.password {
            config.password(p);
        }
        config.connect(postgres::NoTls).with_context(|| format!("could not connect to {db} on {}:{}", e.host, e.port))
    }

    // -- internals -------------------------------------------------------------------------------

    fn query_version(&self) -> Result<String> {
        let maintenance = self.endpoint.maintenance_db.clone();
        let out = self.psql(&maintenance, "SELECT 'v=' || current_setting('server_version')")?;
        out.lines()
            .find_map(|l| l.trim().strip_prefix("v=").map(str::to_owned))
            .ok_or_else(|| anyhow!("could not read server_version"))
    }

    fn drop_database_unchecked(&self, name: &str) -> Result<()> {
        let maintenance = self.endpoint.maintenance_db.clone();
        let plain = format!("DROP DATABASE IF EXISTS {}", quote_ident(name));
        // Not cut short by a signal: this is the clean-up after one.
        let drop = |sql: &str| {
            let mut cmd = self.client("psql", &maintenance, "pgsafe-verify");
            cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql]);
            run(cmd, &format!("psql on {maintenance}"), false)
        };
        // WITH (FORCE) (PostgreSQL 13+) so that a load client left behind cannot block the drop.
        drop(&format!("{plain} WITH (FORCE)")).or_else(|_| drop(&plain)).map(|_| ())
    }

    fn client(&self, program: &str, db: &str, app: &str) -> Command {
        let e = &self.endpoint;
        let mut cmd = Command::new(self.bindir.join(program));
        for (key, _) in std::env::vars_os() {
            let key_text = key.to_string_lossy();
            if key_text.starts_with("PG") && (self.is_embedded() || !keeps_env(&key_text)) {
                cmd.env_remove(&key);
            }
        }
        if let Some(p) = &e.password {
            cmd.env("PGPASSWORD", p);
        }
        cmd.env("PGCLIENTENCODING", "UTF8").env("PGCONNECT_TIMEOUT", "10").stdin(Stdio::null()).arg("-d").arg(format!(
            "host={} port={} user={} dbname={} application_name={}",
            conninfo_value(&e.host),
            e.port,
            conninfo_value(&e.user),
            conninfo_value(db),
            conninfo_value(app)
        ));
        cmd
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.cluster.is_some() {
            return; // the cluster goes away whole
        }
        let names = std::mem::take(&mut *self.scratch.lock().unwrap_or_else(|e| e.into_inner()));
        for name in names.iter().rev() {
            if let Err(e) = self.drop_database_unchecked(name) {
                eprintln!("warning: could not drop scratch database {name}: {e:#}");
            }
        }
    }
}

/// Does a libpq variable reach `psql`/`pg_dump` on a `--database-url` server? Those that say how to
/// authenticate and encrypt (`PGPASSWORD`, `PGPASSFILE`, `PGSSLMODE`, `PGSSLROOTCERT`, GSS, …) do:
/// the URL rarely carries them. Those that would send the connection elsewhere or change the
/// session (`PGHOST`, `PGPORT`, `PGDATABASE`, `PGUSER`, `PGSERVICE`, `PGOPTIONS`, `PGTZ`, …) do
/// not: the URL and verify say where and how. The throwaway cluster gets none.
fn keeps_env(name: &str) -> bool {
    name.starts_with("PGSSL")
        || name.starts_with("PGGSS")
        || matches!(
            name,
            "PGPASSWORD"
                | "PGPASSFILE"
                | "PGREQUIRESSL"
                | "PGKRBSRVNAME"
                | "PGREQUIREAUTH"
                | "PGCHANNELBINDING"
                | "PGREQUIREPEER"
        )
}

/// Is `host` this machine: `localhost`, a loopback address (127.0.0.0/8, ::1) or a Unix socket
/// directory?
pub fn is_local_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.starts_with('/')
        || h.starts_with('@') // abstract Unix socket namespace
        || h.eq_ignore_ascii_case("localhost")
        || h.parse::<IpAddr>().is_ok_and(|a| a.is_loopback())
}

fn checked(cmd: Command, what: &str) -> Result<String> {
    run(cmd, what, true)
}

/// Run a libpq program to its end; stdout. When `interruptible` and SIGINT/SIGTERM arrives (inside
/// `pgsafe verify`'s critical section, [`crate::interrupt::pending`]), the program gets SIGINT (psql
/// then cancels its query on the server), is killed if it has not ended 5 s later, and this fails:
/// verify returns, the scratch databases are dropped, then the process exits with the signal's
/// status. Before, a signal ended pgsafe at once and left both behind, the orphaned psql still
/// creating a database.
fn run(mut cmd: Command, what: &str, interruptible: bool) -> Result<String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not run {program}"))?;
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out_reader = read(child.stdout.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>));
    let err_reader = read(child.stderr.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>));
    let mut interrupted_at: Option<std::time::Instant> = None;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if interruptible && crate::interrupt::pending() {
            match interrupted_at {
                None => {
                    interrupted_at = Some(std::time::Instant::now());
                    if let Some(pid) = i32::try_from(child.id()).ok().and_then(rustix::process::Pid::from_raw) {
                        // our own child, not reaped yet (try_wait said it runs)
                        let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
                    }
                }
                Some(t) if t.elapsed() > std::time::Duration::from_secs(5) => {
                    let _ = child.kill();
                }
                Some(_) => {}
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let out =
        Output { status, stdout: out_reader.join().unwrap_or_default(), stderr: err_reader.join().unwrap_or_default() };
    if interrupted_at.is_some() {
        bail!("{what}: interrupted");
    }
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        bail!("{what} failed ({}):\n{}", out.status, stderr.trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The SQLSTATE of the last message in psql's verbose output `text` (`psql:f.sql:3: ERROR:  55P03:
/// canceling statement…`, the severity and the message in the server's language), if any.
pub fn sqlstate(text: &str) -> Option<&str> {
    fn code(line: &str) -> Option<&str> {
        line.match_indices(":  ").find_map(|(i, _)| {
            let rest = &line[i + 3..];
            let code = rest.get(..5)?;
            let shaped = code.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
            (shaped && rest[5..].starts_with(": ")).then_some(code)
        })
    }
    text.lines().rev().find_map(code)
}

/// psql's verbose output less the lines only verbose messages have (where in the server's code,
/// and the names of the objects concerned): messages read as at psql's default verbosity, with
/// their SQLSTATE.
fn without_verbose_fields(text: &str) -> String {
    const FIELDS: [&str; 6] =
        ["LOCATION:  ", "SCHEMA NAME:  ", "TABLE NAME:  ", "COLUMN NAME:  ", "DATATYPE NAME:  ", "CONSTRAINT NAME:  "];
    let kept: Vec<&str> = text.lines().filter(|l| !FIELDS.iter().any(|f| l.starts_with(f))).collect();
    kept.join("\n")
}

/// A SQL identifier in double quotes.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A libpq conninfo value in single quotes.
fn conninfo_value(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sqlstate_is_read_in_any_language() {
        // psql 15's verbose output under lc_messages = 'de_DE.UTF-8' and 'C'.
        let de = "psql:/tmp/p/0001_a.sql:4: NOTICE:  00000: Relation »t« existiert bereits\n\
                  psql:/tmp/p/0001_a.sql:5: FEHLER:  55P03: Abbruch der Anweisung wegen Zeitüberschreitung einer Sperre\n\
                  LOCATION:  ProcessInterrupts, postgres.c:3343";
        assert_eq!(sqlstate(de), Some("55P03"));
        let en =
            "psql:/tmp/p/0001_a.sql:5: ERROR:  42P01: relation \"nope\" does not exist\nLINE 1: SELECT * FROM nope;\n\
                  \x20                     ^\nLOCATION:  parserOpenTable, parse_relation.c:1392";
        assert_eq!(sqlstate(en), Some("42P01"));
        assert_eq!(sqlstate("psql: error: connection to server failed: FATAL:  password authentication failed"), None);
        let shown = without_verbose_fields(en);
        assert!(shown.starts_with("psql:/tmp/p/0001_a.sql:5: ERROR:  42P01: relation") && shown.contains("LINE 1:"));
        assert!(!shown.contains("LOCATION"), "{shown}");
    }

    #[test]
    fn local_hosts() {
        for h in ["localhost", "127.0.0.1", "127.4.5.6", "::1", "[::1]", "/var/run/postgresql", "/tmp"] {
            assert!(is_local_host(h), "{h}");
        }
        for h in ["db.example.com", "10.0.0.1", "128.0.0.1", "::2", "localhost.evil"] {
            assert!(!is_local_host(h), "{h}");
        }
    }

    #[test]
    fn passwords_and_tls_reach_libpq_and_redirections_do_not() {
        for v in ["PGPASSWORD", "PGPASSFILE", "PGSSLMODE", "PGSSLROOTCERT", "PGGSSENCMODE", "PGREQUIREAUTH"] {
            assert!(keeps_env(v), "{v}");
        }
        for v in ["PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE", "PGOPTIONS", "PGTZ"] {
            assert!(!keeps_env(v), "{v}");
        }
    }

    #[test]
    fn remote_url_is_refused_without_allow_remote() {
        let e = Server::external("postgresql://u@db.example.com/app", false).unwrap_err();
        assert!(e.to_string().contains("not on this machine"), "{e}");
    }
}
