//! A result one thread produces and another waits for, which either side can give up on.
//!
//! Start Streaming hands the vendor work to a background thread and returns at once; the
//! output's connect thread later waits here for the target. Whoever gives up first (the
//! streamer quitting, a new start, the wait's own bound) cancels: the waiter is woken, and a
//! result that arrives after that, or that was never taken, is handed back so its side effects
//! (a CDN forward) can be undone.

use crate::lock::{wait_recovered, LockRecovered};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

enum Slot<T> {
    Resolving,
    Done(T),
    Taken,
    Cancelled,
}

/// How a [`Pending::wait`] ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Waited<T> {
    /// The result, now owned by the waiter.
    Ready(T),
    /// The work was cancelled (or its result already taken).
    Cancelled,
    /// Nothing came within the bound; the work is cancelled now.
    TimedOut,
}

/// The rendezvous of one piece of work and its waiter.
pub struct Pending<T> {
    slot: Mutex<Slot<T>>,
    changed: Condvar,
}

impl<T> std::fmt::Debug for Pending<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").finish_non_exhaustive()
    }
}

impl<T> Default for Pending<T> {
    fn default() -> Self {
        Pending {
            slot: Mutex::new(Slot::Resolving),
            changed: Condvar::new(),
        }
    }
}

impl<T> Pending<T> {
    fn lock(&self) -> MutexGuard<'_, Slot<T>> {
        self.slot.lock_recovered()
    }

    /// Delivers the result. Gives it back when the work was cancelled: nobody will take it.
    pub fn fulfil(&self, value: T) -> Result<(), T> {
        let mut slot = self.lock();
        match *slot {
            Slot::Resolving => {
                *slot = Slot::Done(value);
                self.changed.notify_all();
                Ok(())
            }
            _ => Err(value),
        }
    }

    /// Gives up on the work and wakes the waiter. Returns a result that was delivered but not
    /// taken, for the caller to undo.
    pub fn cancel(&self) -> Option<T> {
        let mut slot = self.lock();
        let previous = std::mem::replace(&mut *slot, Slot::Cancelled);
        self.changed.notify_all();
        match previous {
            Slot::Done(value) => Some(value),
            Slot::Taken => {
                *slot = Slot::Taken;
                None
            }
            Slot::Resolving | Slot::Cancelled => None,
        }
    }

    /// Whether the work is still running: no result delivered, not cancelled.
    pub fn is_resolving(&self) -> bool {
        matches!(*self.lock(), Slot::Resolving)
    }

    /// Whether the work was cancelled before its result was taken.
    pub fn is_cancelled(&self) -> bool {
        matches!(*self.lock(), Slot::Cancelled)
    }

    /// Waits up to `bound` for the result and takes it. On timeout the work is cancelled, and a
    /// result delivered at that very moment is taken rather than lost.
    pub fn wait(&self, bound: Duration) -> Waited<T> {
        let deadline = Instant::now() + bound;
        let mut slot = self.lock();
        loop {
            match std::mem::replace(&mut *slot, Slot::Taken) {
                Slot::Done(value) => return Waited::Ready(value),
                Slot::Taken => return Waited::Cancelled,
                Slot::Cancelled => {
                    *slot = Slot::Cancelled;
                    return Waited::Cancelled;
                }
                Slot::Resolving => *slot = Slot::Resolving,
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                *slot = Slot::Cancelled;
                return Waited::TimedOut;
            }
            slot = wait_recovered(&self.changed, slot, left);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn the_waiter_gets_a_result_delivered_later() {
        let pending = Arc::new(Pending::default());
        let worker = pending.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            assert!(worker.fulfil(7).is_ok());
        });
        assert_eq!(pending.wait(Duration::from_secs(10)), Waited::Ready(7));
        assert_eq!(pending.cancel(), None, "a taken result is not handed back");
    }

    #[test]
    fn cancel_wakes_the_waiter_and_a_late_result_comes_back() {
        let pending = Arc::new(Pending::<u32>::default());
        let canceller = pending.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            canceller.cancel();
        });
        let started = Instant::now();
        assert_eq!(pending.wait(Duration::from_secs(30)), Waited::Cancelled);
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(pending.is_cancelled());
        assert_eq!(pending.fulfil(3), Err(3));
    }

    #[test]
    fn a_result_never_taken_is_handed_back_by_cancel() {
        let pending = Pending::default();
        assert!(pending.fulfil("forward created").is_ok());
        assert_eq!(pending.cancel(), Some("forward created"));
        assert_eq!(pending.wait(Duration::ZERO), Waited::Cancelled);
    }

    #[test]
    fn a_wait_past_its_bound_cancels_the_work() {
        let pending = Pending::<u32>::default();
        assert_eq!(pending.wait(Duration::from_millis(20)), Waited::TimedOut);
        assert!(pending.is_cancelled());
        assert_eq!(pending.fulfil(1), Err(1));
    }
}
