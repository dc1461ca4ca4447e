//! The services OBS streams through: one instance per service, adapting libobs to
//! [`rtc_golive_core::golive::GoLive`].
//!
//! Threads: `create`, `update`, `get_properties`, `get_defaults` and `initialize` run on OBS's UI
//! thread (`initialize` when Start Streaming is pressed); `get_url`/`get_key`/`get_password` (29.0) and
//! `get_connect_info` (29.1+) run on the output's connect thread, also on every reconnect.
//!
//! `initialize` does local work only (validation, the output link, a target resolved ahead);
//! the vendor work runs on its own thread and the connect thread waits for it when it asks for
//! the server ([`connect`]). No lock of an instance is held across network work, so the
//! output's signals, `update` and obs-websocket requests never wait for a vendor.
//!
//! The `obs_service_info` callbacks are in [`callbacks`]; they only cast, guard and forward to
//! the functions here.

mod callbacks;
mod connect;
pub mod quit;
mod restart;

pub use callbacks::register_all;

use super::libobs::c_string;
use super::libobs::output::{OutputView, SignalLink, WeakOutput};
use super::locale::ObsLocale;
use restart::FrontendRestart;
use rtc_golive_core::config::ServiceKind;
use rtc_golive_core::config::ServiceSettings;
use rtc_golive_core::golive::{Begin, GoLive};
use rtc_golive_core::lock::LockRecovered;
use rtc_golive_core::messages::Message;
use rtc_golive_core::rtmp_target::RtmpTarget;
use rtc_golive_core::shared::Shared;
use serde_json::Value;
use std::ffi::{CStr, CString};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::ThreadId;

/// Shown to OBS 29.0's UI before the real target is known: it refuses to start with an empty
/// URL or key. Never connected to: the connect thread gets the real target (or
/// `connect::REFUSED_SERVER`) once the vendor work is done.
const PLACEHOLDER_SERVER: &CStr = c"rtmp://pending.obs-rtc-golive.invalid/live";
const PLACEHOLDER_KEY: &CStr = c"pending";

/// OBS's UI thread, which must never wait for the vendor (OBS 29.0's Start button and 29.1+'s
/// missing-key check read the target there).
static UI_THREAD: OnceLock<ThreadId> = OnceLock::new();

/// Notes the calling thread as OBS's UI thread (module load and `initialize` run there).
pub fn remember_ui_thread() {
    let _ = UI_THREAD.set(std::thread::current().id());
}

fn on_ui_thread() -> bool {
    UI_THREAD.get() == Some(&std::thread::current().id())
}

/// One service instance. The state is reference counted so that a connect thread still waiting
/// for the vendor when OBS destroys the service never touches freed memory.
struct ServiceData {
    state: Arc<Mutex<ServiceState>>,
}

struct ServiceState {
    golive: GoLive,
    /// Set by `destroy`: a connect thread that was waiting hands out no pointer into this state.
    destroyed: bool,
    /// What OBS reads as server and key. Replaced in `initialize` and on the connect thread
    /// right before it reads them; replaced values are retired, not freed, so pointers handed
    /// out stay valid while it reads them.
    server: CString,
    key: CString,
    rtmps: bool,
    /// Targets replaced during a failover, kept until the next start: the connect thread may
    /// still hold a pointer to them.
    retired: Vec<CString>,
    /// The output being streamed through, whose "stop" signal this instance listens to.
    output: Option<SignalLink>,
    /// The connect thread was just handed a failure while OBS quits: its last read of the
    /// target holds it (see [`quit`]).
    failed_in_quit: bool,
}

