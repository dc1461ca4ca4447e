//! Live sessions and their leases: what the broker holds for a streamer who is live (the CDN
//! forwards it created), and until when.
//!
//! With Redis, a session is a JSON value under its key and its lease deadline a score in one
//! sorted set, so any instance can renew it, close it or find it lapsed. Removing the id from
//! the sorted set is the claim: only the instance whose `ZREM` removed it cleans the session up,
//! so a session closed and swept at once is cleaned up once. Without Redis (or while it is
//! away) sessions live in this instance's memory.

use crate::redis_link::{unix_millis, RedisLink, PREFIX};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The sorted set of lease deadlines (ms since the epoch) by session id.
const LEASES_KEY: &str = "rtc-golive:leases";
/// Sessions claimed per sweep at most; the rest wait for the next.
const SWEEP_BATCH: isize = 50;

/// Renews a lease unless it lapsed. KEYS[1]: the leases; ARGV: id, now, new deadline (ms).
const RENEW_SCRIPT: &str = r"
local deadline = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not deadline or tonumber(deadline) < tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
";

/// One streamer's live session.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The session id the plugin heartbeats with.
    pub id: String,
    /// The streamer.
    pub sub: String,
    /// The token that opened it.
    pub jti: String,
    /// The ZEGOCLOUD stream whose forwards the session holds.
    pub stream_id: Option<String>,
    /// The CDN forwards created for it, exactly as created (usually embedding a CDN key).
    pub cdn_urls: Vec<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("sub", &self.sub)
            .field("jti", &self.jti)
            .field("stream_id", &self.stream_id)
            .field("cdn_urls", &self.cdn_urls.len())
            .finish()
    }
}

/// Why a heartbeat was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenewError {
    /// No such session, or its lease lapsed.
    Unknown,
    /// The session belongs to another token.
    NotYours,
}

/// The sessions, with their leases.
#[derive(Debug)]
pub struct Sessions {
    link: Option<Arc<RedisLink>>,
    renew: redis::Script,
    local: Mutex<HashMap<String, (Session, Instant)>>,
    lease: Duration,
}

fn session_key(id: &str) -> String {
    format!("{PREFIX}:session:{id}")
}

impl Sessions {
    /// Sessions with `lease`, shared through `link` or in memory.
    pub fn new(link: Option<Arc<RedisLink>>, lease: Duration) -> Self {
        Sessions {
            link,
            renew: redis::Script::new(RENEW_SCRIPT),
            local: Mutex::default(),
            lease,
        }
    }

    /// The lease a heartbeat buys.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// Opens `session` with a full lease.
    pub async fn open(&self, session: Session) {
        if let Some(link) = &self.link {
            let json = serde_json::to_string(&session).expect("a session serializes");
            let deadline = unix_millis() + self.lease.as_millis() as u64;
            let (key, id) = (session_key(&session.id), session.id.clone());
            // The value outlives its lease by a day, so a sweep that claims it late still
            // finds what to delete; the sweep removes it.
            let keep = self.lease.as_secs() + 24 * 60 * 60;
            let stored = link
                .run("open session", |mut conn| async move {
                    redis::pipe()
                        .set_ex(key, json, keep)
                        .ignore()
                        .zadd(LEASES_KEY, id, deadline)
                        .ignore()
                        .query_async::<()>(&mut conn)
                        .await
                })
                .await;
            if stored.is_some() {
                return;
            }
        }
        let deadline = Instant::now() + self.lease;
        self.local_map()
            .insert(session.id.clone(), (session, deadline));
    }

    /// Renews `id`'s lease for the token `jti`.
    pub async fn renew(&self, id: &str, jti: &str) -> Result<(), RenewError> {
        {
            let mut local = self.local_map();
            if let Some((session, deadline)) = local.get_mut(id) {
                if session.jti != jti {
                    return Err(RenewError::NotYours);
                }
                if *deadline < Instant::now() {
                    return Err(RenewError::Unknown);
                }
                *deadline = Instant::now() + self.lease;
                return Ok(());
            }
        }
        let Some(link) = &self.link else {
            return Err(RenewError::Unknown);
        };
        let key = session_key(id);
        let Some(stored) = link
            .run("read session", |mut conn| async move {
                conn.get::<_, Option<String>>(key).await
            })
            .await
        else {
            // Redis is away: the session cannot be checked, and ending a stream for that
            // would be worse than a lease renewed without checking.
            log::warn!("session {id}: heartbeat accepted unchecked while Redis is away");
            return Ok(());
        };
        let session: Session = stored
            .and_then(|s| serde_json::from_str(&s).ok())
            .ok_or(RenewError::Unknown)?;
        if session.jti != jti {
            return Err(RenewError::NotYours);
        }
        let now = unix_millis();
        let deadline = now + self.lease.as_millis() as u64;
        let id = id.to_string();
        let renewed: Option<i64> = link
            .run("renew lease", |mut conn| async move {
                self.renew
                    .key(LEASES_KEY)
                    .arg(id)
                    .arg(now)
                    .arg(deadline)
                    .invoke_async(&mut conn)
                    .await
            })
            .await;
        match renewed {
            Some(1) | None => Ok(()),
            Some(_) => Err(RenewError::Unknown),
        }
    }

