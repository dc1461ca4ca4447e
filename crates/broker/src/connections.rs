//! Connection hygiene: how long a client may take to send a request's head, how long a kept-alive
//! connection may sit idle, how long a request may take as a whole, and how many connections
//! the broker keeps open at once (below the process's file-descriptor limit, so that Redis, the
//! vendor calls and the log always find a descriptor).
//!
//! The `[http]` section of the config; every key is optional.

use crate::config::{ConfigError, Limits};
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A request's head (request line and headers) must be complete within this long of the broker
/// starting to wait for it: on a new connection, and on a kept-alive one after its last answer.
/// Ten seconds is ample for any client on any network, and short enough that a client holding
/// connections with half a request (slowloris) does not keep them for long.
const HEADER_READ_TIMEOUT_SECONDS: u64 = 10;
/// A kept-alive connection is closed when this long passes after its last answer without a new
/// request. hyper counts the wait for the next request against the header-read timeout too, so
/// this is at most that. Short: the plugin's requests come 20 s apart (heartbeats), so a kept
/// connection mostly holds a descriptor for nothing. Reverse proxies and load balancers that
/// reuse their connections to the broker must keep their own upstream idle timeout shorter
/// than this, so that they never send a request on a connection the broker is closing.
const IDLE_TIMEOUT_SECONDS: u64 = 5;
/// A request is answered within this long or refused with 503 `unavailable`. A go-live may wait
/// in the broker's queue for its vendor slot: up to `queue_limit / rate` (1000 / 40 = 25 s at
/// the defaults, 27 s with the 8 % margin), then the vendor call itself and the CDN forwards'
/// calls. The plugin waits 30 s for `/v1/golive`: the request timeout must never cut a go-live
/// before the plugin gives up on it, so it is twice that.
const REQUEST_TIMEOUT_SECONDS: u64 = 60;
/// File descriptors kept free below the soft RLIMIT_NOFILE for everything but client
/// connections: Redis (the connection manager and the watch), the vendor calls (reqwest's pools,
/// one per blocking thread at worst), the log, the config and certificate files, and the
/// runtime's own. At least this many, or an eighth of the limit when that is more.
const FD_HEADROOM: u64 = 128;
/// The fewest connections the cap may allow.
const MIN_CONNECTIONS: u64 = 16;
/// The cap when the file-descriptor limit cannot be read (Windows has no such limit).
const FALLBACK_MAX_CONNECTIONS: u64 = 8192;

/// A `max_connections` the file-descriptor limit cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "[http] max_connections = {cap} does not fit the file-descriptor limit ({soft}, of which \
     {headroom} stay free for Redis, vendor calls and files): raise the limit (systemd: \
     LimitNOFILE=) or lower max_connections to at most {room}"
)]
pub struct CapError {
    /// `max_connections`.
    pub cap: u64,
    /// The soft RLIMIT_NOFILE.
    pub soft: u64,
    /// Descriptors kept free.
    pub headroom: u64,
    /// The largest cap that fits.
    pub room: u64,
}

/// `[http]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    header_read_timeout_seconds: Option<u64>,
    idle_timeout_seconds: Option<u64>,
    request_timeout_seconds: Option<u64>,
    max_connections: Option<u64>,
}

/// `[http]`, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpSettings {
    /// A request's head must arrive within this long.
    pub header_read_timeout: Duration,
    /// A kept-alive connection without a request is closed after this long.
    pub idle_timeout: Duration,
    /// A request is answered (or refused with 503) within this long.
    pub request_timeout: Duration,
    /// The most connections open at once; `None`: from the file-descriptor limit at start.
    pub max_connections: Option<u64>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            header_read_timeout: Duration::from_secs(HEADER_READ_TIMEOUT_SECONDS),
            idle_timeout: Duration::from_secs(IDLE_TIMEOUT_SECONDS),
            request_timeout: Duration::from_secs(REQUEST_TIMEOUT_SECONDS),
            max_connections: None,
        }
    }
}

