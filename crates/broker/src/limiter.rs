//! One limiter per vendor limit for the whole platform, and the per-streamer go-live limit.
//!
//! With Redis, every instance takes its slots from one GCRA per limit in a Lua script on
//! Redis's clock, so the platform's requests leave at exactly the vendor's rate whichever
//! instance they reach; a request takes a slot in the future and sleeps until it instead of
//! bouncing. Without Redis the same algorithm runs in memory ([`crate::gcra`]).
//!
//! When Redis goes away, each instance falls back to its own GCRA at its share of the rate
//! ([`RedisLink::fallback_share`]), starting a guard time after the last shared slot it saw, so
//! slots other instances took just before cannot pile up with the local ones. When Redis
//! returns, the script first moves the shared TAT past this instance's local slots, so no slot
//! is handed out twice.

use crate::gcra::{Admission, Gcra, Rate};
use crate::redis_link::{RedisLink, PREFIX};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long after the last shared slot an instance waits before its fallback slots begin.
const FALLBACK_GUARD: Duration = Duration::from_secs(1);
/// A slot reached later than this (a slow answer from Redis, a busy machine) is given up and
/// another taken: sent late, the request would arrive next to the one of the following slot,
/// and the vendor counts arrivals.
pub const LATE_TOLERANCE: Duration = Duration::from_millis(10);

/// GCRA on Redis's clock. KEYS[1]: the limit's TAT (µs). ARGV: interval, tolerance, and a
/// floor for the TAT (µs since the epoch: the caller's own local slots), all integers.
/// Returns `{1, wait, slot}` for a slot `wait` µs ahead (at `slot` µs since the epoch on
/// Redis's clock), `{0, retry_after}` for a refusal.
const GCRA_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
tat = math.max(tat, now, tonumber(ARGV[3]))
local wait = tat - now
local tolerance = tonumber(ARGV[2])
if wait > tolerance then
  return {0, wait - tolerance}
end
local next_tat = tat + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.floor((next_tat - now) / 1000) + 1000)
return {1, wait, tat}
";

/// What the limiter is running on, as `/healthz` and `/metrics` report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One limiter in Redis for every instance.
    Shared,
    /// Redis is configured but away: this instance's share of each rate, in memory.
    LocalFallback,
    /// No Redis configured: the whole rate, in memory.
    Local,
}

impl Mode {
    /// The name `/healthz` shows.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Shared => "shared",
            Mode::LocalFallback => "local fallback",
            Mode::Local => "local",
        }
    }
}

/// The limiter of one broker instance.
#[derive(Debug)]
pub struct Limiter {
    link: Option<Arc<RedisLink>>,
    script: redis::Script,
    local: Mutex<Gcra>,
    /// The end of the last shared slot seen per key, where a fallback's slots may begin.
    last_shared: Mutex<HashMap<String, Instant>>,
}

impl Limiter {
    /// A limiter on `link`, or in memory only without one.
    pub fn new(link: Option<Arc<RedisLink>>) -> Self {
        Limiter {
            link,
            script: redis::Script::new(GCRA_SCRIPT),
            local: Mutex::default(),
            last_shared: Mutex::default(),
        }
    }

    /// What the limiter runs on now.
    pub fn mode(&self) -> Mode {
        match &self.link {
            None => Mode::Local,
            Some(link) if link.is_up() => Mode::Shared,
            Some(_) => Mode::LocalFallback,
        }
    }

    /// Waits for a slot of `key` at `rate` (the whole platform's rate): `Ok` with the number
    /// of slots missed on the way (reached too late, see [`LATE_TOLERANCE`]), or the time to
    /// wait when the queue is full.
    pub async fn wait_for_slot(&self, key: &str, rate: Rate) -> Result<u32, Duration> {
        let mut missed = 0;
        loop {
            let slot = self.take_at(key, rate).await?;
            tokio::time::sleep_until(slot.into()).await;
            if Instant::now().saturating_duration_since(slot) <= LATE_TOLERANCE {
                return Ok(missed);
            }
            missed += 1;
        }
    }

    /// Takes a slot of `key` at `rate` without waiting for it (a burst limit: the caller goes
    /// on at once when it has one).
    pub async fn take(&self, key: &str, rate: Rate) -> Admission {
        match self.take_at(key, rate).await {
            Ok(slot) => Admission::Slot {
                wait: slot.saturating_duration_since(Instant::now()),
            },
            Err(retry_after) => Admission::Refused { retry_after },
        }
    }

    /// The instant of the next slot of `key`, or the time to wait when there is none within
    /// the tolerance.
    async fn take_at(&self, key: &str, rate: Rate) -> Result<Instant, Duration> {
        let admission = match &self.link {
            Some(link) => match self.take_shared(link, key, rate).await {
                Some(taken) => return taken,
                None => self.take_fallback(key, rate.share(link.fallback_share())),
            },
            None => self.local().take(key, rate, Instant::now()),
        };
        match admission {
            Admission::Slot { wait } => Ok(Instant::now() + wait),
            Admission::Refused { retry_after } => Err(retry_after),
        }
    }

    async fn take_shared(
        &self,
        link: &RedisLink,
        key: &str,
        rate: Rate,
    ) -> Option<Result<Instant, Duration>> {
        let offset = link.clock_offset_micros();
        let floor = {
            let now = Instant::now();
            self.local().next_slot(key, now).map_or(0, |slot| {
                redis_micros(SystemTime::now() + (slot - now), offset)
            })
        };
        let redis_key = format!("{PREFIX}:gcra:{key}");
        let answer: Vec<i64> = link
            .run("limiter", |mut conn| async move {
                self.script
                    .key(redis_key)
                    .arg(rate.interval.as_micros() as u64)
                    .arg(rate.tolerance.as_micros() as u64)
                    .arg(floor)
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        match answer.as_slice() {
            [1, _, slot] => {
                // The slot on this host's clock, as an instant (in the past when the answer
                // came late).
                let local = slot - offset;
                let (now, now_us) = (Instant::now(), unix_micros(SystemTime::now()) as i64);
                let at = if local >= now_us {
                    now + Duration::from_micros((local - now_us) as u64)
                } else {
                    now.checked_sub(Duration::from_micros((now_us - local) as u64))
                        .unwrap_or(now)
                };
                let end = at + rate.interval;
                let mut last = self.last_shared.lock().unwrap_or_else(|e| e.into_inner());
                let seen = last.entry(key.to_string()).or_insert(end);
                *seen = (*seen).max(end);
                Some(Ok(at))
            }
            [0, retry_after, ..] => Some(Err(Duration::from_micros(*retry_after as u64))),
            _ => None,
        }
    }

    fn take_fallback(&self, key: &str, rate: Rate) -> Admission {
        let shared_end = self
            .last_shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
        let mut local = self.local();
        if let Some(end) = shared_end {
            local.hold_until(key, end + FALLBACK_GUARD);
        }
        local.take(key, rate, Instant::now())
    }

    fn local(&self) -> std::sync::MutexGuard<'_, Gcra> {
        self.local.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn unix_micros(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// `t` on Redis's clock, `offset` µs ahead of this host's.
fn redis_micros(t: SystemTime, offset: i64) -> u64 {
    (unix_micros(t) as i64 + offset).max(0) as u64
}
