//! The broker's link to Redis, where every instance keeps what they share: the limiter's slots,
//! revoked token ids and the sessions with their leases.
//!
//! A watch task pings Redis every second, registers this instance and counts the instances seen
//! in the last few seconds (the fallback limiter takes its share of a rate from that). Any
//! command that fails or takes longer than [`COMMAND_TIMEOUT`] marks the link down at once, so
//! requests go to the local fallback without waiting; the watch task brings it back up.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest a request waits for Redis before it uses the local fallback.
pub const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);
/// How often the watch task checks Redis.
const WATCH_INTERVAL: Duration = Duration::from_secs(1);
/// An instance that has not checked in for this long is no longer counted.
const INSTANCE_TTL_MS: u64 = 5_000;

/// Clock samples kept; the one with the shortest round trip gives the offset.
const CLOCK_SAMPLES: usize = 10;

/// The key prefix of everything the broker keeps in Redis.
pub const PREFIX: &str = "rtc-golive";

/// A link to Redis that knows whether it is up.
pub struct RedisLink {
    client: redis::Client,
    conn: RwLock<Option<ConnectionManager>>,
    up: AtomicBool,
    instances: AtomicU32,
    instance_id: String,
    /// Redis's clock minus this host's, in µs (see [`clock_offset_micros`](Self::clock_offset_micros)).
    clock_offset_us: AtomicI64,
    clock_samples: Mutex<VecDeque<(u64, i64)>>,
}

impl std::fmt::Debug for RedisLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLink")
            .field("up", &self.is_up())
            .field("instances", &self.instances_seen())
            .finish_non_exhaustive()
    }
}

impl RedisLink {
    /// A link to `url` (checked by the config), down until the watch task connects.
    pub fn new(url: &str, instance_id: String) -> redis::RedisResult<Arc<Self>> {
        Ok(Arc::new(RedisLink {
            client: redis::Client::open(url)?,
            conn: RwLock::new(None),
            up: AtomicBool::new(false),
            instances: AtomicU32::new(1),
            instance_id,
            clock_offset_us: AtomicI64::new(0),
            clock_samples: Mutex::default(),
        }))
    }

    /// Whether the last command or check succeeded.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// The broker instances that checked in recently (at least 1: this one).
    pub fn instances_seen(&self) -> u32 {
        self.instances.load(Ordering::Relaxed).max(1)
    }

    /// Redis's clock minus this host's, in µs: the limiter's slots are on Redis's clock. Taken
    /// from the `TIME` sample with the shortest round trip of the last ten (one a second), so
    /// its error is at most half that round trip.
    pub fn clock_offset_micros(&self) -> i64 {
        self.clock_offset_us.load(Ordering::Relaxed)
    }

    /// Runs `command` on the connection when the link is up; `None` (and the link marked
    /// down) when it is down, fails or is slow.
    pub async fn run<T, F, Fut>(&self, what: &str, command: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if !self.is_up() {
            return None;
        }
        let conn = self
            .conn
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        match tokio::time::timeout(COMMAND_TIMEOUT, command(conn)).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                self.mark_down(&format!("{what}: {e}"));
                None
            }
            Err(_) => {
                self.mark_down(&format!("{what}: no answer within {COMMAND_TIMEOUT:?}"));
                None
            }
        }
    }

    fn mark_down(&self, why: &str) {
        if self.up.swap(false, Ordering::AcqRel) {
            log::warn!(
                "redis: unreachable ({why}); limiter in local fallback at 1/{} of each rate, \
                 sessions and revocations kept locally until it returns",
                self.fallback_share()
            );
        }
    }

    /// The share of a vendor rate this instance takes while Redis is away: the instances last
    /// seen, and at least two, since an instance that started meanwhile cannot be seen.
    pub fn fallback_share(&self) -> u32 {
        self.instances_seen().max(2)
    }

    /// Checks Redis every second until the process ends.
    pub fn spawn_watch(self: &Arc<Self>) {
        let link = self.clone();
        tokio::spawn(async move {
            loop {
                link.check().await;
                tokio::time::sleep(WATCH_INTERVAL).await;
            }
        });
    }

    async fn check(&self) {
        let existing = self.conn.read().unwrap_or_else(|e| e.into_inner()).clone();
        let conn = match existing {
            Some(conn) => conn,
            None => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(COMMAND_TIMEOUT)
                    .set_response_timeout(COMMAND_TIMEOUT)
                    .set_number_of_retries(1);
                let made = tokio::time::timeout(
                    COMMAND_TIMEOUT * 4,
                    ConnectionManager::new_with_config(self.client.clone(), config),
                )
                .await;
                match made {
                    Ok(Ok(conn)) => {
                        *self.conn.write().unwrap_or_else(|e| e.into_inner()) = Some(conn.clone());
                        conn
                    }
                    Ok(Err(e)) => return self.mark_down(&e.to_string()),
                    Err(_) => return self.mark_down("connect timed out"),
                }
            }
        };
        self.sample_clock(conn.clone()).await;
        let now_ms = unix_millis();
        let key = format!("{PREFIX}:instances");
        let mut c = conn;
        let checked = tokio::time::timeout(COMMAND_TIMEOUT, async {
            redis::pipe()
                .zadd(&key, &self.instance_id, now_ms)
                .ignore()
                .zrembyscore(&key, 0, now_ms.saturating_sub(INSTANCE_TTL_MS))
                .ignore()
                .zcard(&key)
                .query_async::<(u32,)>(&mut c)
                .await
        })
        .await;
        match checked {
            Ok(Ok((count,))) => {
                self.instances.store(count, Ordering::Relaxed);
                if !self.up.swap(true, Ordering::AcqRel) {
                    log::info!("redis: up; limiter shared by {count} instance(s)");
                }
            }
            Ok(Err(e)) => self.mark_down(&e.to_string()),
            Err(_) => self.mark_down("no answer to the check"),
        }
    }
}

