//! The pull source's player: OBS's Media Source as a private child, driven by the core's
//! session through [`Player`], and what the source shows of it.

use crate::libobs::media_child::{InRender, MediaChild};
use crate::libobs::properties::InfoKind;
use crate::libobs::source::WeakSource;
use crate::locale::ObsLocale;
use rtc_golive_core::lock::LockRecovered;
use rtc_golive_core::messages::Message;
use rtc_golive_core::pull::machine::{FailureKind, Status};
use rtc_golive_core::pull::session::{Player, SessionStatus};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The child's own reconnect delay (`reconnect_delay_sec`, OBS's smallest).
///
/// Reconnecting is the session's job (it dispatches again: the node may have moved), but a
/// network Media Source always starts a reconnect thread of its own when playback ends, which
/// sleeps this long and then opens its input again (nothing: the session cleared it). A new
/// URL given to the child while that thread sleeps would make OBS's graphics thread wait for
/// it to wake (`ffmpeg_source_update` joins it), so [`ChildPlayer::play`] waits it out first,
/// on the session's thread.
const CHILD_RECONNECT_DELAY: Duration = Duration::from_secs(1);
/// Beyond [`CHILD_RECONNECT_DELAY`]: the thread starts at the child's next tick after the end,
/// and may wake late on a loaded machine. The margin is wide because the update must not meet
/// the thread waking up: `ffmpeg_source_update` frees the input the waking thread reads before
/// it joins the thread (seen as a media thread stuck opening the next node, under a load
/// average of 5 on 2 cores, with a 300 ms margin).
const CHILD_RECONNECT_MARGIN: Duration = Duration::from_secs(1);

/// How long a playing stream that had sound may go without any before it counts as ended: a
/// node can stop sending without closing the connection, and a frozen picture must not stay.
const SILENCE_LIMIT: Duration = Duration::from_secs(3);

/// The child's settings that never change: a network input that closes when inactive, shows
/// nothing (not a frozen frame) when playback ends, and fails a silent node after 5 s of no
/// data (`rw_timeout`, in microseconds) instead of waiting on it forever. It does not restart
/// by itself on activation: the session gives it a freshly dispatched URL then, and the
/// child's own restart of the old input, racing that update, left it stalled after its first
/// frame now and then (hide and show the source in `tests/e2e_pull.rs`).
pub fn child_settings() -> Value {
    json!({
        "is_local_file": false,
        "input": "",
        "input_format": "",
        "hw_decode": true,
        "restart_on_activate": false,
        "close_when_inactive": true,
        "clear_on_media_end": true,
        "reconnect_delay_sec": CHILD_RECONNECT_DELAY.as_secs(),
        "ffmpeg_options": "rw_timeout=5000000",
    })
}

/// What the source shows now: its status text and how to show it.
struct Shown {
    text: String,
    kind: InfoKind,
}

/// The child and the source's view of it, shared by OBS's callbacks and the session's thread.
pub struct ChildPlayer {
    child: MediaChild,
    parent: Mutex<WeakSource>,
    /// Whether the child's picture may be shown (a node was handed to it).
    showing: AtomicBool,
    /// Whether the first frame of the node handed to it is still to come.
    awaiting_frame: AtomicBool,
    /// When the source became active, and when the current node was handed to the child.
    times: Mutex<(Option<Instant>, Option<Instant>)>,
    shown: Mutex<Shown>,
    stream_id: Mutex<String>,
    /// When the child last reported the end of playback.
    ended_at: Mutex<Option<Instant>>,
    /// When the child's audio last arrived for the node it plays (none before the first).
    last_audio: Mutex<Option<Instant>>,
    /// The session allowed to drive the player; a stopped one may still be finishing a
    /// dispatch on its thread, and must not touch the child any more.
    generation: AtomicU64,
}

impl ChildPlayer {
    /// The player of the source `parent`, through `child`.
    pub fn new(child: MediaChild, parent: WeakSource) -> Self {
        ChildPlayer {
            child,
            parent: Mutex::new(parent),
            showing: AtomicBool::new(false),
            awaiting_frame: AtomicBool::new(false),
            times: Mutex::new((None, None)),
            shown: Mutex::new(Shown {
                text: Message::new("Pull.Status.Idle").render(&ObsLocale),
                kind: InfoKind::Normal,
            }),
            stream_id: Mutex::new(String::new()),
            ended_at: Mutex::new(None),
            last_audio: Mutex::new(None),
            generation: AtomicU64::new(0),
        }
    }

    /// The player for a new session (`stream_id` for the texts): sessions before it lose it.
    pub fn for_session(self: &Arc<Self>, stream_id: &str) -> SessionPlayer {
        *self.stream_id.lock_recovered() = stream_id.to_string();
        *self.times.lock_recovered() = (Some(Instant::now()), None);
        SessionPlayer {
            player: self.clone(),
            generation: self.generation.fetch_add(1, Ordering::SeqCst) + 1,
        }
    }

    /// The source became inactive: no session drives the player, and it shows nothing at once.
    pub fn stop(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.clear();
        self.show(&Message::new("Pull.Status.Idle"), InfoKind::Normal);
    }

    /// The child source.
    pub fn child(&self) -> &MediaChild {
        &self.child
    }

    /// The child reported the end of playback (its own reconnect thread starts).
    pub fn ended(&self) {
        *self.ended_at.lock_recovered() = Some(Instant::now());
    }

