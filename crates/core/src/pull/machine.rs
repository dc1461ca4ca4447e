//! What a pull source does next: the state machine its [`super::session`] drives.
//!
//! Active -> dispatch -> play the chosen node -> the first frame confirms it. When playback
//! ends, or no frame comes within [`FIRST_FRAME_TIMEOUT`], or the dispatch fails, nothing is
//! shown (never a frozen frame), the reason is the status, and the next dispatch comes after a
//! [`Backoff`] wait; the node that failed is tried last. A URL is only ever played right after
//! its dispatch: the vendor gives a node 2 hours to be used, and a retry always dispatches
//! again, so no node outlives its validity.

use super::backoff::Backoff;
use super::resolve::Node;
use crate::messages::Message;
use std::time::Duration;

/// How long a node may take from the play request to the first frame. Beyond it the node is
/// treated as dead: a published stream starts within a key-frame interval or two.
pub const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a dispatch gave nothing to play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Nobody publishes the stream (the vendor's "playing node is empty").
    NotPublished,
    /// The vendor asked to slow down.
    RateLimited,
    /// A refusal asking again cannot change (credentials, AppID, parameters, a token that is
    /// revoked or may not play the stream): only new settings or the account's owner fix it.
    Refused,
    /// Another failure of the call (an internal fault, no answer, an unreadable one).
    Vendor,
    /// No listed node answered the RTMP handshake.
    NoNode,
    /// The node played nothing, or stopped.
    NoData,
}

/// A failure and its text for the properties and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What kind.
    pub kind: FailureKind,
    /// The localized text (no secret: codes, hosts, stream id and RequestId only).
    pub message: Message,
}

/// What the source is doing, as its properties show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Not active: nothing is dispatched or played.
    Idle,
    /// Dispatching, or waiting for the chosen node's first frame.
    Connecting,
    /// Frames arrive from this node.
    Playing(Node),
    /// Nothing is shown for this reason; the next dispatch comes after the wait.
    Waiting {
        /// Why.
        failure: Failure,
        /// How long until the next dispatch.
        retry_in: Duration,
    },
}

impl Status {
    /// The text for the source's properties.
    pub fn message(&self, stream_id: &str) -> Message {
        match self {
            Status::Idle => Message::new("Pull.Status.Idle"),
            Status::Connecting => Message::new("Pull.Status.Connecting").text(stream_id),
            Status::Playing(node) => Message::new("Pull.Status.Playing")
                .text(stream_id)
                .text(&node.host),
            Status::Waiting { failure, retry_in } => Message::new("Pull.Status.Waiting")
                .message_arg(failure.message.clone())
                .text(retry_in.as_secs_f64().ceil().to_string()),
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The source became active.
    Activated,
    /// The dispatch (and node probe) finished.
    Dispatched(Result<Node, Failure>),
    /// The played node's first frame arrived.
    FirstFrame,
    /// Playback ended or failed (the media source's end signal).
    Ended,
    /// No first frame within [`FIRST_FRAME_TIMEOUT`].
    NoFirstFrame,
    /// The retry wait is over.
    RetryDue,
    /// The credentials the source uses changed (the streaming service's, fixed by the
    /// streamer): a source waiting to retry asks again now.
    CredentialsChanged,
    /// The source became inactive.
    Deactivated,
}

/// What the session must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Dispatch, trying this URL (the node that just failed) last.
    Dispatch {
        /// The URL to try last.
        avoid: Option<String>,
    },
    /// Play this URL and wait up to [`FIRST_FRAME_TIMEOUT`] for its first frame.
    Play(String),
    /// Stop playback and show nothing.
    Clear,
    /// Wait this long, then [`Event::RetryDue`].
    Wait(Duration),
    /// Nothing more: the source is inactive.
    Stop,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Idle,
    Dispatching,
    Starting(Node),
    Playing(Node),
    Waiting,
}

/// The state machine of one source.
#[derive(Debug)]
pub struct PullMachine<D: FnMut(Duration) -> Duration> {
    state: State,
    status: Status,
    backoff: Backoff,
    failed_url: Option<String>,
    draw: D,
}

impl PullMachine<fn(Duration) -> Duration> {
    /// A machine whose retry waits are random (full jitter).
    pub fn new() -> Self {
        PullMachine::with_draw(crate::retry::jitter)
    }
}

impl Default for PullMachine<fn(Duration) -> Duration> {
    fn default() -> Self {
        Self::new()
    }
}

impl<D: FnMut(Duration) -> Duration> PullMachine<D> {
    /// A machine drawing its waits from a window with `draw` (tests pass a fixed one).
    pub fn with_draw(draw: D) -> Self {
        PullMachine {
            state: State::Idle,
            status: Status::Idle,
            backoff: Backoff::default(),
            failed_url: None,
            draw,
        }
    }

