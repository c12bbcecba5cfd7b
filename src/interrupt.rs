//! Ctrl-C (SIGINT), SIGTERM and SIGHUP while pgsafe writes files: the write is finished or
//! undone, never left half-done.
//!
//! Outside a [`Critical`] section a signal ends the process at once, as usual (exit status 128 +
//! the signal number): nothing has been written then. Inside one, the signal is only noted; the
//! writer asks [`Critical::interrupted`] between files, undoes what it began, and when the last
//! section ends the process exits with that status.

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

struct Handlers {
    /// True outside every critical section: a signal then exits at once.
    outside: Arc<AtomicBool>,
    /// Set per signal when one arrived inside a section.
    seen: [(i32, Arc<AtomicBool>); 3],
    depth: AtomicUsize,
    /// The exit status owed once the sections end (0: none).
    owed: AtomicI32,
}

fn handlers() -> &'static Handlers {
    static HANDLERS: OnceLock<Handlers> = OnceLock::new();
    HANDLERS.get_or_init(|| {
        let outside = Arc::new(AtomicBool::new(true));
        let seen = [SIGINT, SIGTERM, SIGHUP].map(|s| (s, Arc::new(AtomicBool::new(false))));
        for (signal, flag) in &seen {
            // The shutdown is registered first, so it runs before the flag is set. If a handler
            // cannot be installed, the default action (exit at once) stays: no worse than before.
            let _ = signal_hook::flag::register_conditional_shutdown(*signal, 128 + signal, outside.clone());
            let _ = signal_hook::flag::register(*signal, flag.clone());
        }
        Handlers { outside, seen, depth: AtomicUsize::new(0), owed: AtomicI32::new(0) }
    })
}

/// A stretch of writing that a signal must not cut in two. Sections nest.
pub struct Critical(());

/// Enter a critical section (installing the handlers the first time).
pub fn critical() -> Critical {
    let h = handlers();
    h.depth.fetch_add(1, Ordering::SeqCst);
    h.outside.store(false, Ordering::SeqCst);
    Critical(())
}

impl Critical {
    /// Did a signal arrive since the section began? The writer then undoes what it began.
    pub fn interrupted(&self) -> bool {
        let h = handlers();
        for (signal, flag) in &h.seen {
            if flag.load(Ordering::SeqCst) {
                let _ = h.owed.compare_exchange(0, 128 + signal, Ordering::SeqCst, Ordering::SeqCst);
            }
        }
        h.owed.load(Ordering::SeqCst) != 0
    }
}

/// Has a signal arrived inside a critical section that has not ended? For code that waits on a
/// child process inside one (`pgsafe verify`'s psql) and must stop waiting, clean up and return.
pub fn pending() -> bool {
    let h = handlers();
    h.depth.load(Ordering::SeqCst) > 0 && h.seen.iter().any(|(_, flag)| flag.load(Ordering::SeqCst))
}

impl Drop for Critical {
    fn drop(&mut self) {
        let h = handlers();
        let interrupted = self.interrupted();
        if h.depth.fetch_sub(1, Ordering::SeqCst) == 1 {
            h.outside.store(true, Ordering::SeqCst);
            if interrupted {
                eprintln!("pgsafe: interrupted");
                std::process::exit(h.owed.load(Ordering::SeqCst));
            }
        }
    }
}

/// A reader that stops early (`pgsafe check | head`) closes the pipe: end quietly with the
/// status a shell expects (128 + SIGPIPE), as `cat` or `grep` do, instead of panicking in
/// `print!`. Only for commands whose one job is printing: `verify` and `apply` talk to servers
/// and child processes, where a closed pipe must stay an error they handle (EPIPE).
pub fn exit_on_broken_pipe() {
    use signal_hook::consts::SIGPIPE;
    let _ = signal_hook::flag::register_conditional_shutdown(SIGPIPE, 128 + SIGPIPE, Arc::new(AtomicBool::new(true)));
}

/// Under `ulimit -f`, a write past the limit kills the process with SIGXFSZ (exit 153), before
/// the writer can remove its temporary files. With a handler in place the write fails with EFBIG
/// instead, and the writer undoes what it began like after any failed write. A handler, not
/// `SIG_IGN`: child processes (git, psql) start with the default action again.
pub fn fail_writes_past_the_file_size_limit() {
    let _ = signal_hook::flag::register(signal_hook::consts::SIGXFSZ, Arc::new(AtomicBool::new(false)));
}
