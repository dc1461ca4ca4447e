//! Quitting OBS while Start Streaming still waits for the vendor: when the failure reaches
//! the output.
//!
//! A start given up because OBS quits fails its output on the connect thread
//! ([`super::connect`]). The frontend answers every stop of the stream output by posting
//! `StreamingStop` to its UI thread. Handled while OBS tears down, that handler either
//! crashes OBS (it reads the frontend's output handler, which the teardown destroys between
//! two deliveries of posted events: SIGSEGV in `OnDeactivate`, seen on 29.0.2) or, where the
//! window is still shown (32.2), opens a modal "Failed to connect" dialog that stalls the quit.
//!
//! So while OBS quits, the connect thread holds the failure in the last read of the target
//! (the password, after which rtmp-stream no longer touches the service) until the frontend
//! has let go of the output: it disconnects its signal handlers before it releases the
//! output, whose destroy then joins the connect thread. The failure then reaches nobody.
//! An output being stopped (`obs_output_stop` joins the connect thread too) releases the hold
//! at once, and the hold is bounded, so quitting never hangs on it.

use super::super::libobs::output::WeakOutput;
use rtc_golive_core::lock::{wait_recovered, LockRecovered};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// The longest a connect thread holds its failure: OBS releases its outputs well within a
/// second of the scripting shutdown. Beyond it the failure goes out anyway.
const HOLD_BOUND: Duration = Duration::from_secs(5);
/// How often a held connect thread looks at its output (nothing signals the last release): the
/// output's destroy waits at most this long for the thread.
const POLL: Duration = Duration::from_millis(10);

struct Phase {
    /// OBS began to quit (the frontend's scripting shutdown).
    quitting: bool,
    /// An output is being stopped: held failures go out now.
    released: bool,
}

static PHASE: Mutex<Phase> = Mutex::new(Phase {
    quitting: false,
    released: false,
});
static CHANGED: Condvar = Condvar::new();

/// OBS began to quit: from now on failures wait. Called before the starts are given up, so
/// that none of their failures goes out early.
pub fn began() {
    PHASE.lock_recovered().quitting = true;
}

/// Whether OBS is quitting.
pub fn quitting() -> bool {
    PHASE.lock_recovered().quitting
}

/// An output is being stopped: held failures go out at once.
pub fn release() {
    let mut phase = PHASE.lock_recovered();
    if phase.quitting && !phase.released {
        phase.released = true;
        CHANGED.notify_all();
    }
}

/// On the connect thread, in its last read of a failed start's target while OBS quits: waits
/// until nobody holds `output` any more (its destroy is joining this thread), an output is
/// being stopped, or [`HOLD_BOUND`] has passed.
pub fn hold_failure(output: &WeakOutput) {
    let deadline = Instant::now() + HOLD_BOUND;
    let mut phase = PHASE.lock_recovered();
    while !phase.released && !output.expired() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            log::warn!(
                "quit: OBS still holds the output after {HOLD_BOUND:?}; the start fails now"
            );
            return;
        }
        phase = wait_recovered(&CHANGED, phase, left.min(POLL));
    }
}