    /// Draws the child when it plays a node (nothing otherwise).
    pub fn render(&self, render: InRender) {
        if self.showing.load(Ordering::SeqCst) {
            self.child.render(render);
        }
    }

    /// The child's size while it plays, else 0 x 0.
    pub fn size(&self) -> (u32, u32) {
        if self.showing.load(Ordering::SeqCst) {
            self.child.size()
        } else {
            (0, 0)
        }
    }

    /// Whether the node's first frame just arrived (true once per node); at every video tick.
    pub fn first_frame_arrived(&self) -> bool {
        if !self.awaiting_frame.load(Ordering::SeqCst) || self.child.size().0 == 0 {
            return false;
        }
        if !self.awaiting_frame.swap(false, Ordering::SeqCst) {
            return false;
        }
        let (activated, played) = *self.times.lock_recovered();
        let ms = |t: Option<Instant>| t.map_or(0, |t| t.elapsed().as_millis());
        log::info!(
            "pull '{}': first frame {} ms after activation, {} ms after the node was handed to the player",
            self.source_name(),
            ms(activated),
            ms(played)
        );
        true
    }

    /// The child's audio arrived (any thread).
    pub fn audio_arrived(&self) {
        if self.showing.load(Ordering::SeqCst) {
            *self.last_audio.lock_recovered() = Some(Instant::now());
        }
    }

    /// Whether the stream, which had sound, has been silent for too long (true once per
    /// silence); at every video tick.
    pub fn went_silent(&self) -> bool {
        let mut last = self.last_audio.lock_recovered();
        match *last {
            Some(at) if at.elapsed() > SILENCE_LIMIT => {
                *last = None;
                log::info!(
                    "pull '{}': no audio for {} s: the node stopped sending",
                    self.source_name(),
                    SILENCE_LIMIT.as_secs()
                );
                true
            }
            _ => false,
        }
    }

    /// The status text and its kind, for the properties.
    pub fn status_text(&self) -> (String, InfoKind) {
        let shown = self.shown.lock_recovered();
        (shown.text.clone(), shown.kind)
    }

    fn source_name(&self) -> String {
        self.parent
            .lock_recovered()
            .upgrade()
            .map(|s| s.view().name())
            .unwrap_or_default()
    }
}

impl ChildPlayer {
    fn play(&self, url: &str) {
        let ended_at = *self.ended_at.lock_recovered();
        if let Some(ended_at) = ended_at {
            let ready = ended_at + CHILD_RECONNECT_DELAY + CHILD_RECONNECT_MARGIN;
            std::thread::sleep(ready.saturating_duration_since(Instant::now()));
        }
        self.times.lock_recovered().1 = Some(Instant::now());
        // A frame left from an earlier node must not pass for this node's first one.
        self.child.show_nothing();
        *self.last_audio.lock_recovered() = None;
        self.awaiting_frame.store(true, Ordering::SeqCst);
        self.showing.store(true, Ordering::SeqCst);
        self.child.update(&json!({ "input": url }));
    }

    fn clear(&self) {
        self.showing.store(false, Ordering::SeqCst);
        *self.last_audio.lock_recovered() = None;
        self.awaiting_frame.store(false, Ordering::SeqCst);
        // No input: a later activation of the child must not restart a stale node.
        self.child.update(&json!({ "input": "" }));
        self.child.show_nothing();
    }

    fn status_changed(&self, status: &SessionStatus) {
        let stream_id = self.stream_id.lock_recovered().clone();
        let (message, kind) = match status {
            SessionStatus::Unusable(message) => (message.clone(), InfoKind::Error),
            SessionStatus::Running(status) => (
                status.message(&stream_id),
                match status {
                    Status::Waiting { failure, .. } if failure.kind == FailureKind::Vendor => {
                        InfoKind::Error
                    }
                    Status::Waiting { .. } => InfoKind::Warning,
                    _ => InfoKind::Normal,
                },
            ),
        };
        self.show(&message, kind);
    }

    /// Shows `message` in the properties and the log.
    fn show(&self, message: &Message, kind: InfoKind) {
        let text = message.render(&ObsLocale);
        // Status texts hold codes, hosts, the stream id and RequestIds only: safe to log.
        log::info!(
            "pull '{}': {}",
            self.source_name(),
            text.replace('\n', " | ")
        );
        *self.shown.lock_recovered() = Shown { text, kind };
        if let Some(parent) = self.parent.lock_recovered().upgrade() {
            parent.view().update_properties();
        }
    }
}

/// The player as one session sees it: every call is dropped once a newer session (or the
/// source's deactivation) took the player over.
pub struct SessionPlayer {
    player: Arc<ChildPlayer>,
    generation: u64,
}

impl SessionPlayer {
    fn current(&self) -> Option<&ChildPlayer> {
        (self.player.generation.load(Ordering::SeqCst) == self.generation)
            .then_some(self.player.as_ref())
    }
}

impl Player for SessionPlayer {
    fn play(&self, url: &str) {
        if let Some(player) = self.current() {
            player.play(url);
        }
    }

    fn clear(&self) {
        if let Some(player) = self.current() {
            player.clear();
        }
    }

    fn status_changed(&self, status: &SessionStatus) {
        if let Some(player) = self.current() {
            player.status_changed(status);
        }
    }
}
