//! Spacing the retries of a pull source: full jitter over a window that doubles after every
//! failure, capped, and reset once a stream plays.
//!
//! A room's players all lose the same node at the same instant when it dies; without jitter
//! they would all dispatch again in lockstep against the AppId's shared 40/s limit. A refusal
//! asking again cannot change (a wrong secret, a revoked token) is checked again far less
//! often: every source set up that way would otherwise spend the AppId's quota, or the
//! platform's, every few seconds for as long as OBS runs. New settings, or the source becoming
//! active again, retry at once: each starts a new session.

use super::machine::FailureKind;
use crate::retry::{jitter, RetryPolicy};
use std::time::Duration;

/// The first retry's window: a lost node is usually replaced within a second or two.
pub const FIRST_WINDOW: Duration = Duration::from_secs(1);
/// The largest window: a stream that is not published yet is checked at least this often.
pub const MAX_WINDOW: Duration = Duration::from_secs(10);
/// A refusal asking again cannot change waits between half this and this.
pub const REFUSED_WINDOW: Duration = Duration::from_secs(60);

/// The retry windows of one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    window: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            window: FIRST_WINDOW,
        }
    }
}

impl Backoff {
    /// The window the next retry's wait is drawn from.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The wait before the retry after a failure of `kind`, drawn by `draw` from `[0, window)`
    /// (a rate-limited call waits at least as long as background work does: the quota is
    /// shared by the whole AppId; a refusal waits half of [`REFUSED_WINDOW`] plus a draw from
    /// the other half), and the window doubles up to [`MAX_WINDOW`].
    pub fn next_with(
        &mut self,
        kind: FailureKind,
        draw: impl FnOnce(Duration) -> Duration,
    ) -> Duration {
        let window = self.window;
        self.window = (self.window * 2).min(MAX_WINDOW);
        match kind {
            FailureKind::Refused => REFUSED_WINDOW / 2 + draw(REFUSED_WINDOW / 2),
            FailureKind::RateLimited => draw(window.max(RetryPolicy::BACKGROUND.first_window)),
            FailureKind::NotPublished
            | FailureKind::Vendor
            | FailureKind::NoNode
            | FailureKind::NoData => draw(window),
        }
    }

    /// [`Self::next_with`] with a uniformly random draw.
    pub fn next(&mut self, kind: FailureKind) -> Duration {
        self.next_with(kind, jitter)
    }

    /// A stream played: the next failure starts from the first window again.
    pub fn reset(&mut self) {
        self.window = FIRST_WINDOW;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_double_up_to_the_cap_and_reset() {
        let mut backoff = Backoff::default();
        let mut windows = Vec::new();
        for _ in 0..6 {
            backoff.next_with(FailureKind::NotPublished, |w| {
                windows.push(w);
                w
            });
        }
        let secs: Vec<u64> = windows.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [1, 2, 4, 8, 10, 10]);
        backoff.reset();
        assert_eq!(backoff.window(), FIRST_WINDOW);
    }

    #[test]
    fn a_rate_limit_waits_at_least_the_background_window() {
        let mut backoff = Backoff::default();
        let mut seen = Duration::ZERO;
        backoff.next_with(FailureKind::RateLimited, |w| {
            seen = w;
            w / 2
        });
        assert_eq!(seen, RetryPolicy::BACKGROUND.first_window);
    }

    #[test]
    fn a_refusal_waits_half_to_all_of_the_refused_window() {
        let mut backoff = Backoff::default();
        assert_eq!(
            backoff.next_with(FailureKind::Refused, |_| Duration::ZERO),
            REFUSED_WINDOW / 2
        );
        for _ in 0..50 {
            let wait = backoff.next(FailureKind::Refused);
            assert!(
                wait >= REFUSED_WINDOW / 2 && wait < REFUSED_WINDOW,
                "{wait:?}"
            );
        }
        // Another kind of failure after it is paced as before.
        assert!(backoff.next(FailureKind::NoData) < MAX_WINDOW);
    }

    #[test]
    fn random_waits_stay_inside_the_window() {
        let mut backoff = Backoff::default();
        for _ in 0..50 {
            let window = backoff.window();
            assert!(backoff.next(FailureKind::NoNode) < window);
        }
    }
}
