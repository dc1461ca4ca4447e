//! One activation of a pull source: the [`PullMachine`] run on a background thread, so the
//! vendor call, the node probe and every wait happen off OBS's threads.
//!
//! The OBS layer starts a session when the source becomes active, reports the child player's
//! first frame and end of playback to it, and drops it when the source becomes inactive; the
//! session plays, clears and reports its status through [`Player`].

use super::machine::{
    Action, Event, Failure, FailureKind, PullMachine, Status, FIRST_FRAME_TIMEOUT,
};
use super::resolve::resolve;
use super::settings::PullConfig;
use crate::background::StopSignal;
use crate::messages::Message;
use crate::shared::{ChangeCount, Shared};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a session with nothing to wait for checks whether it was asked to stop.
const STOP_POLL: Duration = Duration::from_millis(250);
/// How long a change of the streaming services waits before the session reads them. A
/// service is created before the frontend makes it the streaming service and lets the old one
/// go, all in one task on OBS's UI thread; reading the frontend's service while it swaps them
/// could catch the old one as it is freed.
const CHANGE_SETTLE: Duration = Duration::from_secs(1);

/// What the OBS layer does for a session.
pub trait Player: Send + Sync {
    /// Plays `url` in place of whatever played.
    fn play(&self, url: &str);
    /// Stops playback and shows nothing.
    fn clear(&self);
    /// The session's status changed.
    fn status_changed(&self, status: &SessionStatus);
}

/// What a session is doing, as the source's properties and log show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionStatus {
    /// The settings (or the streaming service's credentials) cannot be used: nothing is
    /// dispatched until they change.
    Unusable(Message),
    /// The machine's status.
    Running(Status),
}

/// A running session; dropping it stops it (without waiting for the thread).
pub struct PullSession {
    events: Sender<Event>,
    stop: Arc<StopSignal>,
}

impl PullSession {
    /// Starts a session on `shared`'s background runner. `config` is read there (it may ask
    /// OBS for the streaming service's settings): first, before every dispatch, and whenever
    /// one of the module's streaming services changes ([`Shared::service_changes`]), so that
    /// credentials fixed in the service reach the source without touching it. The machine
    /// runs until the session is dropped or the module unloads.
    pub fn start(
        shared: &Shared,
        player: Arc<dyn Player>,
        config: impl FnMut() -> Result<PullConfig, Message> + Send + 'static,
    ) -> PullSession {
        let (events, inbox) = channel();
        let shared_for_task = shared.clone();
        let stop = shared.background.spawn("pull", move |stop| {
            let mut credentials = Credentials::new(&shared_for_task, config);
            run(
                &shared_for_task,
                &mut credentials,
                player.as_ref(),
                &inbox,
                &stop,
            );
        });
        PullSession { events, stop }
    }

    /// The child player showed its first frame.
    pub fn first_frame(&self) {
        // A session whose thread ended no longer needs events.
        let _ = self.events.send(Event::FirstFrame);
    }

    /// The child player's playback ended or failed.
    pub fn ended(&self) {
        let _ = self.events.send(Event::Ended);
    }
}

impl Drop for PullSession {
    fn drop(&mut self) {
        let _ = self.events.send(Event::Deactivated);
        self.stop.stop();
    }
}

/// The session's configuration as last read, and whether the streaming services changed
/// since.
struct Credentials<'a, F> {
    read: F,
    current: Result<PullConfig, Message>,
    changes: &'a ChangeCount,
    /// The change count at the last read.
    seen: u64,
    /// A newer count, and when it was first seen.
    settling: Option<(u64, Instant)>,
}

impl<'a, F: FnMut() -> Result<PullConfig, Message>> Credentials<'a, F> {
    fn new(shared: &'a Shared, mut read: F) -> Self {
        // The count is taken before the read: a change during it is seen at the next check.
        let seen = shared.service_changes.get();
        Credentials {
            current: read(),
            read,
            changes: &shared.service_changes,
            seen,
            settling: None,
        }
    }

    /// Reads the configuration again, for a dispatch.
    fn reread(&mut self) -> &Result<PullConfig, Message> {
        self.seen = self.changes.get();
        self.settling = None;
        self.current = (self.read)();
        &self.current
    }