    /// What the source is doing.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// The actions `event` calls for, in order; events that do not apply in the current state
    /// (a late first frame after a failure, say) change nothing.
    pub fn on(&mut self, event: Event) -> Vec<Action> {
        let state = std::mem::replace(&mut self.state, State::Idle);
        let (state, actions) = match (state, event) {
            (_, Event::Deactivated) => {
                self.status = Status::Idle;
                self.backoff.reset();
                self.failed_url = None;
                (State::Idle, vec![Action::Clear, Action::Stop])
            }
            (State::Idle, Event::Activated) => self.dispatch(),
            (State::Dispatching, Event::Dispatched(Ok(node))) => {
                self.status = Status::Connecting;
                let url = node.url.clone();
                (State::Starting(node), vec![Action::Play(url)])
            }
            (State::Dispatching, Event::Dispatched(Err(failure))) => self.fail(failure),
            (State::Starting(node), Event::FirstFrame) => {
                self.backoff.reset();
                self.failed_url = None;
                self.status = Status::Playing(node.clone());
                (State::Playing(node), Vec::new())
            }
            // An end while starting may be the previous media's (its end signal is
            // asynchronous): only the first-frame timeout fails a node that is starting.
            (State::Starting(node), Event::NoFirstFrame) | (State::Playing(node), Event::Ended) => {
                let failure = Failure {
                    kind: FailureKind::NoData,
                    message: Message::new("Pull.Error.NoData").text(&node.host),
                };
                self.failed_url = Some(node.url);
                self.fail(failure)
            }
            (State::Waiting, Event::RetryDue) => self.dispatch(),
            // Like new settings: the old failures say nothing about the new credentials.
            (State::Waiting, Event::CredentialsChanged) => {
                self.backoff.reset();
                self.dispatch()
            }
            (state, _) => (state, Vec::new()),
        };
        self.state = state;
        actions
    }

    fn dispatch(&mut self) -> (State, Vec<Action>) {
        if !matches!(self.status, Status::Waiting { .. }) {
            self.status = Status::Connecting;
        }
        let avoid = self.failed_url.clone();
        (State::Dispatching, vec![Action::Dispatch { avoid }])
    }

