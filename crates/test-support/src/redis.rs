//! A real Redis (Debian's `redis-server`) on a free loopback port, with its own temp dir, for
//! the broker's shared state: persistent as the broker requires (an append-only file, fsync'd
//! every second, Redis's own default for it), or without persistence for the broker's refusal
//! of such a Redis.
//!
//! ```ignore
//! let mut redis = RedisServer::start();
//! let broker = Broker::start(BrokerOptions::new().zego(&sim.base_url()).redis(&redis.url()));
//! redis.kill(); // SIGKILL: the broker falls back to its local limiter
//! redis.restart(); // the same port again, with what its append-only file holds
//! ```

use crate::util::{die_with_parent, free_port, stop_child, tail_of_file, wait_until, TempDir};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long `redis-server` gets to answer PING after it is started.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `redis-server`; killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: TempDir,
    persistent: bool,
}

impl RedisServer {
    /// Starts `redis-server` with an append-only file on a free port of 127.0.0.1 and waits
    /// until it answers PING. Panics when it cannot.
    #[must_use]
    pub fn start() -> RedisServer {
        Self::start_with(true)
    }

    /// [`start`](Self::start) without any persistence (no AOF, no RDB snapshots).
    #[must_use]
    pub fn start_volatile() -> RedisServer {
        Self::start_with(false)
    }

    fn start_with(persistent: bool) -> RedisServer {
        let mut server = RedisServer {
            child: None,
            port: free_port(),
            dir: TempDir::new("golive-redis"),
            persistent,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let log = self.dir.path().join("redis.log");
        let mut command = Command::new("redis-server");
        command
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--save", "", "--daemonize", "no", "--appendonly"])
            .arg(if self.persistent { "yes" } else { "no" })
            .args(["--appendfsync", "everysec"])
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        die_with_parent(&mut command);
        let child = command.spawn().unwrap_or_else(|e| {
            panic!("cannot start redis-server (apt-get install redis-server): {e}")
        });
        self.child = Some(child);
        let port = self.port;
        if wait_until(START_TIMEOUT, || ping(port).then_some(())).is_none() {
            panic!(
                "redis-server on port {port} did not answer PING within {START_TIMEOUT:?}; its log:\n{}",
                tail_of_file(&log, 30)
            );
        }
    }

    /// `redis://127.0.0.1:<port>/`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The port it listens on (kept across [`restart`](Self::restart)).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether it answers PING now.
    #[must_use]
    pub fn is_up(&self) -> bool {
        ping(self.port)
    }

    /// SIGKILLs it (as a crash would), losing everything it held.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port: with what its append-only file holds, or empty
    /// without persistence.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child, libc::SIGTERM, Duration::from_secs(3));
        }
    }
}

/// Whether a Redis on `port` answers `PING` with `+PONG`.
fn ping(port: u16) -> bool {
    let Ok(mut stream) =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200))
    else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut answer = [0u8; 7];
    stream.read_exact(&mut answer).is_ok() && &answer == b"+PONG\r\n"
}