impl HttpSettings {
    /// Validates `[http]`; `limits` tell how long a go-live may wait in the vendor queue.
    pub fn from_raw(raw: &RawHttp, limits: &Limits) -> Result<Self, ConfigError> {
        let seconds = |value: Option<u64>, default: u64, key: &str| match value {
            Some(0) => Err(ConfigError(format!("[http] {key}: must be positive"))),
            Some(n) => Ok(Duration::from_secs(n)),
            None => Ok(Duration::from_secs(default)),
        };
        let settings = HttpSettings {
            header_read_timeout: seconds(
                raw.header_read_timeout_seconds,
                HEADER_READ_TIMEOUT_SECONDS,
                "header_read_timeout_seconds",
            )?,
            idle_timeout: seconds(
                raw.idle_timeout_seconds,
                IDLE_TIMEOUT_SECONDS,
                "idle_timeout_seconds",
            )?,
            request_timeout: seconds(
                raw.request_timeout_seconds,
                REQUEST_TIMEOUT_SECONDS,
                "request_timeout_seconds",
            )?,
            max_connections: raw.max_connections,
        };
        if settings.idle_timeout > settings.header_read_timeout {
            return Err(ConfigError(format!(
                "[http] idle_timeout_seconds: at most header_read_timeout_seconds ({} s), which \
                 also bounds a kept-alive connection's wait for its next request",
                settings.header_read_timeout.as_secs()
            )));
        }
        if settings.max_connections == Some(0) {
            return Err(ConfigError(
                "[http] max_connections: must be positive".into(),
            ));
        }
        let queue = longest_queue_wait(limits);
        if settings.request_timeout <= queue {
            return Err(ConfigError(format!(
                "[http] request_timeout_seconds: {} s would cut go-lives waiting in the vendor queue \
                 (up to {} s with [limits] queue_limit and the slowest rate): make it longer or lower queue_limit",
                settings.request_timeout.as_secs(),
                queue.as_secs_f64().ceil()
            )));
        }
        Ok(settings)
    }

    /// The connection cap: `max_connections`, else the soft RLIMIT_NOFILE less the headroom.
    /// An explicit cap the limit cannot hold is refused with what to change.
    pub fn connection_cap(&self) -> Result<u64, CapError> {
        let soft = soft_fd_limit();
        let room = soft.map(|soft| soft.saturating_sub(headroom(soft)).max(MIN_CONNECTIONS));
        match (self.max_connections, soft, room) {
            (Some(cap), Some(soft), Some(room)) if cap > room => Err(CapError {
                cap,
                soft,
                headroom: headroom(soft),
                room,
            }),
            (Some(cap), _, _) => Ok(cap),
            (None, _, Some(room)) => Ok(room),
            (None, _, None) => Ok(FALLBACK_MAX_CONNECTIONS),
        }
    }
}

/// The longest a go-live may wait for its vendor slot: `queue_limit` requests ahead of it at the
/// slower of the two go-live limits (ZEGOCLOUD's dispatch, Alibaba Cloud's account), spaced
/// `margin_percent` wider. (The CDN rule limit serves a session's few forwards, not a crowd.)
fn longest_queue_wait(limits: &Limits) -> Duration {
    let rate = limits
        .zego_dispatch_per_second
        .min(limits.aliyun_per_second)
        .max(1);
    Duration::from_secs_f64(
        f64::from(limits.queue_limit) / f64::from(rate)
            * (1.0 + f64::from(limits.margin_percent) / 100.0),
    )
}

fn headroom(soft: u64) -> u64 {
    FD_HEADROOM.max(soft / 8)
}

/// The soft RLIMIT_NOFILE, when the system has one.
pub fn soft_fd_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rlimit::getrlimit(rlimit::Resource::NOFILE)
            .ok()
            .map(|(soft, _)| soft)
            .filter(|soft| *soft != rlimit::INFINITY)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Whether `e` says the process (EMFILE) or the system (ENFILE) is out of file descriptors.
pub fn out_of_descriptors(e: &std::io::Error) -> bool {
    // EMFILE and ENFILE are 24 and 23 on Linux, the BSDs and macOS.
    cfg!(unix) && matches!(e.raw_os_error(), Some(23 | 24))
}