impl RedisLink {
    async fn sample_clock(&self, mut conn: ConnectionManager) {
        let before = unix_micros();
        let time = tokio::time::timeout(
            COMMAND_TIMEOUT,
            redis::cmd("TIME").query_async::<(u64, u64)>(&mut conn),
        )
        .await;
        let after = unix_micros();
        let Ok(Ok((secs, micros))) = time else {
            return;
        };
        let redis_now = (secs * 1_000_000 + micros) as i64;
        let rtt = after.saturating_sub(before);
        let offset = redis_now - (before + rtt / 2) as i64;
        let mut samples = self.clock_samples.lock().unwrap_or_else(|e| e.into_inner());
        samples.push_back((rtt, offset));
        if samples.len() > CLOCK_SAMPLES {
            samples.pop_front();
        }
        if let Some(&(_, best)) = samples.iter().min_by_key(|(rtt, _)| *rtt) {
            self.clock_offset_us.store(best, Ordering::Relaxed);
        }
    }
}

/// Microseconds since the Unix epoch.
pub fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Milliseconds since the Unix epoch.
pub fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// What a Redis server keeps on disk, as far as `CONFIG GET` tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Persistence {
    /// Append-only file and/or RDB snapshots: what it says.
    Persistent(String),
    /// Nothing: a restart forgets everything.
    Volatile,
    /// It could not be asked (unreachable, or `CONFIG` is disabled as on some managed
    /// services): why.
    Unknown(String),
}

/// Asks the Redis at `url` whether it persists (AOF or RDB). Errors never show the URL, which
/// may carry a password.
pub async fn persistence(url: &str) -> Persistence {
    let ask = async {
        let client = redis::Client::open(url)?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let aof: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("appendonly")
            .query_async(&mut conn)
            .await?;
        let save: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("save")
            .query_async(&mut conn)
            .await?;
        Ok::<_, redis::RedisError>((aof.get(1).cloned(), save.get(1).cloned()))
    };
    match tokio::time::timeout(Duration::from_secs(3), ask).await {
        Err(_) => Persistence::Unknown("Redis did not answer within 3 s".into()),
        Ok(Err(e)) if e.is_io_error() || e.is_connection_refusal() => {
            Persistence::Unknown("Redis cannot be reached".into())
        }
        Ok(Err(e)) => Persistence::Unknown(format!("Redis refused: {:?}", e.kind())),
        Ok(Ok((aof, save))) => {
            let aof = aof.as_deref() == Some("yes");
            let save = save.filter(|s| !s.trim().is_empty());
            match (aof, save) {
                (false, None) => Persistence::Volatile,
                (true, None) => Persistence::Persistent("append-only file".into()),
                (false, Some(save)) => {
                    Persistence::Persistent(format!("RDB snapshots (save {save})"))
                }
                (true, Some(save)) => Persistence::Persistent(format!(
                    "append-only file and RDB snapshots (save {save})"
                )),
            }
        }
    }
}