impl ServiceData {
    fn new(kind: ServiceKind, settings: Value, shared: Shared) -> Self {
        ServiceData {
            state: Arc::new(Mutex::new(ServiceState {
                golive: GoLive::new(ServiceSettings::parse(kind, &settings), shared),
                destroyed: false,
                server: PLACEHOLDER_SERVER.to_owned(),
                key: PLACEHOLDER_KEY.to_owned(),
                rtmps: false,
                retired: Vec::new(),
                output: None,
                failed_in_quit: false,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ServiceState> {
        lock_state(&self.state)
    }

    /// OBS destroys the instance.
    fn destroy(self) {
        // Taken out first: the signal handler's lock must never be taken under ours.
        let link = {
            let mut state = self.lock();
            state.destroyed = true;
            // A connect thread still waiting wakes now; it may hold the state a bit longer.
            state.golive.on_stopped();
            state.output.take()
        };
        if let Some(link) = link {
            link.disconnect();
        }
    }

    /// Start Streaming through `output`: resolve the target, or refuse with a message for
    /// OBS's dialog. `link` connects the output's signals to this instance.
    fn start(
        &self,
        output: Option<OutputView<'_>>,
        link: impl FnOnce(OutputView<'_>) -> Option<SignalLink>,
    ) -> Result<(), Message> {
        if let Some(output) = output {
            // Signal connections are changed outside our lock: libobs calls `on_output_stop`
            // with its signal lock held, and that callback takes ours.
            let previous = self.lock().output.take();
            if let Some(previous) = previous {
                previous.disconnect();
            }
            let link = link(output);
            self.lock().output = link;
        }
        let mut state = self.lock();
        // The previous start's connect thread is done: OBS starts an output only once its
        // last connect attempt ended.
        state.retired.clear();
        let begun = state.golive.start().map(|begun| match begun {
            Begin::Ready(plan) => Some(plan.primary.clone()),
            Begin::Resolving(_) => None,
        });
        match begun {
            Ok(Some(target)) => {
                state.set_target(&target);
                Ok(())
            }
            Ok(None) => {
                state.replace_target(
                    PLACEHOLDER_SERVER.to_owned(),
                    PLACEHOLDER_KEY.to_owned(),
                    false,
                );
                Ok(())
            }
            Err(e) => {
                state.replace_target(
                    PLACEHOLDER_SERVER.to_owned(),
                    PLACEHOLDER_KEY.to_owned(),
                    false,
                );
                Err(e.message())
            }
        }
    }

    /// The output to hold a failure for, once, when the connect thread was handed one while
    /// OBS quits (see [`quit`]). Never on OBS's UI thread, which the output's release needs.
    fn take_failure_in_quit(&self) -> Option<WeakOutput> {
        if on_ui_thread() {
            return None;
        }
        let mut state = self.lock();
        if std::mem::take(&mut state.failed_in_quit) {
            state.output.as_ref().map(SignalLink::weak)
        } else {
            None
        }
    }

    /// The output began sending: the stream is live.
    fn activate(&self) {
        let mut state = self.lock();
        let weak = state.output.as_ref().map(SignalLink::weak);
        if let Some(output) = weak {
            state.golive.on_live(Arc::new(FrontendRestart { output }));
        }
    }
}

fn lock_state(state: &Mutex<ServiceState>) -> MutexGuard<'_, ServiceState> {
    state.lock_recovered()
}

impl ServiceState {
    /// Hands out `target` from the next read on; the old strings are kept (see `retired`).
    fn set_target(&mut self, target: &RtmpTarget) {
        self.replace_target(
            c_string(&target.server),
            c_string(&target.key),
            target.is_rtmps(),
        );
    }

    fn replace_target(&mut self, server: CString, key: CString, rtmps: bool) {
        let old_server = std::mem::replace(&mut self.server, server);
        let old_key = std::mem::replace(&mut self.key, key);
        self.retired.extend([old_server, old_key]);
        self.rtmps = rtmps;
    }
}

/// A refused start: logged, and set as the output's last error for OBS's dialog.
fn report_refusal(output: Option<OutputView<'_>>, message: &Message) {
    let text = message.render(&ObsLocale);
    // Error texts are built from codes, hosts and RequestIds only: safe to log.
    log::warn!("go-live refused: {}", text.replace('\n', " | "));
    if let Some(output) = output {
        output.set_last_error(&text);
    }
}