    fn fail(&mut self, failure: Failure) -> (State, Vec<Action>) {
        let retry_in = self.backoff.next_with(failure.kind, &mut self.draw);
        self.status = Status::Waiting { failure, retry_in };
        (State::Waiting, vec![Action::Clear, Action::Wait(retry_in)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(host: &str) -> Node {
        Node {
            url: format!("rtmp://{host}/live/s"),
            host: host.to_string(),
            request_id: "R".to_string(),
        }
    }

    fn not_published() -> Failure {
        Failure {
            kind: FailureKind::NotPublished,
            message: Message::new("Pull.Error.NotPublished"),
        }
    }

    /// Waits are the whole window, so the test sees the windows themselves.
    fn machine() -> PullMachine<impl FnMut(Duration) -> Duration> {
        PullMachine::with_draw(|w| w)
    }

    #[test]
    fn plays_the_dispatched_node_and_confirms_on_the_first_frame() {
        let mut m = machine();
        assert_eq!(m.on(Event::Activated), [Action::Dispatch { avoid: None }]);
        assert_eq!(m.status(), &Status::Connecting);
        assert_eq!(
            m.on(Event::Dispatched(Ok(node("a:1935")))),
            [Action::Play("rtmp://a:1935/live/s".into())]
        );
        assert_eq!(m.on(Event::FirstFrame), []);
        assert_eq!(m.status(), &Status::Playing(node("a:1935")));
        assert_eq!(m.on(Event::Deactivated), [Action::Clear, Action::Stop]);
        assert_eq!(m.status(), &Status::Idle);
    }

    #[test]
    fn a_lost_node_clears_the_picture_and_redispatches_avoiding_it() {
        let mut m = machine();
        m.on(Event::Activated);
        m.on(Event::Dispatched(Ok(node("a:1935"))));
        m.on(Event::FirstFrame);
        assert_eq!(
            m.on(Event::Ended),
            [Action::Clear, Action::Wait(Duration::from_secs(1))]
        );
        assert!(matches!(
            m.status(),
            Status::Waiting {
                failure: Failure {
                    kind: FailureKind::NoData,
                    ..
                },
                ..
            }
        ));
        assert_eq!(
            m.on(Event::RetryDue),
            [Action::Dispatch {
                avoid: Some("rtmp://a:1935/live/s".into())
            }]
        );
        m.on(Event::Dispatched(Ok(node("b:1935"))));
        m.on(Event::FirstFrame);
        assert_eq!(m.status(), &Status::Playing(node("b:1935")));
    }

    #[test]
    fn failures_back_off_doubling_to_the_cap_and_a_frame_resets_it() {
        let mut m = machine();
        m.on(Event::Activated);
        let mut waits = Vec::new();
        for _ in 0..6 {
            for action in m.on(Event::Dispatched(Err(not_published()))) {
                if let Action::Wait(d) = action {
                    waits.push(d.as_secs());
                }
            }
            m.on(Event::RetryDue);
        }
        assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
        m.on(Event::Dispatched(Ok(node("a:1935"))));
        // No frame in time: a failure, still backed off.
        assert_eq!(
            m.on(Event::NoFirstFrame),
            [Action::Clear, Action::Wait(Duration::from_secs(10))]
        );
        m.on(Event::RetryDue);
        m.on(Event::Dispatched(Ok(node("a:1935"))));
        m.on(Event::FirstFrame);
        m.on(Event::Ended);
        assert!(matches!(
            m.status(),
            Status::Waiting { retry_in, .. } if *retry_in == Duration::from_secs(1)
        ));
    }

    #[test]
    fn a_refusal_is_asked_again_only_after_the_refused_window() {
        let mut m = machine();
        m.on(Event::Activated);
        let refused = Failure {
            kind: FailureKind::Refused,
            message: Message::new("Zego.Code.AuthFailed"),
        };
        assert_eq!(
            m.on(Event::Dispatched(Err(refused))),
            [
                Action::Clear,
                Action::Wait(super::super::backoff::REFUSED_WINDOW)
            ]
        );
    }

    #[test]
    fn new_credentials_end_a_refusal_s_wait_at_once_and_leave_a_playing_node_alone() {
        let mut m = machine();
        m.on(Event::Activated);
        let refused = Failure {
            kind: FailureKind::Refused,
            message: Message::new("Zego.Code.AuthFailed"),
        };
        m.on(Event::Dispatched(Err(refused)));
        assert_eq!(
            m.on(Event::CredentialsChanged),
            [Action::Dispatch { avoid: None }]
        );
        // The backoff starts over: the next failure waits the first step.
        assert_eq!(
            m.on(Event::Dispatched(Err(not_published()))),
            [Action::Clear, Action::Wait(Duration::from_secs(1))]
        );
        m.on(Event::RetryDue);
        assert_eq!(m.on(Event::CredentialsChanged), [], "while dispatching");
        m.on(Event::Dispatched(Ok(node("a:1935"))));
        m.on(Event::FirstFrame);
        assert_eq!(m.on(Event::CredentialsChanged), [], "while playing");
        assert_eq!(m.status(), &Status::Playing(node("a:1935")));
    }

    #[test]
    fn stray_events_change_nothing() {
        let mut m = machine();
        assert_eq!(m.on(Event::FirstFrame), []);
        assert_eq!(m.on(Event::RetryDue), []);
        assert_eq!(m.status(), &Status::Idle);
        m.on(Event::Activated);
        assert_eq!(m.on(Event::Ended), [], "nothing plays while dispatching");
        m.on(Event::Dispatched(Ok(node("a:1935"))));
        assert_eq!(m.on(Event::Ended), [], "a late end of the previous media");
        m.on(Event::NoFirstFrame);
        m.on(Event::RetryDue);
        m.on(Event::Dispatched(Err(not_published())));
        assert_eq!(m.on(Event::FirstFrame), [], "a late frame while waiting");
        assert!(matches!(m.status(), Status::Waiting { .. }));
    }

    #[test]
    fn deactivation_forgets_the_backoff() {
        let mut m = machine();
        m.on(Event::Activated);
        m.on(Event::Dispatched(Err(not_published())));
        m.on(Event::RetryDue);
        m.on(Event::Dispatched(Err(not_published())));
        m.on(Event::Deactivated);
        m.on(Event::Activated);
        assert_eq!(
            m.on(Event::Dispatched(Err(not_published()))),
            [Action::Clear, Action::Wait(Duration::from_secs(1))]
        );
    }
}
