//! Small building blocks shared by the harness: polling, ports, temp dirs, child processes and
//! artifact paths.

use std::collections::BTreeSet;
use std::fs;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How often [`wait_until`] polls.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Calls `probe` every 50 ms until it returns `Some`, or until `timeout` has passed (then `None`).
///
/// `probe` always runs at least once, and once more right at the deadline.
pub fn wait_until<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        thread::sleep(POLL_INTERVAL.min(deadline - now));
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago and that no other caller in this process
/// has been given (the kernel hands a just-released port out again readily, and two parallel
/// tests must not race for one). The listener is closed before returning, so a caller that fails
/// to bind it should retry with a new one.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut given = GIVEN.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("no free TCP port on 127.0.0.1")
            .port();
        if given.insert(port) {
            return port;
        }
    }
}

/// A fresh directory under the system temp dir, removed with everything in it on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `<tmp>/<prefix>-<pid>-<n>-<nanos>`; the name is unique within and across test runs.
    pub fn new(prefix: &str) -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "{prefix}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create temp dir {}: {e}", path.display()));
        TempDir(path)
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Best effort: a leftover temp dir must not turn a passing test into a failing one.
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Sends `signal` (e.g. `libc::SIGINT`) to a child that has not been reaped yet.
pub fn send_signal(child: &Child, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).expect("child pid does not fit in pid_t");
    // SAFETY: kill(2) has no memory-safety preconditions; the child is not reaped yet, so its pid
    // cannot have been reused.
    unsafe { libc::kill(pid, signal) };
}

/// Waits up to `timeout` for `child` to exit; `None` if it is still running.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    wait_until(timeout, || child.try_wait().ok().flatten())
}

/// Sends `signal`, waits up to `grace` for an exit, then SIGKILLs and reaps the child.
/// Returns the exit status and whether the child exited within the grace period.
pub fn stop_child(child: &mut Child, signal: libc::c_int, grace: Duration) -> (ExitStatus, bool) {
    if let Ok(Some(status)) = child.try_wait() {
        return (status, true);
    }
    send_signal(child, signal);
    if let Some(status) = wait_timeout(child, grace) {
        return (status, true);
    }
    let _ = child.kill();
    let status = child.wait().expect("cannot reap a SIGKILLed child");
    (status, false)
}

/// The last `max_lines` lines of a text file (empty if it cannot be read), for failure messages.
pub fn tail_of_file(path: &Path, max_lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(max_lines)..].join("\n")
}

/// `target/<profile>`: the directory holding the test binary's `deps/` (honours
/// `CARGO_TARGET_DIR` and `--target`, since it is derived from the running executable).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("cannot locate the running test executable");
    exe.parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("unexpected test executable location {}", exe.display()))
        .to_path_buf()
}

/// The name of the running test, taken from the thread name libtest gives each test
/// (`module::test_name` becomes `module__test_name`; `unnamed-test` when there is none).
pub fn current_test_name() -> String {
    thread::current()
        .name()
        .filter(|name| *name != "main")
        .map_or_else(
            || "unnamed-test".to_owned(),
            |name| name.replace("::", "__"),
        )
}

/// `target/e2e-artifacts/<name>/`, created if missing; emptied on its first use in this test
/// process, so it never mixes files from an earlier run with this one's.
pub fn artifacts_dir(name: &str) -> PathBuf {
    static USED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let target = profile_dir();
    let dir = target
        .parent()
        .unwrap_or(&target)
        .join("e2e-artifacts")
        .join(name);
    let first_use = USED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(name.to_owned());
    if first_use {
        let _ = fs::remove_dir_all(&dir);
    }
    fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create artifacts dir {}: {e}", dir.display()));
    dir
}

/// Makes the spawned process receive SIGKILL when the spawning thread dies, so an aborted test
/// run leaves no OBS, nginx or Xvfb behind. Spawn from the thread that owns the process (each
/// libtest test runs on its own thread, which outlives the harness objects it creates).
pub fn die_with_parent(command: &mut Command) -> &mut Command {
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// Copies `from` into `to` recursively (creating `to`).
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
