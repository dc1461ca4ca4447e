//! Live sessions and their leases: what the broker holds for a streamer who is live (the CDN
//! forwards it created), and until when.
//!
//! With Redis, a session is a JSON value under its key and its lease deadline a score in one
//! sorted set, so any instance can renew it, close it or find it lapsed. Removing the id from
//! the sorted set is the claim: only the instance whose `ZREM` removed it cleans the session up,
//! so a session closed and swept at once is cleaned up once. Without Redis (or while it is
//! away) sessions live in the broker's state file ([`LocalStore`]), written before the answer:
//! a restart, even a kill -9, loses none.
//!
//! A stream has at most one open session, and opening one is an atomic claim of the stream (a
//! unique index in the state file, `SET NX` on the stream's index in Redis): a second Start
//! Streaming for a stream already live (a reconnect, a failover, the same token on another
//! instance) joins the open session instead of creating its forwards again, so the lapse of an
//! abandoned duplicate can never delete the forwards of the stream still live. A stopped
//! session is remembered for a day, so that a repeated stop is told so.

use crate::local_store::{self, LocalStore, StoreError, STOPPED_MEMORY};
use crate::redis_link::{unix_millis, RedisLink, PREFIX};
use redis::AsyncCommands;
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// Sessions claimed per sweep at most; the rest wait for the next.
const SWEEP_BATCH: isize = 50;
/// How long a session's value outlives its lease in Redis, so that a sweep that claims it late
/// still finds what to delete (the sweep removes it).
const KEEP_AFTER_LEASE: Duration = Duration::from_secs(24 * 60 * 60);

/// Renews a lease unless it lapsed. KEYS[1]: the leases, KEYS[2]: the session, KEYS[3]: its
/// stream's index. ARGV: id, now, new deadline (ms), seconds to keep the values.
const RENEW_SCRIPT: &str = r"
local deadline = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not deadline or tonumber(deadline) < tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[4])
if redis.call('GET', KEYS[3]) == ARGV[1] then
  redis.call('EXPIRE', KEYS[3], ARGV[4])
end
return 1
";

/// Removes a session and its lease; returns 1 for the caller that removed the lease (the
/// claim). A stop remembers who stopped it. KEYS[1]: the leases, KEYS[2]: the session, KEYS[3]:
/// its stream's index, KEYS[4]: its stop record. ARGV: id, the stopping streamer ("" for a
/// sweep), seconds to remember the stop.
const CLAIM_SCRIPT: &str = r"
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
if redis.call('GET', KEYS[3]) == ARGV[1] then
  redis.call('DEL', KEYS[3])
end
if removed == 1 and ARGV[2] ~= '' then
  redis.call('SET', KEYS[4], ARGV[2], 'EX', ARGV[3])
end
return removed
";

/// Opens a session unless its stream has an open one whose lease runs: the claim of the stream.
/// Returns nothing when it opened, else the open session's id. KEYS[1]: the leases, KEYS[2]:
/// the session, KEYS[3]: its stream's index. ARGV: id, the session's JSON, its deadline, now,
/// seconds to keep the values.
const OPEN_SCRIPT: &str = r"
local other = redis.call('GET', KEYS[3])
if other and other ~= ARGV[1] then
  local deadline = redis.call('ZSCORE', KEYS[1], other)
  if deadline and tonumber(deadline) >= tonumber(ARGV[4]) then
    return other
  end
end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[5])
redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[5])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return false
";

/// One streamer's live session.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The session id the plugin heartbeats with.
    pub id: String,
    /// The streamer: only their tokens may renew or stop it.
    pub sub: String,
    /// The token that opened it (for the logs).
    pub jti: String,
    /// What the session is for: `zego:<AppId>:<StreamId>` or `aliyun:<seat>`.
    pub stream: String,
    /// The ZEGOCLOUD stream whose forwards the session holds.
    pub stream_id: Option<String>,
    /// The CDN forwards created for it, exactly as created (usually embedding a CDN key).
    pub cdn_urls: Vec<String>,
    /// Closed, its forwards still to delete (a clean-up to try again): never joined.
    #[serde(default)]
    pub closing: bool,
    /// What became of each forward's creation, in `cdn_urls` order (shorter while they are
    /// being created).
    #[serde(default)]
    pub outcomes: Vec<Outcome>,
    /// The token requires every forward: a refused one ends the stream (the plugin stops it).
    #[serde(default)]
    pub cdn_required: bool,
}