    /// Claims `id` for closing: the session to clean up, or `None` when it is already closed
    /// or another instance claimed it. A session of another token is not closed.
    pub async fn close(&self, id: &str, jti: &str) -> Result<Option<Session>, RenewError> {
        {
            let mut local = self.local_map();
            if let Some((session, _)) = local.get(id) {
                if session.jti != jti {
                    return Err(RenewError::NotYours);
                }
                return Ok(local.remove(id).map(|(s, _)| s));
            }
        }
        let Some(link) = &self.link else {
            return Ok(None);
        };
        let key = session_key(id);
        let stored = link
            .run("read session", |mut conn| async move {
                conn.get::<_, Option<String>>(key).await
            })
            .await
            .flatten()
            .and_then(|s| serde_json::from_str::<Session>(&s).ok());
        let Some(session) = stored else {
            return Ok(None);
        };
        if session.jti != jti {
            return Err(RenewError::NotYours);
        }
        Ok(self.claim(link, session).await)
    }

    /// Removes `session` from the leases; it is this instance's to clean up when that removed it.
    async fn claim(&self, link: &RedisLink, session: Session) -> Option<Session> {
        let (id, key) = (session.id.clone(), session_key(&session.id));
        let removed: i64 = link
            .run("claim session", |mut conn| async move {
                let (removed,): (i64,) = redis::pipe()
                    .zrem(LEASES_KEY, &id)
                    .del(&key)
                    .ignore()
                    .query_async(&mut conn)
                    .await?;
                Ok(removed)
            })
            .await?;
        (removed == 1).then_some(session)
    }

    /// Claims the sessions whose lease lapsed (in memory, and in Redis for every instance).
    pub async fn claim_lapsed(&self) -> Vec<Session> {
        let now = Instant::now();
        let mut lapsed: Vec<Session> = {
            let mut local = self.local_map();
            let ids: Vec<String> = local
                .iter()
                .filter(|(_, (_, deadline))| *deadline < now)
                .map(|(id, _)| id.clone())
                .collect();
            ids.iter()
                .filter_map(|id| local.remove(id).map(|(s, _)| s))
                .collect()
        };
        let Some(link) = &self.link else {
            return lapsed;
        };
        let due = unix_millis();
        let ids: Vec<String> = link
            .run("find lapsed leases", |mut conn| async move {
                conn.zrangebyscore_limit(LEASES_KEY, 0, due, 0, SWEEP_BATCH)
                    .await
            })
            .await
            .unwrap_or_default();
        for id in ids {
            let key = session_key(&id);
            let stored = link
                .run("read session", |mut conn| async move {
                    conn.get::<_, Option<String>>(key).await
                })
                .await
                .flatten()
                .and_then(|s| serde_json::from_str::<Session>(&s).ok());
            match stored {
                Some(session) => lapsed.extend(self.claim(link, session).await),
                None => {
                    // A lease without its session: nothing to clean up but the lease.
                    let id = id.clone();
                    link.run("drop lease", |mut conn| async move {
                        conn.zrem::<_, _, ()>(LEASES_KEY, id).await
                    })
                    .await;
                }
            }
        }
        lapsed
    }

    /// Puts back a session whose clean-up failed, to be claimed again after `retry`.
    pub async fn retry_later(&self, session: Session, retry: Duration) {
        if let Some(link) = &self.link {
            let json = serde_json::to_string(&session).expect("a session serializes");
            let deadline = unix_millis() + retry.as_millis() as u64;
            let (key, id) = (session_key(&session.id), session.id.clone());
            let keep = retry.as_secs() + 24 * 60 * 60;
            let stored = link
                .run("requeue session", |mut conn| async move {
                    redis::pipe()
                        .set_ex(key, json, keep)
                        .ignore()
                        .zadd(LEASES_KEY, id, deadline)
                        .ignore()
                        .query_async::<()>(&mut conn)
                        .await
                })
                .await;
            if stored.is_some() {
                return;
            }
        }
        self.local_map()
            .insert(session.id.clone(), (session, Instant::now() + retry));
    }

    /// Sessions open now (this instance's, plus Redis's when it is up), for `/metrics`.
    pub async fn count(&self) -> u64 {
        let local = self.local_map().len() as u64;
        let Some(link) = &self.link else {
            return local;
        };
        let shared: Option<u64> = link
            .run("count sessions", |mut conn| async move {
                conn.zcard(LEASES_KEY).await
            })
            .await;
        local + shared.unwrap_or(0)
    }

    fn local_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Session, Instant)>> {
        self.local.lock().unwrap_or_else(|e| e.into_inner())
    }
}
