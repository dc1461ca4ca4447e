//! Backing off when a vendor's rate limit is hit.
//!
//! The limits are per AppId (ZEGOCLOUD, 40 dispatches/s) or per account (Alibaba) and shared by
//! every streamer of a platform, so when hundreds of streamers press Start at the top of the
//! hour, retries must spread out rather than come back in lockstep. Each retry waits a random
//! time drawn uniformly from a window (full jitter) that doubles after every refusal. The first
//! window is wide on purpose: a refusal means the whole second's quota is taken, and a narrow
//! window would only move the crowd one second later.

use std::time::{Duration, Instant};

/// How long and how widely to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The window of the first retry's random wait.
    pub first_window: Duration,
    /// The largest window.
    pub max_window: Duration,
    /// No retry starts after this much time since the first attempt.
    pub budget: Duration,
}

impl RetryPolicy {
    /// Start Streaming, which OBS's window waits for: a bounded wait.
    pub const GO_LIVE: RetryPolicy = RetryPolicy {
        first_window: Duration::from_secs(15),
        max_window: Duration::from_secs(30),
        budget: Duration::from_secs(20),
    };

    /// Work nobody waits for (resolving ahead, clean-up): keep trying longer, spread wider.
    ///
    /// The first window is 25 s because a crowd refused at once must come back well under the
    /// limit, not just under it: 500 clients at 40 dispatches/s leave 460 refused, which a 15 s
    /// window brings back at about 31/s, close enough to 40 that random bunching gets a few dozen
    /// refused again (about 1,000 requests for the 500 clients, over in a quarter of runs of
    /// a model of the limiter); 25 s brings them back at about 18/s and keeps the crowd under
    /// 990 requests (`tests/rate_limit_storm.rs`). Nobody waits, so the later start costs
    /// nothing.
    pub const BACKGROUND: RetryPolicy = RetryPolicy {
        first_window: Duration::from_secs(25),
        max_window: Duration::from_secs(60),
        budget: Duration::from_secs(120),
    };

    /// Runs `op`; while it fails with an error `rate_limited` accepts and the budget allows,
    /// waits a jittered time and runs it again. `wait` sleeps (and may cut the wait short by
    /// returning `false`, e.g. on shutdown, which ends the retries).
    pub fn run<T, E>(
        &self,
        mut op: impl FnMut() -> Result<T, E>,
        rate_limited: impl Fn(&E) -> bool,
        mut wait: impl FnMut(Duration) -> bool,
    ) -> Result<T, E> {
        let started = Instant::now();
        let mut window = self.first_window;
        loop {
            let result = op();
            match &result {
                Err(e) if rate_limited(e) => {
                    let delay = jitter(window);
                    if started.elapsed() + delay > self.budget {
                        return result;
                    }
                    log::info!("rate limited; retrying in {} ms", delay.as_millis());
                    if !wait(delay) {
                        return result;
                    }
                    window = (window * 2).min(self.max_window);
                }
                _ => return result,
            }
        }
    }
}

/// A uniformly random duration in `[0, window)`.
pub fn jitter(window: Duration) -> Duration {
    let mut bytes = [0u8; 8];
    // Without OS randomness every client would wait the same time: fall back to the clock's
    // nanoseconds, which differ between machines.
    if getrandom::getrandom(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id());
        bytes = nanos.to_le_bytes();
    }
    let fraction = (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64;
    window.mul_f64(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn retries_only_rate_limits_with_growing_windows() {
        let policy = RetryPolicy {
            first_window: Duration::from_millis(100),
            max_window: Duration::from_millis(300),
            budget: Duration::from_secs(60),
        };
        let waits = RefCell::new(Vec::new());
        let mut calls = 0;
        let result: Result<u32, &str> = policy.run(
            || {
                calls += 1;
                if calls < 5 {
                    Err("limited")
                } else {
                    Ok(calls)
                }
            },
            |e| *e == "limited",
            |d| {
                waits.borrow_mut().push(d);
                true
            },
        );
        assert_eq!(result, Ok(5));
        let waits = waits.into_inner();
        assert_eq!(waits.len(), 4);
        let windows = [100, 200, 300, 300];
        for (w, max) in waits.iter().zip(windows) {
            assert!(*w < Duration::from_millis(max), "{w:?} >= {max} ms");
        }
        let other: Result<(), &str> = policy.run(|| Err("broken"), |e| *e == "limited", |_| true);
        assert_eq!(other, Err("broken"));
    }

    #[test]
    fn gives_up_when_the_budget_is_spent_or_the_wait_is_cut() {
        let policy = RetryPolicy {
            first_window: Duration::from_secs(10),
            max_window: Duration::from_secs(10),
            budget: Duration::from_millis(1),
        };
        let mut calls = 0;
        let r: Result<(), &str> = policy.run(
            || {
                calls += 1;
                Err("limited")
            },
            |_| true,
            |_| true,
        );
        assert!(r.is_err());
        assert!(calls <= 2, "{calls}");
        let mut calls = 0;
        let r: Result<(), &str> = RetryPolicy::BACKGROUND.run(
            || {
                calls += 1;
                Err("limited")
            },
            |_| true,
            |_| false,
        );
        assert!(r.is_err());
        assert_eq!(calls, 1);
    }

    #[test]
    fn jitter_covers_the_window() {
        let window = Duration::from_millis(1000);
        let samples: Vec<Duration> = (0..2000).map(|_| jitter(window)).collect();
        assert!(samples.iter().all(|d| *d < window));
        let low = samples
            .iter()
            .filter(|d| **d < Duration::from_millis(250))
            .count();
        let high = samples
            .iter()
            .filter(|d| **d >= Duration::from_millis(750))
            .count();
        assert!(
            low > 300 && high > 300,
            "not uniform: {low} low, {high} high"
        );
    }
}
