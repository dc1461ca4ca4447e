//! Locking that survives a poisoned mutex.
//!
//! Every lock in the plugin guards plain data (a cache, a list, a slot) that stays consistent
//! even when a thread panicked while holding it, and every OBS callback is guarded against
//! panics; refusing the data after a panic would only turn one failure into many.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// [`Mutex::lock`] that takes the data back from a poisoned lock.
pub trait LockRecovered<T: ?Sized> {
    /// The guard, poisoned or not.
    fn lock_recovered(&self) -> MutexGuard<'_, T>;
}

impl<T: ?Sized> LockRecovered<T> for Mutex<T> {
    fn lock_recovered(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// [`Condvar::wait_timeout`] that takes the data back from a poisoned lock.
pub fn wait_recovered<'a, T>(
    condvar: &Condvar,
    guard: MutexGuard<'a, T>,
    timeout: Duration,
) -> MutexGuard<'a, T> {
    condvar
        .wait_timeout(guard, timeout)
        .unwrap_or_else(PoisonError::into_inner)
        .0
}
