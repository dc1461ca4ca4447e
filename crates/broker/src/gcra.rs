//! GCRA (the generic cell rate algorithm) in memory: the limiter of a broker without Redis, and
//! the fallback of one whose Redis went away. The Redis script in [`crate::limiter`] is the same
//! algorithm on the shared clock.
//!
//! Each key has a theoretical arrival time (TAT): the earliest time the next request may leave.
//! A request takes the slot at `max(TAT, now)` and moves the TAT one interval on, so requests
//! leave exactly one interval apart however many arrive at once. A request whose slot is more
//! than the tolerance ahead is refused instead (the bounded queue is full, or a burst is spent).

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What a limiter decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The request has a slot `wait` from now.
    Slot {
        /// How long until the slot.
        wait: Duration,
    },
    /// No slot within the tolerance; try again after `retry_after`.
    Refused {
        /// How long until a slot would be within the tolerance.
        retry_after: Duration,
    },
}

/// A rate: one request per `interval`, slots taken at most `tolerance` ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// The time between two requests.
    pub interval: Duration,
    /// How far ahead a slot may be: the queue's length, or a burst's, in time.
    pub tolerance: Duration,
}

impl Rate {
    /// `per_second` requests a second, spaced `margin_percent` wider, with up to `queue`
    /// waiting.
    pub fn queued(per_second: u32, margin_percent: u32, queue: u32) -> Rate {
        let interval = Duration::from_secs(1) * (100 + margin_percent) / 100 / per_second.max(1);
        Rate {
            interval,
            tolerance: interval * queue,
        }
    }

    /// `per_minute` requests a minute, `burst` of them at once, none waiting.
    pub fn burst(per_minute: u32, burst: u32) -> Rate {
        let interval = Duration::from_secs(60) / per_minute.max(1);
        Rate {
            interval,
            tolerance: interval * burst.saturating_sub(1),
        }
    }

    /// The same rate shared by `parts` instances: each gets 1/`parts` of it.
    pub fn share(self, parts: u32) -> Rate {
        Rate {
            interval: self.interval * parts.max(1),
            tolerance: self.tolerance,
        }
    }
}

/// Theoretical arrival times by key.
#[derive(Debug, Default)]
pub struct Gcra {
    tat: HashMap<String, Instant>,
}

impl Gcra {
    /// Takes the next slot of `key` at `rate`, as of `now`.
    pub fn take(&mut self, key: &str, rate: Rate, now: Instant) -> Admission {
        let tat = self.tat.get(key).copied().unwrap_or(now).max(now);
        let wait = tat - now;
        if wait > rate.tolerance {
            return Admission::Refused {
                retry_after: wait - rate.tolerance,
            };
        }
        self.tat.insert(key.to_string(), tat + rate.interval);
        // Keys whose TAT has passed hold nothing a fresh entry would not; the map stays small.
        if self.tat.len() > 10_000 {
            self.tat.retain(|_, t| *t > now);
        }
        Admission::Slot { wait }
    }

    /// No slot of `key` before `not_before` (slots another limiter has handed out).
    pub fn hold_until(&mut self, key: &str, not_before: Instant) {
        let tat = self.tat.entry(key.to_string()).or_insert(not_before);
        *tat = (*tat).max(not_before);
    }

    /// The next free slot of `key`, when it is in the future.
    pub fn next_slot(&self, key: &str, now: Instant) -> Option<Instant> {
        self.tat.get(key).copied().filter(|t| *t > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crowd_leaves_one_interval_apart() {
        let mut g = Gcra::default();
        let now = Instant::now();
        let rate = Rate::queued(40, 0, 100);
        let waits: Vec<_> = (0..5).map(|_| g.take("k", rate, now)).collect();
        for (i, w) in waits.iter().enumerate() {
            assert_eq!(
                *w,
                Admission::Slot {
                    wait: Duration::from_millis(25) * i as u32
                }
            );
        }
        assert_eq!(
            g.take("other", rate, now),
            Admission::Slot {
                wait: Duration::ZERO
            }
        );
    }

    #[test]
    fn the_margin_widens_the_interval() {
        assert_eq!(
            Rate::queued(40, 4, 10).interval,
            Duration::from_micros(26_000)
        );
    }

    #[test]
    fn the_queue_is_bounded() {
        let mut g = Gcra::default();
        let now = Instant::now();
        let rate = Rate::queued(10, 0, 2);
        for _ in 0..3 {
            assert!(matches!(g.take("k", rate, now), Admission::Slot { .. }));
        }
        assert_eq!(
            g.take("k", rate, now),
            Admission::Refused {
                retry_after: Duration::from_millis(100)
            }
        );
        let later = now + Duration::from_millis(100);
        assert!(matches!(g.take("k", rate, later), Admission::Slot { .. }));
    }

    #[test]
    fn a_burst_then_the_rate() {
        let mut g = Gcra::default();
        let now = Instant::now();
        let rate = Rate::burst(60, 3);
        for _ in 0..3 {
            assert!(matches!(g.take("s", rate, now), Admission::Slot { .. }));
        }
        assert!(matches!(g.take("s", rate, now), Admission::Refused { .. }));
        assert!(matches!(
            g.take("s", rate, now + Duration::from_secs(1)),
            Admission::Slot { .. }
        ));
    }

    #[test]
    fn held_slots_are_not_handed_out_again() {
        let mut g = Gcra::default();
        let now = Instant::now();
        g.hold_until("k", now + Duration::from_secs(2));
        assert_eq!(
            g.take("k", Rate::queued(40, 0, 1000).share(2), now),
            Admission::Slot {
                wait: Duration::from_secs(2)
            }
        );
        assert_eq!(
            g.next_slot("k", now),
            Some(now + Duration::from_millis(2050))
        );
    }
}