/// How a forward's creation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The vendor created it.
    Created,
    /// The vendor refused it; the warning for the streamer.
    Failed(String),
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("sub", &self.sub)
            .field("jti", &self.jti)
            .field("stream", &self.stream)
            .field("cdn_urls", &self.cdn_urls.len())
            .finish()
    }
}

/// Why a heartbeat or stop was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenewError {
    /// No such session, or its lease lapsed.
    Unknown,
    /// The session belongs to another streamer.
    NotYours,
    /// Where the session is kept cannot be read now (Redis is away, or the state file failed):
    /// nothing can be said of it, and nothing is claimed.
    Unavailable,
}

impl From<StoreError> for RenewError {
    fn from(e: StoreError) -> Self {
        log::error!("{e}");
        RenewError::Unavailable
    }
}

/// What opening a session did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// The session holds its stream now.
    New,
    /// The stream already has an open session (with a running lease): this one.
    Existing(Session),
}

/// What a stop found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    /// The session, now this caller's to clean up.
    Now(Session),
    /// The streamer's own session was stopped before (within a day).
    Already,
    /// Another caller claimed it at the same moment (a sweep, a second stop): theirs to clean.
    Elsewhere,
}

/// The sessions, with their leases.
#[derive(Debug)]
pub struct Sessions {
    link: Option<Arc<RedisLink>>,
    renew: redis::Script,
    claim: redis::Script,
    open: redis::Script,
    local: LocalStore,
    lease: Duration,
    /// The sessions this instance opened or renewed, and when it last did: those within a
    /// lease are this instance's live sessions (`/metrics`).
    served: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

fn session_key(id: &str) -> String {
    format!("{PREFIX}:session:{id}")
}

fn stream_key(stream: &str) -> String {
    format!("{PREFIX}:stream-session:{stream}")
}

fn leases_key() -> String {
    format!("{PREFIX}:leases")
}

fn stopped_key(id: &str) -> String {
    format!("{PREFIX}:session-stopped:{id}")
}

impl Sessions {
    /// Sessions with `lease`, shared through `link` or kept in `local`.
    pub fn new(link: Option<Arc<RedisLink>>, local: LocalStore, lease: Duration) -> Self {
        Sessions {
            link,
            renew: redis::Script::new(RENEW_SCRIPT),
            claim: redis::Script::new(CLAIM_SCRIPT),
            open: redis::Script::new(OPEN_SCRIPT),
            local,
            lease,
            served: Default::default(),
        }
    }