/// A log line that is written at most once per period, with how many were left out meanwhile.
#[derive(Debug)]
pub struct RateLimitedLog {
    period: Duration,
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl RateLimitedLog {
    /// At most one line per `period`.
    pub fn new(period: Duration) -> Self {
        RateLimitedLog {
            period,
            last: Mutex::new(None),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Calls `write` with the number of lines left out since the last one, unless a line was
    /// written less than the period ago.
    pub fn log(&self, write: impl FnOnce(u64)) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < self.period) {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        *last = Some(now);
        write(self.suppressed.swap(0, Ordering::Relaxed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            zego_dispatch_per_second: 40,
            zego_cdn_per_second: 10,
            aliyun_per_second: 100,
            sub_golives_per_minute: 12,
            sub_burst: 6,
            queue_limit: 1000,
            margin_percent: 8,
        }
    }

    #[test]
    fn the_defaults_outlast_the_vendor_queue_and_the_plugin() {
        let s = HttpSettings::from_raw(&RawHttp::default(), &limits()).unwrap();
        assert_eq!(s, HttpSettings::default());
        assert!(s.request_timeout > longest_queue_wait(&limits()));
        assert!(
            s.request_timeout > Duration::from_secs(30),
            "the plugin waits 30 s"
        );
    }

    #[test]
    fn a_request_timeout_shorter_than_the_queue_is_refused() {
        let raw = RawHttp {
            request_timeout_seconds: Some(20),
            ..RawHttp::default()
        };
        let e = HttpSettings::from_raw(&raw, &limits()).unwrap_err().0;
        assert!(
            e.contains("request_timeout_seconds") && e.contains("queue_limit"),
            "{e}"
        );
        let zero = RawHttp {
            header_read_timeout_seconds: Some(0),
            ..RawHttp::default()
        };
        assert!(HttpSettings::from_raw(&zero, &limits()).is_err());
    }

    #[test]
    fn the_cap_stays_below_the_descriptor_limit() {
        assert_eq!(headroom(1024), 128);
        assert_eq!(headroom(65536), 8192);
        if let Some(soft) = soft_fd_limit() {
            let cap = HttpSettings::default().connection_cap().unwrap();
            assert!(cap < soft || cap == MIN_CONNECTIONS, "{cap} of {soft}");
            let too_many = HttpSettings {
                max_connections: Some(soft),
                ..HttpSettings::default()
            };
            let e = too_many.connection_cap().unwrap_err().to_string();
            assert!(e.contains("LimitNOFILE"), "{e}");
        }
    }

    #[test]
    fn descriptor_exhaustion_is_told_apart() {
        let emfile = std::io::Error::from_raw_os_error(24);
        let enfile = std::io::Error::from_raw_os_error(23);
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(
            (
                out_of_descriptors(&emfile),
                out_of_descriptors(&enfile),
                out_of_descriptors(&reset)
            ),
            (cfg!(unix), cfg!(unix), false)
        );
    }

    #[test]
    fn the_config_takes_http_and_admin_listen() {
        use crate::config::BrokerConfig;
        let base = r#"
listen = "127.0.0.1:8080"
[tokens]
hs256_key = "0123456789abcdef0123456789abcdef"
audience = "obs"
[zego]
app_id = 1234567
server_secret = "0123456789abcdef0123456789abcdef"
"#;
        let parse = |extra_top: &str, http: &str| {
            BrokerConfig::parse(
                &format!("{extra_top}\n{base}\n[http]\n{http}\n"),
                std::path::Path::new("/"),
            )
        };
        let c = parse(
            r#"admin_listen = "127.0.0.1:9090""#,
            "header_read_timeout_seconds = 20\nidle_timeout_seconds = 15\nmax_connections = 100",
        )
        .unwrap();
        assert_eq!(c.admin_listen, Some("127.0.0.1:9090".parse().unwrap()));
        assert_eq!(c.http.header_read_timeout, Duration::from_secs(20));
        assert_eq!(c.http.idle_timeout, Duration::from_secs(15));
        assert_eq!(c.http.max_connections, Some(100));
        let problem = |top: &str, http: &str| parse(top, http).unwrap_err().0;
        assert!(problem(r#"admin_listen = "nowhere""#, "").contains("admin_listen"));
        assert!(problem(r#"admin_listen = "127.0.0.1:8080""#, "").contains("differ"));
        assert!(problem("", "idle_timeout_seconds = 11").contains("idle_timeout_seconds"));
        assert!(problem("", "max_connections = 0").contains("max_connections"));
        assert!(problem("", "keepalive = 1").contains("keepalive"));
    }

    #[test]
    fn a_rate_limited_line_counts_what_it_left_out() {
        let log = RateLimitedLog::new(Duration::from_secs(60));
        let mut written = Vec::new();
        for _ in 0..3 {
            log.log(|left_out| written.push(left_out));
        }
        assert_eq!(written, [0]);
        assert_eq!(log.suppressed.load(Ordering::Relaxed), 2);
    }
}
