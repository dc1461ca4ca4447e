//! A per-key sliding one-second window, the shape of the vendors' "N requests/second" limits.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(1);

/// Counts admitted calls per key over the last second.
///
/// A sliding window rather than fixed one-second buckets: with buckets, 2N calls straddling a
/// bucket edge would all pass, which would let a client that bursts in lockstep look fine in the
/// tests and still be throttled by the real service.
pub(crate) struct RateLimiter<K> {
    admitted: HashMap<K, VecDeque<Instant>>,
}

impl<K> Default for RateLimiter<K> {
    fn default() -> Self {
        Self {
            admitted: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq> RateLimiter<K> {
    /// Admits a call at `now` when fewer than `limit` calls of `key` were admitted during the
    /// second before it.
    ///
    /// Refused calls are not counted, so a client that backs off is let back in one second after
    /// its burst instead of being locked out for as long as it keeps retrying.
    pub(crate) fn admit(&mut self, key: K, limit: u32, now: Instant) -> bool {
        let calls = self.admitted.entry(key).or_default();
        while calls
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) >= WINDOW)
        {
            calls.pop_front();
        }
        if calls.len() >= limit as usize {
            return false;
        }
        calls.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_the_call_over_the_limit_within_one_second() {
        let mut limiter = RateLimiter::default();
        let t0 = Instant::now();
        for i in 0..40 {
            assert!(
                limiter.admit("app", 40, t0 + Duration::from_millis(i * 20)),
                "call {i}"
            );
        }
        assert!(!limiter.admit("app", 40, t0 + Duration::from_millis(999)));
    }

    #[test]
    fn window_slides_instead_of_resetting_on_second_boundaries() {
        let mut limiter = RateLimiter::default();
        let t0 = Instant::now();
        // Two calls late in one second and two early in the next: a fixed bucket would admit all
        // four, a sliding window admits only the first two.
        assert!(limiter.admit("app", 2, t0 + Duration::from_millis(900)));
        assert!(limiter.admit("app", 2, t0 + Duration::from_millis(950)));
        assert!(!limiter.admit("app", 2, t0 + Duration::from_millis(1_100)));
        assert!(!limiter.admit("app", 2, t0 + Duration::from_millis(1_899)));
        // Exactly one second after the first admitted call, it leaves the window.
        assert!(limiter.admit("app", 2, t0 + Duration::from_millis(1_900)));
    }

    #[test]
    fn refused_calls_do_not_extend_the_lockout() {
        let mut limiter = RateLimiter::default();
        let t0 = Instant::now();
        assert!(limiter.admit("app", 1, t0));
        for ms in [100, 500, 900] {
            assert!(!limiter.admit("app", 1, t0 + Duration::from_millis(ms)));
        }
        assert!(limiter.admit("app", 1, t0 + Duration::from_millis(1_000)));
    }

    #[test]
    fn keys_are_limited_independently() {
        let mut limiter = RateLimiter::default();
        let t0 = Instant::now();
        assert!(limiter.admit(1, 1, t0));
        assert!(!limiter.admit(1, 1, t0));
        assert!(limiter.admit(2, 1, t0));
    }
}