    fn served(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, std::time::Instant>> {
        self.served.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes that this instance keeps `id` alive now.
    fn serving(&self, id: &str) {
        self.served()
            .insert(id.to_string(), std::time::Instant::now());
    }

    /// Whether the state file answers (a read; a failing disk or a removed file fails it).
    pub fn store_answers(&self) -> bool {
        self.local
            .run_here(|c| {
                c.query_row("SELECT 1 FROM sessions LIMIT 1", [], |_| Ok(()))
                    .optional()
            })
            .map_err(|e| log::error!("health: {e}"))
            .is_ok()
    }

    /// The sessions whose go-live or heartbeat this instance answered within the last lease.
    pub fn live_here(&self) -> u64 {
        let lease = self.lease;
        let mut served = self.served();
        served.retain(|_, at| at.elapsed() <= lease);
        served.len() as u64
    }

    fn deadline(&self) -> u64 {
        unix_millis() + self.lease.as_millis() as u64
    }

    /// The lease a heartbeat buys.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    fn keep_seconds(&self) -> u64 {
        (self.lease + KEEP_AFTER_LEASE).as_secs()
    }

    /// The open session of `stream` for `sub`, renewed, when there is one: a Start Streaming
    /// for a stream already live joins it.
    pub async fn join(&self, stream: &str, sub: &str) -> Result<Option<Session>, RenewError> {
        let (key, now) = (stream.to_string(), unix_millis());
        let local = self
            .local
            .run(move |c| local_store::open_session_of(c, &key, now))
            .await?;
        let found = match local {
            Some(session) => Some(session),
            None => match &self.link {
                None => None,
                // While Redis is away a Start Streaming still goes live: its session is kept
                // here and handed over when Redis is back.
                Some(link) => {
                    let index = stream_key(stream);
                    let id: Option<String> = link
                        .run("find the stream's session", |mut conn| async move {
                            conn.get(index).await
                        })
                        .await
                        .flatten();
                    match id {
                        Some(id) => self.read(link, &id).await.unwrap_or(None),
                        None => None,
                    }
                }
            },
        };
        let Some(found) = found.filter(|s| !s.closing) else {
            return Ok(None);
        };
        if found.sub != sub {
            return Ok(None);
        }
        match self.renew(&found.id, sub).await {
            Ok(renewed) => Ok(Some(renewed)),
            Err(RenewError::Unknown) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Opens `session` with a full lease, written through before this returns, unless its
    /// stream already has an open session. Redis holds it when it is up; the state file
    /// otherwise.
    pub async fn open(&self, session: Session) -> Result<Opened, RenewError> {
        let deadline = self.deadline();
        let id_for_metrics = session.id.clone();
        if let Some(link) = &self.link {
            match self
                .open_in_redis(link, &session, deadline, "open session")
                .await
            {
                Some(None) => {
                    self.serving(&id_for_metrics);
                    return Ok(Opened::New);
                }
                Some(Some(other)) => {
                    return match self.read(link, &other).await? {
                        Some(open) => Ok(Opened::Existing(open)),
                        None => Err(RenewError::Unavailable),
                    }
                }
                // Redis is away: the state file holds it until Redis is back.
                None => {}
            }
        }
        let now = unix_millis();
        let existing = self
            .local
            .run(move |c| local_store::insert_session(c, &session, deadline, now))
            .await?;
        if existing.is_none() {
            self.serving(&id_for_metrics);
        }
        Ok(existing.map_or(Opened::New, Opened::Existing))
    }

    /// [`OPEN_SCRIPT`] for `session` with its lease `deadline`: `Some(None)` when it opened,
    /// `Some(Some(id))` when the stream's open session is `id`, `None` with Redis away.
    async fn open_in_redis(
        &self,
        link: &RedisLink,
        session: &Session,
        deadline: u64,
        what: &str,
    ) -> Option<Option<String>> {
        let json = serde_json::to_string(session).expect("a session serializes");
        let (key, index, id) = (
            session_key(&session.id),
            stream_key(&session.stream),
            session.id.clone(),
        );
        let (keep, now) = (self.keep_seconds(), unix_millis());
        link.run(what, |mut conn| async move {
            self.open
                .key(leases_key())
                .key(key)
                .key(index)
                .arg(id)
                .arg(json)
                .arg(deadline)
                .arg(now)
                .arg(keep)
                .invoke_async(&mut conn)
                .await
        })
        .await
    }

    async fn read(&self, link: &RedisLink, id: &str) -> Result<Option<Session>, RenewError> {
        let key = session_key(id);
        let stored = link
            .run("read session", |mut conn| async move {
                conn.get::<_, Option<String>>(key).await
            })
            .await
            .ok_or(RenewError::Unavailable)?;
        Ok(stored.and_then(|s| serde_json::from_str(&s).ok()))
    }

    /// Renews `id`'s lease for the streamer `sub`: the session as it stands.
    pub async fn renew(&self, id: &str, sub: &str) -> Result<Session, RenewError> {
        let key = id.to_string();
        if let Some((session, deadline)) = self
            .local
            .run(move |c| local_store::session(c, &key))
            .await?
        {
            if session.sub != sub {
                return Err(RenewError::NotYours);
            }
            if deadline < unix_millis() || session.closing {
                return Err(RenewError::Unknown);
            }
            let (key, deadline) = (id.to_string(), self.deadline());
            self.local
                .run(move |c| local_store::set_deadline(c, &key, deadline))
                .await?;
            self.serving(id);
            return Ok(session);
        }
        let Some(link) = &self.link else {
            return Err(RenewError::Unknown);
        };
        let session = self.read(link, id).await?.ok_or(RenewError::Unknown)?;
        if session.sub != sub {
            return Err(RenewError::NotYours);
        }
        let now = unix_millis();
        let deadline = now + self.lease.as_millis() as u64;
        let keep = self.keep_seconds();
        let (key, index, id) = (session_key(id), stream_key(&session.stream), id.to_string());
        let renewed: Option<i64> = link
            .run("renew lease", |mut conn| async move {
                self.renew
                    .key(leases_key())
                    .key(key)
                    .key(index)
                    .arg(id)
                    .arg(now)
                    .arg(deadline)
                    .arg(keep)
                    .invoke_async(&mut conn)
                    .await
            })
            .await;
        match renewed {
            Some(1) => {
                self.serving(&session.id);
                Ok(session)
            }
            Some(_) => Err(RenewError::Unknown),
            None => Err(RenewError::Unavailable),
        }
    }

    /// Records how the creation of the session's first forwards ended, while it is open;
    /// `false` when the session is gone (stopped, or swept).
    pub async fn record_outcomes(&self, id: &str, outcomes: Vec<Outcome>) -> bool {
        let key = id.to_string();
        let local = self
            .local
            .run(move |c| local_store::session(c, &key))
            .await
            .ok()
            .flatten();
        let stored = match (local, &self.link) {
            (Some((session, _)), _) => Some(session),
            (None, Some(link)) => self.read(link, id).await.ok().flatten(),
            (None, None) => None,
        };
        let Some(mut session) = stored.filter(|s| !s.closing) else {
            return false;
        };
        session.outcomes = outcomes;
        let key = id.to_string();
        let written = self
            .local
            .run({
                let session = session.clone();
                move |c| local_store::replace_body(c, &key, &session)
            })
            .await
            .unwrap_or(false);
        if written {
            return true;
        }
        let Some(link) = &self.link else {
            return false;
        };
        let json = serde_json::to_string(&session).expect("a session serializes");
        let key = session_key(id);
        // Only while the session exists: a stop or sweep that removed it meanwhile wins.
        let set: Option<Option<String>> = link
            .run("record forward", |mut conn| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(json)
                    .arg("XX")
                    .arg("KEEPTTL")
                    .query_async(&mut conn)
                    .await
            })
            .await;
        matches!(set, Some(Some(_)))
    }

    /// Claims `id` for closing, for its streamer `sub`: the session to clean up, or what
    /// became of it. Another streamer's session is not closed.
    pub async fn close(&self, id: &str, sub: &str) -> Result<Closed, RenewError> {
        let closed = self.close_inner(id, sub).await;
        if matches!(closed, Ok(Closed::Now(_) | Closed::Elsewhere)) {
            self.served().remove(id);
        }
        closed
    }

    async fn close_inner(&self, id: &str, sub: &str) -> Result<Closed, RenewError> {
        let key = id.to_string();
        if let Some((session, _)) = self
            .local
            .run(move |c| local_store::session(c, &key))
            .await?
        {
            if session.sub != sub {
                return Err(RenewError::NotYours);
            }
            let (key, now) = (id.to_string(), unix_millis());
            let removed = self
                .local
                .run(move |c| local_store::remove_session(c, &key, Some(now)))
                .await?;
            return Ok(removed.map_or(Closed::Elsewhere, Closed::Now));
        }
        if let Some(link) = &self.link {
            if let Some(session) = self.read(link, id).await? {
                if session.sub != sub {
                    return Err(RenewError::NotYours);
                }
                return Ok(match self.claim(link, session, sub).await? {
                    Some(session) => Closed::Now(session),
                    None => Closed::Elsewhere,
                });
            }
        }
        self.stopped(id, sub).await
    }

    /// A session that is not open: stopped before by `sub` (or another streamer), or unknown.
    async fn stopped(&self, id: &str, sub: &str) -> Result<Closed, RenewError> {
        let key = id.to_string();
        let mut by = self
            .local
            .run(move |c| local_store::stopped_by(c, &key))
            .await?;
        if let (None, Some(link)) = (&by, &self.link) {
            let key = stopped_key(id);
            by = link
                .run("read stop record", |mut conn| async move {
                    conn.get::<_, Option<String>>(key).await
                })
                .await
                .ok_or(RenewError::Unavailable)?;
        }
        match by {
            Some(by) if by == sub => Ok(Closed::Already),
            Some(_) => Err(RenewError::NotYours),
            None => Err(RenewError::Unknown),
        }
    }

    /// Removes `session` with its lease (`stopped_by`: the streamer who stopped it, "" for a
    /// sweep); it is this instance's to clean up when that removed the lease. `None` with
    /// Redis away.
    async fn claim(
        &self,
        link: &RedisLink,
        session: Session,
        stopped_by: &str,
    ) -> Result<Option<Session>, RenewError> {
        let (key, index, stop, id, by) = (
            session_key(&session.id),
            stream_key(&session.stream),
            stopped_key(&session.id),
            session.id.clone(),
            stopped_by.to_string(),
        );
        let remember = STOPPED_MEMORY.as_secs();
        let removed: i64 = link
            .run("claim session", |mut conn| async move {
                self.claim
                    .key(leases_key())
                    .key(key)
                    .key(index)
                    .key(stop)
                    .arg(id)
                    .arg(by)
                    .arg(remember)
                    .invoke_async(&mut conn)
                    .await
            })
            .await
            .ok_or(RenewError::Unavailable)?;
        Ok((removed == 1).then_some(session))
    }

    /// Claims the sessions whose lease lapsed (in the state file, and in Redis for every
    /// instance).
    pub async fn claim_lapsed(&self) -> Vec<Session> {
        let now = unix_millis();
        let mut lapsed = self
            .local
            .run(move |c| local_store::take_lapsed(c, now, SWEEP_BATCH as usize))
            .await
            .unwrap_or_else(|e| {
                log::error!("sweep: {e}");
                Vec::new()
            });
        let Some(link) = &self.link else {
            return lapsed;
        };
        let ids: Vec<String> = link
            .run("find lapsed leases", |mut conn| async move {
                conn.zrangebyscore_limit(leases_key(), 0, now, 0, SWEEP_BATCH)
                    .await
            })
            .await
            .unwrap_or_default();
        for id in ids {
            match self.read(link, &id).await {
                Ok(Some(session)) => {
                    if let Ok(Some(session)) = self.claim(link, session, "").await {
                        lapsed.push(session);
                    }
                }
                Ok(None) => {
                    // A lease without its session: nothing to clean up but the lease.
                    link.run("drop lease", |mut conn| async move {
                        conn.zrem::<_, _, ()>(leases_key(), id).await
                    })
                    .await;
                }
                Err(_) => break,
            }
        }
        lapsed
    }

    /// Puts back a session whose clean-up failed, to be claimed again after `retry`.
    pub async fn retry_later(&self, mut session: Session, retry: Duration) {
        session.closing = true;
        if let Some(link) = &self.link {
            let json = serde_json::to_string(&session).expect("a session serializes");
            let deadline = unix_millis() + retry.as_millis() as u64;
            let (key, id) = (session_key(&session.id), session.id.clone());
            let keep = (retry + KEEP_AFTER_LEASE).as_secs();
            let stored = link
                .run("requeue session", |mut conn| async move {
                    redis::pipe()
                        .set_ex(key, json, keep)
                        .ignore()
                        .zadd(leases_key(), id, deadline)
                        .ignore()
                        .query_async::<()>(&mut conn)
                        .await
                })
                .await;
            if stored.is_some() {
                return;
            }
        }
        let deadline = unix_millis() + retry.as_millis() as u64;
        if let Err(e) = self
            .local
            .run(move |c| local_store::put_session(c, &session, deadline))
            .await
        {
            log::error!("a clean-up to try again could not be recorded: {e}");
        }
    }

    /// Moves to Redis, once it is back, the sessions this instance kept in its state file while
    /// Redis was away, so that every instance knows them again. A session whose stream another
    /// instance gave a session meanwhile stays here (its heartbeats and stop work on this
    /// instance; its lease still ends it).
    pub async fn hand_over(&self) {
        let Some(link) = self.link.as_ref().filter(|l| l.is_up()) else {
            return;
        };
        let Ok(kept) = self.local.run(local_store::all_sessions).await else {
            return;
        };
        let mut moved = 0;
        for (session, deadline) in kept {
            let stored: Option<Option<String>> = if session.closing {
                // A clean-up to try again: its lease is when.
                let json = serde_json::to_string(&session).expect("a session serializes");
                let (key, id, keep) = (
                    session_key(&session.id),
                    session.id.clone(),
                    self.keep_seconds(),
                );
                link.run("hand over a clean-up", |mut conn| async move {
                    redis::pipe()
                        .set_ex(key, json, keep)
                        .ignore()
                        .zadd(leases_key(), &id, deadline)
                        .ignore()
                        .query_async::<()>(&mut conn)
                        .await
                        .map(|()| None)
                })
                .await
            } else {
                self.open_in_redis(link, &session, deadline, "hand over a session")
                    .await
            };
            match stored {
                Some(None) => {
                    let id = session.id.clone();
                    if self
                        .local
                        .run(move |c| local_store::remove_session(c, &id, None))
                        .await
                        .is_ok()
                    {
                        moved += 1;
                    }
                }
                Some(Some(other)) => log::warn!(
                    "session {} stays on this instance: its stream got session {other} while \
                     Redis was away",
                    session.id
                ),
                None => return,
            }
        }
        if moved > 0 {
            log::info!("Redis is back: {moved} session(s) kept meanwhile handed over to it");
        }
    }

    /// The open sessions some of whose forwards were never tried (a restart came between).
    pub async fn unfinished(&self) -> Vec<Session> {
        let unfinished = |s: &Session| !s.closing && s.outcomes.len() < s.cdn_urls.len();
        let mut found: Vec<Session> = self
            .local
            .run(local_store::all_sessions)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|(s, _)| s)
            .filter(unfinished)
            .collect();
        if let Some(link) = &self.link {
            let ids: Vec<String> = link
                .run("list leases", |mut conn| async move {
                    conn.zrange(leases_key(), 0, -1).await
                })
                .await
                .unwrap_or_default();
            for id in ids {
                if let Ok(Some(session)) = self.read(link, &id).await {
                    if unfinished(&session) {
                        found.push(session);
                    }
                }
            }
        }
        found
    }

    /// Sessions whose lease runs now on the whole platform (this instance's state file, plus
    /// Redis's when it is up), for `/metrics`.
    pub async fn count(&self) -> u64 {
        let now = unix_millis();
        let local = self
            .local
            .run(move |c| local_store::count_open(c, now))
            .await
            .unwrap_or(0);
        let Some(link) = &self.link else {
            return local;
        };
        let shared: Option<u64> = link
            .run("count sessions", |mut conn| async move {
                conn.zcount(leases_key(), now, "+inf").await
            })
            .await;
        local + shared.unwrap_or(0)
    }
}
