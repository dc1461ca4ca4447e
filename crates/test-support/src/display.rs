//! A private X display (Xvfb) for one OBS instance.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use super::util::{die_with_parent, stop_child};

/// How long Xvfb may take to report its display number.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A running `Xvfb -displayfd`, 1280x720x24, no TCP; killed on drop.
#[derive(Debug)]
pub struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    /// Starts Xvfb on the first free display number (chosen by Xvfb itself) and waits until it
    /// accepts clients. Panics with Xvfb's exit status if it does not come up within 15 s.
    pub fn start() -> Xvfb {
        let (read_end, write_end) = cloexec_pipe();
        let write_fd = write_end.as_raw_fd();
        let mut command = Command::new("Xvfb");
        command
            .args(["-displayfd", &write_fd.to_string()])
            .args(["-screen", "0", "1280x720x24", "-nolisten", "tcp"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: fcntl is async-signal-safe; it only clears close-on-exec on the pipe's write end
        // in the forked child, so Xvfb (and no other process we spawn) inherits it.
        unsafe {
            command.pre_exec(move || {
                if libc::fcntl(write_fd, libc::F_SETFD, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = die_with_parent(&mut command)
            .spawn()
            .expect("cannot run Xvfb (Debian package `xvfb`)");
        drop(write_end);

        // Xvfb writes the number and the newline separately: read the whole line before closing
        // the pipe, or Xvfb exits. A thread keeps the wait bounded; it ends at EOF once Xvfb dies.
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            let read = BufReader::new(File::from(read_end)).read_line(&mut line);
            let _ = tx.send(read.map(|_| line));
        });
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(line)) if line.trim().parse::<u32>().is_ok() => Xvfb {
                display: format!(":{}", line.trim()),
                child,
            },
            outcome => {
                let (status, _) = stop_child(&mut child, libc::SIGKILL, Duration::ZERO);
                panic!("Xvfb did not report a display number ({outcome:?}); Xvfb: {status}");
            }
        }
    }

    /// The display name for `DISPLAY`, e.g. `:1`.
    pub fn display(&self) -> &str {
        &self.display
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        stop_child(&mut self.child, libc::SIGTERM, Duration::from_secs(3));
    }
}

/// A pipe whose both ends are close-on-exec, as `(read, write)`.
fn cloexec_pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid array of two c_ints for pipe2 to fill.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2 failed: {}", std::io::Error::last_os_error());
    // SAFETY: pipe2 succeeded, so both descriptors are open and owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}
