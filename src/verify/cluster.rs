//! A throwaway PostgreSQL cluster for real-server checks.
//!
//! [`Cluster::start`] creates a data directory in a private temporary directory (`initdb
//! --no-sync -E UTF8 --locale=C`; from the second cluster of a process on, a copy of a per-process
//! initdb result, which is about twice as fast), starts the server on a free TCP port on
//! `127.0.0.1` (plus a private Unix socket directory), and tunes it for speed rather than
//! durability (`fsync`, `synchronous_commit` and `full_page_writes` off, minimal WAL, autovacuum
//! off by default). Dropping the [`Cluster`] stops the server (`pg_ctl stop -m immediate`,
//! falling back to signalling the postmaster) and removes the directory, also while a panicking
//! test unwinds. Nothing is shared between running clusters, so tests may run several at once.
//!
//! Start-up takes about 1 s for the first cluster of a process (initdb is most of it) and 0.3 to
//! 0.5 s for later ones on a disk-backed `/tmp`; `TMPDIR=/dev/shm` makes the copy nearly free.
//! A process that is killed (SIGKILL) cannot clean up: its `pgsafe-pg-*` directories and servers
//! stay behind.
//!
//! Clients (`psql`, `pg_dump`) always connect over TCP as the cluster's superuser `postgres`
//! (trust authentication, listening on loopback only).
//!
//! # Running as root
//!
//! PostgreSQL refuses to run as root. When the effective uid is 0 the server programs (`initdb`,
//! `pg_ctl`, `postgres`) run as an unprivileged OS user: `$PGSAFE_PG_OS_USER` if set, else
//! `postgres`; if that user does not exist, a system user `pgsafe` is created (`useradd --system`,
//! or busybox `adduser -S`). The cluster's directory is owned by that user and placed under a
//! temporary directory whose every ancestor the user can traverse (`$TMPDIR`, else `/tmp`).
//! The clients keep running as the calling user.
//!
//! # Finding the server binaries
//!
//! In order: [`ClusterOptions::bindir`], `$PGSAFE_PG_BINDIR`, `pg_config --bindir`, the directory
//! of `initdb` found on `PATH` (symlinks resolved), then the highest version under
//! `/usr/lib/postgresql/*/bin`. A directory qualifies only if it holds `initdb`, `pg_ctl`,
//! `postgres`, `psql` and `pg_dump`, so the clients always match the server.

use std::fmt::Write as _;
use std::fs;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::net::TcpListener;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context as _, Result};
use rustix::process::{Pid, Signal};

/// The programs a bin directory must contain to be usable.
const REQUIRED_PROGRAMS: [&str; 5] = ["initdb", "pg_ctl", "postgres", "psql", "pg_dump"];

/// The cluster's superuser (created by `initdb -U`).
const SUPERUSER: &str = "postgres";

/// OS user created when running as root and no `postgres` OS user exists.
const FALLBACK_OS_USER: &str = "pgsafe";

/// How many times to pick a new port when the chosen one turns out to be taken.
const PORT_ATTEMPTS: usize = 5;

/// How many lines of the server log an error message quotes.
const LOG_TAIL_LINES: usize = 30;

/// Options for [`Cluster::start_with`]. `ClusterOptions::default()` is what [`Cluster::start`] uses.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// Use the server binaries in this directory instead of searching for them.
    pub bindir: Option<PathBuf>,
    /// Run autovacuum (off by default, so that nothing happens behind a test's back).
    pub autovacuum: bool,
    /// Extra `postgresql.conf` settings, written as `name = value` (the value verbatim, so quote
    /// strings yourself: `("log_lock_waits", "on")`, `("lock_timeout", "'2s'")`).
    pub settings: Vec<(String, String)>,
}

/// The unprivileged OS user the server runs as when we are root.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OsUser {
    name: String,
    uid: u32,
    gid: u32,
}

/// A throwaway PostgreSQL cluster: private directory, private port, private socket directory.
/// Stopped and removed on drop.
#[derive(Debug)]
pub struct Cluster {
    bindir: PathBuf,
    version: String,
    base: PathBuf,
    port: u16,
    os_user: Option<OsUser>,
    startup: Duration,
    /// The postmaster's pid, read once the server is up (a fallback if postmaster.pid goes).
    postmaster: Option<Pid>,
}

