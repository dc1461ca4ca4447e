//! One activation of a pull source: the [`PullMachine`] run on a background thread, so the
//! vendor call, the node probe and every wait happen off OBS's threads.
//!
//! The OBS layer starts a session when the source becomes active, reports the child player's
//! first frame and end of playback to it, and drops it when the source becomes inactive; the
//! session plays, clears and reports its status through [`Player`].

use super::machine::{Action, Event, PullMachine, Status, FIRST_FRAME_TIMEOUT};
use super::resolve::resolve;
use super::settings::PullConfig;
use crate::background::StopSignal;
use crate::messages::Message;
use crate::shared::Shared;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a session with nothing to wait for checks whether it was asked to stop.
const STOP_POLL: Duration = Duration::from_millis(250);

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
    /// Starts a session on `shared`'s background runner: `config` is read there (it may ask
    /// OBS for the streaming service's settings), then the machine runs until the session is
    /// dropped or the module unloads.
    pub fn start(
        shared: &Shared,
        player: Arc<dyn Player>,
        config: impl FnOnce() -> Result<PullConfig, Message> + Send + 'static,
    ) -> PullSession {
        let (events, inbox) = channel();
        let shared_for_task = shared.clone();
        let stop = shared.background.spawn("pull", move |stop| {
            match config() {
                Ok(config) => run(&shared_for_task, &config, player.as_ref(), &inbox, &stop),
                Err(message) => player.status_changed(&SessionStatus::Unusable(message)),
            };
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

/// The machine's loop: one event at a time, from the OBS layer or from the loop itself (a
/// dispatch result, a timer).
fn run(
    shared: &Shared,
    config: &PullConfig,
    player: &dyn Player,
    inbox: &Receiver<Event>,
    stop: &StopSignal,
) {
    let mut machine = PullMachine::new();
    let mut next = Some(Event::Activated);
    let mut timer: Option<(Instant, Event)> = None;
    let mut shown = None;
    loop {
        let event = if stop.is_stopped() {
            Event::Deactivated
        } else if let Some(event) = next.take() {
            event
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
                    next = Some(Event::Dispatched(resolve(
                        &shared.http,
                        &shared.sequence,
                        config,
                        avoid.as_deref(),
                    )));
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
        let status = machine.status();
        if shown.as_ref() != Some(status) {
            player.status_changed(&SessionStatus::Running(status.clone()));
            shown = Some(status.clone());
        }
        if stopping {
            return;
        }
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