    /// Whether a streaming service changed in a way that changes this session's configuration
    /// (a source with its own credentials ignores the service). A change is read once the
    /// count has held still for [`CHANGE_SETTLE`].
    fn changed(&mut self) -> bool {
        let count = self.changes.get();
        if count == self.seen {
            return false;
        }
        match self.settling {
            Some((settling, since)) if settling == count => {
                if since.elapsed() < CHANGE_SETTLE {
                    return false;
                }
            }
            _ => {
                self.settling = Some((count, Instant::now()));
                return false;
            }
        }
        let before = self.current.clone();
        before != *self.reread()
    }
}

/// The machine's loop: one event at a time, from the OBS layer or from the loop itself (a
/// dispatch result, a timer, a change of credentials). A configuration that cannot be used
/// shows why and waits for a change before the first dispatch.
fn run<F: FnMut() -> Result<PullConfig, Message>>(
    shared: &Shared,
    credentials: &mut Credentials<'_, F>,
    player: &dyn Player,
    inbox: &Receiver<Event>,
    stop: &StopSignal,
) {
    let mut machine = PullMachine::new();
    let mut activated = false;
    let mut next = None;
    let mut timer: Option<(Instant, Event)> = None;
    let mut shown = None;
    loop {
        if !activated {
            match &credentials.current {
                Ok(_) => {
                    activated = true;
                    next = Some(Event::Activated);
                }
                Err(message) => show(player, &mut shown, SessionStatus::Unusable(message.clone())),
            }
        }
        let event = if stop.is_stopped() {
            Event::Deactivated
        } else if let Some(event) = next.take() {
            event
        } else if credentials.changed() {
            if !activated {
                continue;
            }
            Event::CredentialsChanged
        } else {
            match wait(inbox, &mut timer) {
                Some(event) => event,
                None => continue,
            }
        };
        let stopping = event == Event::Deactivated;
        for action in machine.on(event) {
            match action {
                Action::Dispatch { avoid } => {
                    timer = None;
                    let result = match credentials.reread() {
                        Ok(config) => {
                            resolve(&shared.http, &shared.sequence, config, avoid.as_deref())
                        }
                        // The service no longer offers usable credentials: like a refusal, asked
                        // again after a while or as soon as the service changes.
                        Err(message) => Err(Failure {
                            kind: FailureKind::Refused,
                            message: message.clone(),
                        }),
                    };
                    next = Some(Event::Dispatched(result));
                }
                Action::Play(url) => {
                    player.play(&url);
                    timer = Some((Instant::now() + FIRST_FRAME_TIMEOUT, Event::NoFirstFrame));
                }
                Action::Clear => player.clear(),
                Action::Wait(delay) => timer = Some((Instant::now() + delay, Event::RetryDue)),
                Action::Stop => {}
            }
        }
        if activated {
            show(
                player,
                &mut shown,
                SessionStatus::Running(machine.status().clone()),
            );
        }
        if stopping {
            return;
        }
    }
}

/// Tells the player about `status` when it differs from what it last showed.
fn show(player: &dyn Player, shown: &mut Option<SessionStatus>, status: SessionStatus) {
    if shown.as_ref() != Some(&status) {
        player.status_changed(&status);
        *shown = Some(status);
    }
}

/// The next event from the OBS layer, or the timer's when it is due first; `None` when only
/// the stop poll came up.
fn wait(inbox: &Receiver<Event>, timer: &mut Option<(Instant, Event)>) -> Option<Event> {
    let now = Instant::now();
    let limit = timer
        .as_ref()
        .map_or(STOP_POLL, |(at, _)| at.saturating_duration_since(now))
        .min(STOP_POLL);
    match inbox.recv_timeout(limit) {
        Ok(event) => Some(event),
        Err(RecvTimeoutError::Disconnected) => Some(Event::Deactivated),
        Err(RecvTimeoutError::Timeout) => match timer {
            Some((at, _)) if *at <= Instant::now() => timer.take().map(|(_, event)| event),
            _ => None,
        },
    }
}