impl Cluster {
    /// Create and start a cluster with the default options.
    pub fn start() -> Result<Cluster> {
        Cluster::start_with(&ClusterOptions::default())
    }

    /// Create and start a cluster.
    pub fn start_with(options: &ClusterOptions) -> Result<Cluster> {
        let began = Instant::now();
        let bindir = find_bindir(options.bindir.as_deref())?;
        let os_user = if is_root() { Some(server_os_user()?) } else { None };
        let base = create_base_dir(os_user.as_ref(), "pgsafe-pg")?;
        // From here on, dropping `cluster` (on any error) stops whatever was started and removes
        // the directory.
        let mut cluster = Cluster {
            bindir,
            version: String::new(),
            base,
            port: 0,
            os_user,
            startup: Duration::ZERO,
            postmaster: None,
        };
        cluster.init_and_start(options)?;
        cluster.startup = began.elapsed();
        Ok(cluster)
    }

    /// The server's major version, e.g. `"15"` (from the data directory's `PG_VERSION`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The directory the server binaries were taken from.
    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    /// The cluster's private directory (data directory, socket directory, server log).
    pub fn dir(&self) -> &Path {
        &self.base
    }

    /// The data directory (`PGDATA`).
    pub fn data_dir(&self) -> PathBuf {
        self.base.join("data")
    }

    /// The server log file.
    pub fn log_file(&self) -> PathBuf {
        self.base.join("server.log")
    }

    /// The TCP port the server listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's superuser role name.
    pub fn user(&self) -> &str {
        SUPERUSER
    }

