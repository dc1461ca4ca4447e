//! What the connect thread reads as the target: it waits for a start still resolving, and
//! after a lost connection moves to the next node.

use super::{lock_state, on_ui_thread, quit, ServiceData, ServiceState, PLACEHOLDER_KEY};
use crate::libobs::output::WeakOutput;
use crate::locale::ObsLocale;
use rtc_golive_core::golive::Failover;
use rtc_golive_core::messages::Message;
use std::ffi::CStr;
use std::os::raw::c_char;
use std::ptr;
use std::time::Duration;

/// Handed to the connect thread when the start failed there, with the reason set as the
/// output's last error. A broadcast address: Linux refuses a TCP connection to it at once
/// (ENETUNREACH, nothing is sent), so rtmp-stream stops with `OBS_OUTPUT_CONNECT_FAILED`, the
/// code for which the frontend of every version from 29.0 to 32.2 shows the last error in its
/// dialog, and rtmp-stream does not replace the last error for that errno. An empty URL would
/// end as `OBS_OUTPUT_BAD_PATH`, whose dialog shows only OBS's generic text.
const REFUSED_SERVER: &CStr = c"rtmp://255.255.255.255/obs-rtc-golive-start-refused";

/// The connect thread waits at most this long for the vendor work, beyond the work's own
/// bounds (8 s per call, 20 s of rate-limit retries, the node probe, one call per CDN
/// forward): it only ends a wait on something stuck.
const RESOLVE_WAIT_BOUND: Duration = Duration::from_secs(120);

/// The server URL, read by the connect thread before every connection attempt: first it waits
/// for a start still resolving; after a lost connection it moves to the next node. Never waits
/// on OBS's UI thread, which gets the current (placeholder) value. The pointer stays valid
/// until the next `initialize` (see `ServiceState::retired`).
pub fn server_for_connect(service: &ServiceData) -> *const c_char {
    if on_ui_thread() {
        return service.lock().server.as_ptr();
    }
    server_off_ui_thread(service).unwrap_or_else(|| {
        // While OBS quits, the failure is held in the password read (see `quit`).
        service.lock().failed_in_quit = quit::quitting();
        REFUSED_SERVER.as_ptr()
    })
}

/// The password (none), the connect thread's last read of the target: rtmp-stream reads the
/// server, key, username and password, then no longer touches the service. A failure handed
/// out while OBS quits is held here until OBS lets go of the output (see `quit`); `held` is
/// [`ServiceData::take_failure_in_quit`], taken before, as the service may be destroyed
/// during the hold.
pub fn password_for_connect(held: Option<WeakOutput>) -> *const c_char {
    if let Some(output) = held {
        quit::hold_failure(&output);
    }
    ptr::null()
}

/// The server for the connect thread, or `None` when the start failed.
fn server_off_ui_thread(service: &ServiceData) -> Option<*const c_char> {
    // The state outlives a `destroy` during the wait; no lock is held while waiting.
    let state = service.state.clone();
    let resolving = lock_state(&state).golive.resolving();
    if let Some(resolving) = resolving {
        let outcome = resolving.wait(RESOLVE_WAIT_BOUND);
        let mut guard = lock_state(&state);
        if guard.destroyed {
            return None;
        }
        let adopted = guard
            .golive
            .adopt(&resolving, outcome)
            .map(|plan| plan.primary.clone());
        return match adopted {
            Ok(target) => {
                guard.set_target(&target);
                Some(guard.server.as_ptr())
            }
            Err(message) => {
                refuse_on_connect_thread(&mut guard, &message);
                None
            }
        };
    }
    let refresh = {
        let mut guard = lock_state(&state);
        match guard.golive.failover() {
            Failover::Unchanged => None,
            Failover::Moved(next) => {
                let next = next.clone();
                guard.set_target(&next);
                None
            }
            Failover::Expired(refresh) => Some(refresh),
        }
    };
    if let Some(refresh) = refresh {
        let fresh = refresh.run();
        let mut guard = lock_state(&state);
        if let Some(target) = guard.golive.refreshed(fresh).cloned() {
            guard.set_target(&target);
        }
    }
    let guard = lock_state(&state);
    (!guard.destroyed).then(|| guard.server.as_ptr())
}

/// A start that failed on the connect thread: the reason becomes the output's last error (set
/// here, after `obs_output_actual_start` cleared it), and the connect thread gets
/// [`REFUSED_SERVER`], so that OBS's own "failed to connect" dialog shows the reason.
fn refuse_on_connect_thread(state: &mut ServiceState, message: &Message) {
    let text = message.render(&ObsLocale);
    // Error texts are built from codes, hosts and RequestIds only: safe to log.
    log::warn!(
        "go-live refused on the connect thread: {}",
        text.replace('\n', " | ")
    );
    if let Some(output) = state.output.as_ref().and_then(|link| link.output()) {
        output.view().set_last_error(&text);
    }
    state.replace_target(REFUSED_SERVER.to_owned(), PLACEHOLDER_KEY.to_owned(), false);
}
