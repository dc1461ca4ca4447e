//! What the window shows below its buttons: a test running, or the last button's outcome, or an
//! alert. One window exists, so one state. No libobs.

use rtc_golive_core::config::ServiceKind;
use rtc_golive_core::lock::LockRecovered;
use rtc_golive_core::messages::Message;
use rtc_golive_core::report::GoLiveReport;
use std::sync::{Mutex, MutexGuard};

static STATE: Mutex<WindowState> = Mutex::new(WindowState {
    testing: None,
    outcome: None,
});

/// The window's state, under its lock.
pub fn state() -> MutexGuard<'static, WindowState> {
    STATE.lock_recovered()
}

/// See the module documentation.
#[derive(Debug)]
pub struct WindowState {
    /// A Test connection of this provider is running.
    pub testing: Option<ServiceKind>,
    /// The last button's outcome.
    pub outcome: Option<Outcome>,
}

/// What a button (or the plugin) last did.
#[derive(Debug)]
pub enum Outcome {
    /// Test connection ended with this report.
    Tested(ServiceKind, GoLiveReport),
    /// Apply made this provider the streaming service.
    Applied(ServiceKind),
    /// A button was refused for this reason.
    Refused(Message),
    /// A problem found while live, raised by the plugin itself.
    Alert(Message),
}

/// How the result line looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// A plain report.
    Normal,
    /// Something under way.
    Warning,
    /// A failure.
    Error,
}

impl WindowState {
    /// The text under the buttons and how it is shown (none: the line is hidden).
    pub fn result_line(&self) -> Option<(Message, Tone)> {
        if let Some(kind) = self.testing {
            return Some((
                Message::new("Ui.Test.Running").key_arg(kind.name_key()),
                Tone::Warning,
            ));
        }
        match self.outcome.as_ref()? {
            Outcome::Tested(kind, report) => Some(match &report.error {
                None => (
                    Message::new("Ui.Test.Ok")
                        .key_arg(kind.name_key())
                        .text(report.latency.as_millis().to_string())
                        .text(&report.node)
                        .text(&report.request_id),
                    Tone::Normal,
                ),
                Some(error) => (
                    Message::new("Ui.Test.Failed").message_arg(error.clone()),
                    Tone::Error,
                ),
            }),
            Outcome::Applied(kind) => Some((
                Message::new("Ui.Apply.Done").key_arg(kind.name_key()),
                Tone::Normal,
            )),
            Outcome::Refused(message) | Outcome::Alert(message) => {
                Some((message.clone(), Tone::Error))
            }
        }
    }

    /// A problem with the live stream; a test running keeps its line.
    pub fn alert(&mut self, message: Message) {
        if self.testing.is_none() {
            self.outcome = Some(Outcome::Alert(message));
        }
    }
}