    /// How long [`Cluster::start`] took (finding binaries, initdb, server start).
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// A connection URL: `postgresql://postgres@127.0.0.1:PORT/db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgresql://{}@127.0.0.1:{}/{}", SUPERUSER, self.port, percent_encode(db))
    }

    /// `CREATE DATABASE name [TEMPLATE template]` (names are quoted identifiers, used verbatim).
    pub fn create_database(&self, name: &str, template: Option<&str>) -> Result<()> {
        let mut sql = format!("CREATE DATABASE {}", quote_ident(name));
        if let Some(template) = template {
            write!(sql, " TEMPLATE {}", quote_ident(template)).unwrap();
        }
        self.psql("postgres", &sql).with_context(|| format!("could not create database {name:?}"))?;
        Ok(())
    }

    /// `DROP DATABASE name` (with `FORCE` on PostgreSQL 13+, so open sessions do not block it).
    pub fn drop_database(&self, name: &str) -> Result<()> {
        let mut sql = format!("DROP DATABASE {}", quote_ident(name));
        if self.major() >= 13 {
            sql.push_str(" WITH (FORCE)");
        }
        self.psql("postgres", &sql).with_context(|| format!("could not drop database {name:?}"))?;
        Ok(())
    }

    /// Run `psql -X -q -v ON_ERROR_STOP=1 -c SQL` against `db` and return its stdout. Several
    /// statements in `sql` are sent as one query string, so they run in one implicit transaction.
    /// The error carries psql's stderr.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String> {
        let mut cmd = self.client_command("psql");
        cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"]).arg(self.conninfo(db)).arg("-c").arg(sql);
        let out = run(cmd).context("could not run psql")?;
        if !out.status.success() {
            bail!("psql failed on database {db:?} ({}):\n{}", out.status, failure_text(&out));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Run `psql -X -q -v ON_ERROR_STOP=1 -f FILE` against `db` and return its stdout. psql sends
    /// the statements one at a time in autocommit mode, as a user running the file would; it
    /// stops at the first error, and the error carries psql's stderr (`psql:FILE:LINE: ERROR: …`).
    pub fn psql_file(&self, db: &str, file: &Path) -> Result<String> {
        let mut cmd = self.client_command("psql");
        cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"]).arg(self.conninfo(db)).arg("-f").arg(file);
        let out = run(cmd).context("could not run psql")?;
        if !out.status.success() {
            bail!("psql -f {} failed on database {db:?} ({}):\n{}", file.display(), out.status, failure_text(&out));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `pg_dump --schema-only --no-owner --no-privileges` of `db`, normalised for comparison by
    /// [`normalize_schema_dump`].
    pub fn dump_schema(&self, db: &str) -> Result<String> {
        let mut cmd = self.client_command("pg_dump");
        cmd.args(["--schema-only", "--no-owner", "--no-privileges", "-d"]).arg(self.conninfo(db));
        let out = run(cmd).context("could not run pg_dump")?;
        if !out.status.success() {
            bail!("pg_dump failed on database {db:?} ({}):\n{}", out.status, failure_text(&out));
        }
        Ok(normalize_schema_dump(&String::from_utf8_lossy(&out.stdout)))
    }

    // -- internals -------------------------------------------------------------------------------

    fn major(&self) -> u32 {
        self.version.split('.').next().and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    /// libpq keyword/value connection string (TCP, superuser, no password).
    fn conninfo(&self, db: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user={} dbname={} connect_timeout=10",
            self.port,
            SUPERUSER,
            quote_conninfo_value(db)
        )
    }

    /// A client program from the bin directory, run as the calling user, with the caller's `PG*`
    /// variables removed so that nothing redirects it elsewhere.
    fn client_command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bindir.join(program));
        scrub_pg_env(&mut cmd);
        cmd.env("PGCLIENTENCODING", "UTF8").stdin(Stdio::null());
        cmd
    }

    /// A server program, run as the unprivileged OS user when we are root.
    fn server_command(&self, program: &str) -> Command {
        server_command(self.bindir.join(program), &self.base, self.os_user.as_ref())
    }

    fn init_and_start(&mut self, options: &ClusterOptions) -> Result<()> {
        let data = self.data_dir();
        let sock = self.base.join("sock");

        // initdb: the first cluster of a process runs it in place, later ones copy a template
        static FIRST: AtomicBool = AtomicBool::new(true);
        if FIRST.swap(false, Ordering::Relaxed) {
            initdb(&self.bindir, &data, self.os_user.as_ref())?;
        } else {
            let template = initdb_template(&self.bindir, self.os_user.as_ref())?;
            let mut cp = server_command("cp", &self.base, self.os_user.as_ref());
            cp.arg("-a").arg(&template).arg(&data);
            let out = run(cp)?;
            if !out.status.success() {
                bail!(
                    "could not copy the initdb template {} to {} ({}):\n{}",
                    template.display(),
                    data.display(),
                    out.status,
                    failure_text(&out)
                );
            }
        }
        self.version = fs::read_to_string(data.join("PG_VERSION"))
            .with_context(|| format!("no PG_VERSION in {}", data.display()))?
            .trim()
            .to_owned();

        // socket directory, private to the server user
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&sock)
            .with_context(|| format!("could not create {}", sock.display()))?;
        if let Some(user) = &self.os_user {
            std::os::unix::fs::chown(&sock, Some(user.uid), Some(user.gid))
                .with_context(|| format!("could not chown {}", sock.display()))?;
        }

        // configuration: later lines win, so a retry with a new port just appends
        let mut conf = String::from("\n# pgsafe throwaway cluster: fast, not durable\n");
        let mut settings: Vec<(String, String)> = vec![
            ("listen_addresses".into(), "'127.0.0.1'".into()),
            ("unix_socket_directories".into(), quote_conf_string(&sock.to_string_lossy())),
            ("fsync".into(), "off".into()),
            ("synchronous_commit".into(), "off".into()),
            ("full_page_writes".into(), "off".into()),
            ("wal_level".into(), "minimal".into()),
            ("max_wal_senders".into(), "0".into()),
            ("max_connections".into(), "50".into()),
            ("shared_buffers".into(), "'32MB'".into()),
            ("autovacuum".into(), if options.autovacuum { "on" } else { "off" }.into()),
            ("log_line_prefix".into(), "'%m [%p] '".into()),
        ];
        settings.extend(options.settings.iter().cloned());
        for (name, value) in &settings {
            writeln!(conf, "{name} = {value}").unwrap();
        }
        append_file(&data.join("postgresql.conf"), &conf)?;

        // start, on a fresh port each attempt
        let log = self.log_file();
        for attempt in 1..=PORT_ATTEMPTS {
            self.port = free_port()?;
            append_file(&data.join("postgresql.conf"), &format!("port = {}\n", self.port))?;
            let log_start = fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
            let mut pg_ctl = self.server_command("pg_ctl");
            pg_ctl.arg("-D").arg(&data).arg("-l").arg(&log).args(["-w", "-t", "60", "start"]);
            let out = run(pg_ctl).context("could not run pg_ctl")?;
            if out.status.success() {
                self.postmaster = postmaster_pid(&data.join("postmaster.pid"));
                return Ok(());
            }
            let new_log = read_from(&log, log_start);
            let port_taken =
                new_log.contains("Address already in use") || new_log.contains("could not create any TCP/IP sockets");
            if port_taken && attempt < PORT_ATTEMPTS {
                // Another process grabbed the port between our probe and the server's bind.
                self.stop_server();
                continue;
            }
            bail!(
                "the PostgreSQL server did not start ({}; port {}, data {}):\n{}\n\
                 last lines of the server log:\n{}",
                out.status,
                self.port,
                data.display(),
                failure_text(&out),
                tail(&new_log, LOG_TAIL_LINES)
            );
        }
        unreachable!("the loop returns or bails on its last attempt")
    }

    /// Stop the server if it runs: `pg_ctl stop -m immediate`; if that fails (or the pid file is
    /// gone), SIGQUIT then SIGKILL to the postmaster, after checking that the pid still belongs
    /// to a process started on our own directory.
    fn stop_server(&self) {
        let data = self.data_dir();
        let pid_file = data.join("postmaster.pid");
        let pid = postmaster_pid(&pid_file).or(self.postmaster);
        if pid_file.exists() {
            let mut pg_ctl = self.server_command("pg_ctl");
            pg_ctl
                .arg("-D")
                .arg(&data)
                .args(["-m", "immediate", "-w", "-t", "30", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if pg_ctl.status().is_ok_and(|s| s.success()) {
                return;
            }
        }
        if let Some(pid) = pid.filter(|&pid| runs_on(pid, &self.base)) {
            // SIGQUIT is PostgreSQL's immediate shutdown; SIGKILL if it does not go.
            if signal(pid, Some(Signal::QUIT)) && !wait_gone(pid, Duration::from_secs(5)) {
                signal(pid, Some(Signal::KILL));
                wait_gone(pid, Duration::from_secs(5));
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_server();
        if fs::remove_dir_all(&self.base).is_err() {
            // A process that was still exiting may have written a last file; try once more.
            std::thread::sleep(Duration::from_millis(200));
            let _ = fs::remove_dir_all(&self.base);
        }
    }
}

/// Normalise `pg_dump --schema-only` output for comparison: drop comment lines, blank lines,
/// `SET …` lines, `SELECT pg_catalog.set_config(…)` lines and the `\restrict`/`\unrestrict` lines
/// (with their random key) that newer pg_dump versions write. The lines are dropped wherever they
/// are, including inside function bodies, which is harmless when both sides are normalised alike.
pub fn normalize_schema_dump(dump: &str) -> String {
    let mut out = String::with_capacity(dump.len());
    for line in dump.lines() {
        let line = line.trim_end();
        if line.is_empty()
            || line.starts_with("--")
            || line.starts_with("SET ")
            || line.starts_with("SELECT pg_catalog.set_config")
            || line.starts_with("\\restrict")
            || line.starts_with("\\unrestrict")
        {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

// -- binaries -------------------------------------------------------------------------------------

/// The directory holding `psql` and `pg_dump` (the same search as [`Cluster::start`]), for clients
/// of a server pgsafe did not start (`pgsafe verify --database-url`).
pub fn client_bindir() -> Result<PathBuf> {
    find_bindir(None)
}

fn find_bindir(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        return check_explicit_bindir(dir, "ClusterOptions::bindir");
    }
    if let Some(dir) = std::env::var_os("PGSAFE_PG_BINDIR").filter(|d| !d.is_empty()) {
        return check_explicit_bindir(Path::new(&dir), "$PGSAFE_PG_BINDIR");
    }
    let mut looked = Vec::new();

    // pg_config --bindir
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        if out.status.success() {
            let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if is_complete_bindir(&dir) {
                return Ok(dir);
            }
            looked.push(format!("{} (from pg_config --bindir)", dir.display()));
        }
    }

    // initdb on PATH, symlinks resolved (Debian puts the server binaries off PATH)
    if let Some(path) = std::env::var_os("PATH") {
        for entry in std::env::split_paths(&path) {
            let initdb = entry.join("initdb");
            if !is_executable(&initdb) {
                continue;
            }
            let dir = fs::canonicalize(&initdb).ok().and_then(|p| p.parent().map(Path::to_path_buf)).unwrap_or(entry);
            if is_complete_bindir(&dir) {
                return Ok(dir);
            }
            looked.push(format!("{} (initdb found on PATH)", dir.display()));
        }
    }

    // /usr/lib/postgresql/*/bin, highest version first
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let key: Option<Vec<u32>> = name.split('.').map(|p| p.parse().ok()).collect();
            key.map(|k| (k, e.path().join("bin")))
        })
        .collect();
    versions.sort();
    for (_, dir) in versions.into_iter().rev() {
        if is_complete_bindir(&dir) {
            return Ok(dir);
        }
        looked.push(dir.display().to_string());
    }

    let looked = if looked.is_empty() {
        String::new()
    } else {
        format!(" Incomplete candidates (each needs {}): {}.", REQUIRED_PROGRAMS.join(", "), looked.join("; "))
    };
    bail!(
        "PostgreSQL server binaries not found: looked at $PGSAFE_PG_BINDIR (unset), \
         `pg_config --bindir`, initdb on PATH and /usr/lib/postgresql/*/bin.{looked}\n\
         To fix: install the server (Debian/Ubuntu: `apt-get install postgresql-15`; \
         Fedora/RHEL: `dnf install postgresql-server`; macOS: `brew install postgresql@15`), \
         or set PGSAFE_PG_BINDIR to a directory holding initdb, pg_ctl, postgres, psql and pg_dump, \
         or point pgsafe at an existing server with a URL instead of a throwaway cluster."
    )
}

fn check_explicit_bindir(dir: &Path, source: &str) -> Result<PathBuf> {
    let missing: Vec<&str> = REQUIRED_PROGRAMS.iter().copied().filter(|p| !is_executable(&dir.join(p))).collect();
    if missing.is_empty() {
        return Ok(dir.to_path_buf());
    }
    bail!(
        "PostgreSQL server binaries not found: {source} is {}, which lacks {}.\n\
         To fix: install the server (Debian/Ubuntu: `apt-get install postgresql-15`; \
         Fedora/RHEL: `dnf install postgresql-server`; macOS: `brew install postgresql@15`), \
         or set PGSAFE_PG_BINDIR to a directory holding initdb, pg_ctl, postgres, psql and pg_dump, \
         or point pgsafe at an existing server with a URL instead of a throwaway cluster.",
        dir.display(),
        missing.join(", ")
    )
}

fn is_complete_bindir(dir: &Path) -> bool {
    REQUIRED_PROGRAMS.iter().all(|p| is_executable(&dir.join(p)))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

// -- users and directories ------------------------------------------------------------------------

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Look a user up in the system's user database: `getent passwd` (NSS: files, LDAP, …), else
/// `/etc/passwd`.
fn lookup_user(name: &str) -> Option<OsUser> {
    let entry = Command::new("getent")
        .args(["passwd", name])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .or_else(|| {
            let passwd = fs::read_to_string("/etc/passwd").ok()?;
            passwd.lines().find(|l| l.split(':').next() == Some(name)).map(str::to_owned)
        })?;
    let fields: Vec<&str> = entry.trim_end().split(':').collect();
    match fields.as_slice() {
        [user, _, uid, gid, ..] if *user == name => {
            Some(OsUser { name: name.to_owned(), uid: uid.parse().ok()?, gid: gid.parse().ok()? })
        }
        _ => None,
    }
}

/// The OS user the server runs as when we are root; created if needed (once per process).
fn server_os_user() -> Result<OsUser> {
    static USER: Mutex<Option<OsUser>> = Mutex::new(None);
    let mut cached = USER.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(user) = &*cached {
        return Ok(user.clone());
    }
    let user = match std::env::var("PGSAFE_PG_OS_USER") {
        Ok(name) if !name.is_empty() => match lookup_user(&name) {
            Some(user) => user,
            None => create_os_user(&name)?,
        },
        _ => match lookup_user("postgres").or_else(|| lookup_user(FALLBACK_OS_USER)) {
            Some(user) => user,
            None => create_os_user(FALLBACK_OS_USER)?,
        },
    };
    if user.uid == 0 {
        bail!(
            "OS user {:?} has uid 0; PostgreSQL refuses to run as root. \
             Set PGSAFE_PG_OS_USER to an unprivileged user.",
            user.name
        );
    }
    *cached = Some(user.clone());
    Ok(user)
}

fn create_os_user(name: &str) -> Result<OsUser> {
    let attempts: [(&str, Vec<&str>); 2] = [
        ("useradd", vec!["--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name]),
        // busybox (Alpine)
        ("adduser", vec!["-S", "-D", "-H", "-s", "/sbin/nologin", name]),
    ];
    let mut errors = Vec::new();
    for (program, args) in attempts {
        match Command::new(program).args(&args).output() {
            Ok(out) => {
                // Another process may have created the user meanwhile: look it up either way.
                if let Some(user) = lookup_user(name) {
                    return Ok(user);
                }
                errors.push(format!(
                    "{program} {}: {} {}",
                    args.join(" "),
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            Err(e) => errors.push(format!("{program}: {e}")),
        }
    }
    bail!(
        "running as root, and PostgreSQL refuses to run as root: tried to create the \
         unprivileged OS user {name:?} for the server, but failed:\n{}\n\
         Create an unprivileged user yourself and set PGSAFE_PG_OS_USER to its name, \
         or run as a non-root user.",
        errors.join("\n")
    )
}

/// Whether `user` can traverse `dir` and every one of its ancestors (supplementary groups are
/// ignored, which errs on the side of "no").
fn traversable_by(dir: &Path, user: &OsUser) -> bool {
    let Ok(dir) = fs::canonicalize(dir) else {
        return false;
    };
    dir.ancestors().all(|d| {
        let Ok(m) = fs::metadata(d) else {
            return false;
        };
        let mode = m.mode();
        if m.uid() == user.uid {
            mode & 0o100 != 0
        } else if m.gid() == user.gid {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        }
    })
}

/// Create a private directory `PREFIX-PID-N-NANOS` for a cluster, owned by the server user.
fn create_base_dir(user: Option<&OsUser>, prefix: &str) -> Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut roots = vec![std::env::temp_dir()];
    if roots[0] != Path::new("/tmp") {
        roots.push(PathBuf::from("/tmp"));
    }
    let root = match user {
        None => roots[0].clone(),
        Some(user) => roots.iter().find(|r| traversable_by(r, user)).cloned().ok_or_else(|| {
            anyhow!(
                "no temporary directory the server user {:?} can reach: every parent of {} \
                     must be searchable (x) by it. Set TMPDIR to such a directory.",
                user.name,
                roots.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(" and ")
            )
        })?,
    };
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    for _ in 0..100 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = root.join(format!("{prefix}-{}-{n}-{nanos:08x}", std::process::id()));
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {
                if let Some(user) = user {
                    let chowned = std::os::unix::fs::chown(&dir, Some(user.uid), Some(user.gid))
                        .and_then(|()| fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)));
                    if let Err(e) = chowned {
                        let _ = fs::remove_dir(&dir);
                        return Err(e)
                            .with_context(|| format!("could not hand {} to user {:?}", dir.display(), user.name));
                    }
                }
                return Ok(dir);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("could not create {}", dir.display())),
        }
    }
    bail!("could not create a unique directory under {}", root.display())
}

// -- initdb template ------------------------------------------------------------------------------

/// A data directory fresh from initdb, for one bin directory and server user.
struct Template {
    bindir: PathBuf,
    uid: Option<u32>,
    base: PathBuf,
}

/// initdb takes most of the start-up time (about 0.8 s of 0.95 s here). The first cluster of a
/// process runs it in place; from the second on, a process keeps one initdb result per (bin
/// directory, server user) and every cluster starts from a copy (`cp -a`, 0.05 to 0.4 s for the
/// 40 MB, depending on the disk). The templates are removed when the process exits normally (an
/// `atexit` handler); a killed process leaves its `pgsafe-pg-template-PID-*` directory behind.
static TEMPLATES: Mutex<Vec<Template>> = Mutex::new(Vec::new());

/// `initdb` a new data directory `data` (whose parent must exist and belong to the server user).
fn initdb(bindir: &Path, data: &Path, user: Option<&OsUser>) -> Result<()> {
    let parent = data.parent().unwrap_or(data);
    let program = bindir.join("initdb");
    let mut cmd = server_command(&program, parent, user);
    cmd.arg("-D").arg(data).args(["-U", SUPERUSER, "--auth=trust", "--no-sync"]).args(["-E", "UTF8", "--locale=C"]);
    if program_major_version(&program).is_some_and(|v| v >= 11) {
        // 1 MB WAL segments instead of 16: a smaller data directory to create and copy.
        cmd.arg("--wal-segsize=1");
    }
    let out = run(cmd)?;
    if !out.status.success() {
        bail!("initdb -D {} failed ({}):\n{}", data.display(), out.status, failure_text(&out));
    }
    Ok(())
}

/// The major version a PostgreSQL program reports (`initdb (PostgreSQL) 15.18 (Debian …)` → 15).
fn program_major_version(program: &Path) -> Option<u32> {
    let out = Command::new(program).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.split("(PostgreSQL)").nth(1)?.split_whitespace().next()?;
    version.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// The data directory of this process's initdb template, created on first use.
fn initdb_template(bindir: &Path, user: Option<&OsUser>) -> Result<PathBuf> {
    let mut templates = TEMPLATES.lock().unwrap_or_else(PoisonError::into_inner);
    let uid = user.map(|u| u.uid);
    if let Some(t) = templates.iter().find(|t| t.bindir == bindir && t.uid == uid) {
        let data = t.base.join("data");
        if data.join("PG_VERSION").is_file() {
            return Ok(data);
        }
    }
    // Missing, or removed behind our back (a /tmp cleaner): make it (again).
    templates.retain(|t| !(t.bindir == bindir && t.uid == uid));
    let base = create_base_dir(user, "pgsafe-pg-template")?;
    let data = base.join("data");
    if let Err(e) = initdb(bindir, &data, user) {
        let _ = fs::remove_dir_all(&base);
        return Err(e);
    }
    // Templates outlive this process (no exit hook: the library has no unsafe code); each new
    // one first removes those whose process is gone.
    remove_orphan_templates(&base);
    templates.push(Template { bindir: bindir.to_path_buf(), uid, base });
    Ok(data)
}

/// Remove the `pgsafe-pg-template-PID-…` directories beside `base` whose process PID is gone.
fn remove_orphan_templates(base: &Path) {
    let Some(root) = base.parent() else { return };
    let Ok(entries) = fs::read_dir(root) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("pgsafe-pg-template-") else { continue };
        let pid = rest.split('-').next().and_then(|p| p.parse::<i32>().ok()).and_then(Pid::from_raw);
        if let Some(pid) = pid {
            if pid.as_raw_nonzero().get() as u32 != std::process::id() && !signal(pid, None) {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

// -- processes ------------------------------------------------------------------------------------

/// Remove the caller's libpq environment (PGHOST, PGPORT, PGDATA, PGPASSWORD, PGSERVICE, …).
fn scrub_pg_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            cmd.env_remove(&key);
        }
    }
}

/// A server-side program (or `cp`), run in `dir` as the unprivileged OS user if there is one.
fn server_command(program: impl AsRef<std::ffi::OsStr>, dir: &Path, user: Option<&OsUser>) -> Command {
    let mut cmd = Command::new(program);
    scrub_pg_env(&mut cmd);
    // The caller's working directory may not be accessible to the server user.
    cmd.current_dir(dir).env("HOME", dir);
    if let Some(user) = user {
        cmd.uid(user.uid).gid(user.gid).env("USER", &user.name);
    }
    cmd.stdin(Stdio::null());
    cmd
}

fn run(mut cmd: Command) -> Result<Output> {
    let program = cmd.get_program().to_owned();
    cmd.output().with_context(|| format!("could not execute {}", Path::new(&program).display()))
}

/// stderr (and stdout, if any) of a failed command, trimmed.
fn failure_text(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    match (stderr.trim(), stdout.trim()) {
        (e, "") => e.to_owned(),
        ("", o) => o.to_owned(),
        (e, o) => format!("{e}\n{o}"),
    }
}

fn postmaster_pid(pid_file: &Path) -> Option<Pid> {
    let text = fs::read_to_string(pid_file).ok()?;
    let pid: i32 = text.lines().next()?.trim().parse().ok()?;
    (pid > 1).then(|| Pid::from_raw(pid)).flatten()
}

/// Whether process `pid` exists and was started with `dir` in its command line (the postmaster
/// runs as `postgres -D DIR/data`). Without /proc (not Linux), any live process counts.
fn runs_on(pid: Pid, dir: &Path) -> bool {
    if !Path::new("/proc/self/cmdline").exists() {
        return signal(pid, None);
    }
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let dir = dir.as_os_str().as_encoded_bytes();
    cmdline.windows(dir.len()).any(|w| w == dir)
}

/// Send `sig` to `pid` (None: only test that it exists). True when it was delivered.
fn signal(pid: Pid, sig: Option<Signal>) -> bool {
    match sig {
        Some(sig) => rustix::process::kill_process(pid, sig).is_ok(),
        None => rustix::process::test_kill_process(pid).is_ok(),
    }
}

fn wait_gone(pid: Pid, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if !signal(pid, None) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    !signal(pid, None)
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("could not find a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}

// -- files and quoting ----------------------------------------------------------------------------

fn append_file(path: &Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| format!("could not write {}", path.display()))
}

/// The file's contents from byte `offset` on (lossy UTF-8); empty if unreadable.
fn read_from(path: &Path, offset: u64) -> String {
    let mut bytes = Vec::new();
    if let Ok(mut f) = fs::File::open(path) {
        let _ = f.seek(SeekFrom::Start(offset));
        let _ = f.read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    if all.is_empty() {
        return "(the log is empty)".to_owned();
    }
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn quote_conf_string(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

fn quote_conninfo_value(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            _ => write!(out, "%{b:02X}").unwrap(),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_dump_noise() {
        let dump = "--\n-- PostgreSQL database dump\n--\n\\restrict abc123\n\nSET statement_timeout = 0;\n\
                    SELECT pg_catalog.set_config('search_path', '', false);\n\
                    CREATE TABLE public.t (\n    id integer\n);   \n\n\\unrestrict abc123\n";
        assert_eq!(normalize_schema_dump(dump), "CREATE TABLE public.t (\n    id integer\n);\n");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident(r#"a"b"#), r#""a""b""#);
        assert_eq!(quote_conninfo_value(r"it's\x"), r"'it\'s\\x'");
        assert_eq!(percent_encode("my db/é"), "my%20db%2F%C3%A9");
        assert_eq!(quote_conf_string("/tmp/it's"), "'/tmp/it''s'");
    }

    #[test]
    fn reads_program_versions() {
        let dir = std::env::temp_dir().join(format!("pgsafe-version-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        for (name, output, want) in [
            ("a", "initdb (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", Some(15)),
            ("b", "initdb (PostgreSQL) 9.6.24", Some(9)),
            ("c", "initdb (PostgreSQL) 18beta1", Some(18)),
            ("d", "something else", None),
        ] {
            let script = dir.join(name);
            fs::write(&script, format!("#!/bin/sh\necho '{output}'\n")).unwrap();
            fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
            assert_eq!(program_major_version(&script), want, "{output}");
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tail_keeps_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("", 2), "(the log is empty)");
    }
}
