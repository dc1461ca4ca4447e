//! Restarting or stopping a live stream through the frontend, for the core's failover and the
//! platform's refusals while live ([`StreamControl`]).

use super::super::guard::guard;
use super::super::libobs::frontend::{queue_ui_task, UiThread};
use super::super::libobs::output::WeakOutput;
use rtc_golive_core::host::StreamControl;
use std::os::raw::c_void;
use std::time::{Duration, Instant};

/// Restarts streaming through the frontend, as the user would: Stop Streaming, wait until the
/// output has really stopped (not stopping, not reconnecting), then Start Streaming, which
/// resolves a fresh target. Called from a background task, never from OBS's threads.
pub struct FrontendRestart {
    /// The output being streamed through.
    pub output: WeakOutput,
}

/// How long a restart waits for the output to stop.
const RESTART_STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// A pause between the stop and the start, for the frontend to settle its own state.
const RESTART_SETTLE: Duration = Duration::from_millis(500);

impl FrontendRestart {
    /// Whether the output is still sending, stopping or reconnecting (false once it is gone).
    fn output_busy(&self) -> bool {
        self.output.upgrade().is_some_and(|output| {
            let output = output.view();
            output.active() || output.reconnecting()
        })
    }
}

impl StreamControl for FrontendRestart {
    fn restart(&self) {
        queue_ui_task(stop_streaming_task);
        let deadline = Instant::now() + RESTART_STOP_TIMEOUT;
        while self.output_busy() {
            if Instant::now() >= deadline {
                log::warn!(
                    "restart: the output did not stop within {} s; not restarting",
                    RESTART_STOP_TIMEOUT.as_secs()
                );
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(RESTART_SETTLE);
        queue_ui_task(start_streaming_task);
    }

    fn stop(&self) {
        log::warn!("stopping the stream: it cannot go on (the reason is in the plugin's window)");
        queue_ui_task(stop_streaming_task);
    }
}

fn stop_streaming(ui: UiThread) {
    if ui.streaming_active() {
        ui.stop_streaming();
    }
}

fn start_streaming(ui: UiThread) {
    if !ui.streaming_active() {
        ui.start_streaming();
    }
}

unsafe extern "C" fn stop_streaming_task(_: *mut c_void) {
    guard("stop_streaming_task", (), || {
        // SAFETY: OBS runs UI tasks on its UI thread.
        stop_streaming(unsafe { UiThread::assume() })
    })
}

unsafe extern "C" fn start_streaming_task(_: *mut c_void) {
    guard("start_streaming_task", (), || {
        // SAFETY: OBS runs UI tasks on its UI thread.
        start_streaming(unsafe { UiThread::assume() })
    })
}
