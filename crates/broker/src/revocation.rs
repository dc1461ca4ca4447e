//! Revoked token ids (`jti`): in Redis for every instance, and in memory.
//!
//! A revocation is permanent for the token's life. Each instance remembers every revoked id it
//! has seen, so a token refused once stays refused while Redis is away; one revoked elsewhere
//! while Redis is away is refused once Redis returns.

use crate::redis_link::{RedisLink, PREFIX};
use crate::token::MAX_TTL;
use redis::AsyncCommands;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The Redis key of a revoked `jti`.
pub fn revoked_key(jti: &str) -> String {
    format!("{PREFIX}:revoked:{jti}")
}

/// How long Redis keeps a revocation whose token's `exp` is unknown: longer than any token
/// accepted now lives.
pub const REVOCATION_TTL_SECONDS: u64 = MAX_TTL.as_secs() + 24 * 60 * 60;

/// The revoked ids.
#[derive(Debug)]
pub struct Revocations {
    link: Option<Arc<RedisLink>>,
    local: Mutex<HashSet<String>>,
}

impl Revocations {
    /// Revocations shared through `link`, or in memory only.
    pub fn new(link: Option<Arc<RedisLink>>) -> Self {
        Revocations {
            link,
            local: Mutex::default(),
        }
    }

    /// Whether `jti` was revoked (as far as can be known now).
    pub async fn is_revoked(&self, jti: &str) -> bool {
        if self.local().contains(jti) {
            return true;
        }
        let Some(link) = &self.link else {
            return false;
        };
        let key = revoked_key(jti);
        let found = link
            .run("revocation check", |mut conn| async move {
                conn.exists::<_, bool>(key).await
            })
            .await
            .unwrap_or(false);
        if found {
            self.local().insert(jti.to_string());
        }
        found
    }

    /// Revokes `jti`, kept until the token's `exp` when known (else as long as any token
    /// lives: [`crate::token::revocation_seconds`]); `Err` when Redis is configured but the
    /// revocation could not be shared (it still holds on this instance).
    pub async fn revoke(&self, jti: &str, exp: Option<u64>) -> Result<(), String> {
        self.local().insert(jti.to_string());
        let Some(link) = &self.link else {
            return Ok(());
        };
        let key = revoked_key(jti);
        let seconds = crate::token::revocation_seconds(exp);
        link.run("revoke", |mut conn| async move {
            conn.set_ex::<_, _, ()>(key, 1, seconds).await
        })
        .await
        .ok_or_else(|| "revoked on this instance only: Redis is unreachable".to_string())
    }

    fn local(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.local.lock().unwrap_or_else(|e| e.into_inner())
    }
}
