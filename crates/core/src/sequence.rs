//! ZEGOCLOUD's request `Sequence`, kept increasing across OBS restarts by a small state file.

use crate::lock::LockRecovered;
use crate::private_file::write_private;
use crate::unix_time::unix_millis;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

/// ZEGOCLOUD's `Sequence`: strictly increasing for every call the plugin makes, in
/// milliseconds, also across an OBS restart.
///
/// The vendor requires it to increase per StreamId over any 10 s. Taking the larger of the clock
/// and the last value plus one keeps that true for bursts within one millisecond; a persisted
/// ceiling, reserved [`SEQUENCE_RESERVE_MS`] ahead and written only when crossed, keeps it true
/// when OBS restarts within seconds.
#[derive(Debug, Default)]
pub struct SequenceClock {
    last: AtomicI64,
    store: Option<(PathBuf, Mutex<i64>)>,
}

/// How far ahead a persisted ceiling is reserved.
pub const SEQUENCE_RESERVE_MS: i64 = 60_000;

impl SequenceClock {
    /// A clock that starts from the wall clock and remembers nothing.
    pub const fn new() -> Self {
        SequenceClock {
            last: AtomicI64::new(0),
            store: None,
        }
    }

    /// A clock that continues above the ceiling persisted in `path` by an earlier process.
    pub fn persistent(path: PathBuf) -> Self {
        let ceiling = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| t.trim().parse::<i64>().ok())
            .unwrap_or(0);
        SequenceClock {
            last: AtomicI64::new(ceiling),
            store: Some((path, Mutex::new(ceiling))),
        }
    }

    /// The next value: `max(now_ms, last + 1)`.
    pub fn next(&self) -> i64 {
        let now = unix_millis(SystemTime::now());
        let mut last = self.last.load(Ordering::Relaxed);
        let next = loop {
            let next = now.max(last + 1);
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => break next,
                Err(seen) => last = seen,
            }
        };
        if let Some((path, ceiling)) = &self.store {
            let mut ceiling = ceiling.lock_recovered();
            if next >= *ceiling {
                let reserved = next + SEQUENCE_RESERVE_MS;
                match write_private(path, reserved.to_string().as_bytes()) {
                    Ok(()) => *ceiling = reserved,
                    Err(e) => log::warn!("cannot persist the ZEGOCLOUD sequence: {e}"),
                }
            }
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_is_strictly_increasing_in_bursts() {
        let clock = SequenceClock::new();
        let values: Vec<i64> = (0..1000).map(|_| clock.next()).collect();
        assert!(values.windows(2).all(|w| w[1] > w[0]));
        assert!(values[0] >= unix_millis(SystemTime::now()) - 1000);
    }

    #[test]
    fn persisted_sequence_survives_a_restart_in_the_same_millisecond() {
        let path = std::env::temp_dir().join(format!("golive-seq-{}", std::process::id()));
        let first = SequenceClock::persistent(path.clone());
        let burst: Vec<i64> = (0..50).map(|_| first.next()).collect();
        let restarted = SequenceClock::persistent(path.clone());
        assert!(restarted.next() > *burst.last().unwrap());
        let _ = std::fs::remove_file(path);
    }
}
