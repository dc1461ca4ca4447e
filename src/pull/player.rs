//! The pull source's player: OBS's Media Source as a private child, driven by the core's
//! session through [`Player`], and what the source shows of it.
//!
//! Each node gets a child of its own, created with the node's URL and dropped when the node
//! is done: a Media Source's settings are never changed while it plays. OBS 29.0's Media
//! Source frees its input while its own reconnect thread may still read it
//! (`ffmpeg_source_update` before joining that thread, which playback's end starts), and a
//! URL handed over that way now and then left the source stalled, never showing the next
//! node. A fresh child has no such thread, and nothing of the node before it.

use crate::guard::guard;
use crate::libobs::media_child::{ChildCallbacks, InRender, MediaChild, ParentSource};
use crate::libobs::properties::InfoKind;
use crate::libobs::source::{Source, WeakSource};
use crate::locale::ObsLocale;
use obs_wrapper::obs_sys::{audio_data, calldata_t, obs_source_t};
use rtc_golive_core::lock::{wait_recovered, LockRecovered};
use rtc_golive_core::messages::Message;
use rtc_golive_core::pull::machine::{FailureKind, Status};
use rtc_golive_core::pull::session::{Player, SessionStatus};
use serde_json::{json, Value};
use std::os::raw::c_void;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long a playing stream that had sound may go without any before it counts as ended: a
/// node can stop sending without closing the connection, and a frozen picture must not stay.
const SILENCE_LIMIT: Duration = Duration::from_secs(3);

/// How long the source's destroy waits for children still being released elsewhere: OBS must
/// not free its sources (at exit) while one is.
const RELEASE_WAIT: Duration = Duration::from_secs(5);

/// The settings of a child playing `url`: a network input, opened at once (the child is never
/// active itself: it plays while it exists, and exists while the source plays a node), that
/// shows nothing (not a frozen frame) when playback ends, and fails a silent node after 5 s
/// of no data (`rw_timeout`, in microseconds) instead of waiting on it forever. Its own
/// reconnect waits OBS's shortest delay: the session reconnects (it dispatches again: the
/// node may have moved) and drops the child, whose release waits for that thread.
fn child_settings(url: &str) -> Value {
    json!({
        "is_local_file": false,
        "input": url,
        "input_format": "",
        "hw_decode": true,
        "restart_on_activate": false,
        "close_when_inactive": false,
        "clear_on_media_end": true,
        "reconnect_delay_sec": 1,
        "ffmpeg_options": "rw_timeout=5000000",
    })
}

/// What the source shows now: its status text and how to show it.
struct Shown {
    text: String,
    kind: InfoKind,
}

/// The child now playing, and which session may change it.
struct Slot {
    /// The session allowed to drive the player; a stopped one may still be finishing a
    /// dispatch on its thread, and must not touch the child any more.
    generation: u64,
    child: Option<MediaChild>,
    /// The source is being destroyed: no child may be made any more.
    closed: bool,
}

/// Children being released on a background thread, which the source's destroy waits for.
#[derive(Default)]
struct Releases {
    pending: Mutex<usize>,
    done: Condvar,
}

impl Releases {
    /// Releases `child` on a background thread: the graphics thread must not wait for the
    /// child's own threads (OBS 29.0 destroys a source on the thread releasing it).
    fn release_elsewhere(self: &Arc<Self>, child: Source) {
        *self.pending.lock_recovered() += 1;
        let releases = self.clone();
        let task = move || {
            drop(child);
            *releases.pending.lock_recovered() -= 1;
            releases.done.notify_all();
        };
        match crate::shared() {
            Some(shared) => {
                shared.background.spawn("pull-release", move |_| task());
            }
            None => task(),
        }
    }

    /// Waits (up to [`RELEASE_WAIT`]) until no release is pending.
    fn wait(&self) {
        let deadline = Instant::now() + RELEASE_WAIT;
        let mut pending = self.pending.lock_recovered();
        while *pending > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                log::warn!("pull: {} media sources still being released", *pending);
                return;
            }
            pending = wait_recovered(&self.done, pending, left);
        }
    }
}

/// The children and the source's view of them, shared by OBS's callbacks and the session's
/// thread. Its address is the children's callback data: it lives in an [`Arc`] and drops its
/// children (disconnecting them) before anything else.
pub struct ChildPlayer {
    slot: Mutex<Slot>,
    releases: Arc<Releases>,
    audio_target: ParentSource,
    parent: Mutex<WeakSource>,
    /// Whether the current child reported the end of playback since the source last looked.
    ended: AtomicBool,
    /// Whether the first frame of the node handed to the player is still to come.
    awaiting_frame: AtomicBool,
    /// When the source became active, and when the current node was handed to the player.
    times: Mutex<(Option<Instant>, Option<Instant>)>,
    shown: Mutex<Shown>,
    stream_id: Mutex<String>,
    /// When the child's audio last arrived for the node it plays (none before the first).
    last_audio: Mutex<Option<Instant>>,
    /// The child's size as of the last video tick (width in the high half), for OBS's size
    /// queries: those hold the source's filter lock, and asking the child then would take the
    /// child's while its media thread, forwarding audio, holds the child's and waits for the
    /// source's.
    size: AtomicU64,
}

impl ChildPlayer {
    /// The player of the source `parent`, whose audio the children's is output as.
    pub fn new(audio_target: ParentSource, parent: WeakSource) -> Arc<Self> {
        Arc::new(ChildPlayer {
            slot: Mutex::new(Slot {
                generation: 0,
                child: None,
                closed: false,
            }),
            releases: Arc::default(),
            audio_target,
            parent: Mutex::new(parent),
            ended: AtomicBool::new(false),
            awaiting_frame: AtomicBool::new(false),
            times: Mutex::new((None, None)),
            shown: Mutex::new(Shown {
                text: Message::new("Pull.Status.Idle").render(&ObsLocale),
                kind: InfoKind::Normal,
            }),
            stream_id: Mutex::new(String::new()),
            last_audio: Mutex::new(None),
            size: AtomicU64::new(0),
        })
    }

    /// The player for a new session (`stream_id` for the texts): sessions before it lose it.
    pub fn for_session(self: &Arc<Self>, stream_id: &str) -> SessionPlayer {
        *self.stream_id.lock_recovered() = stream_id.to_string();
        *self.times.lock_recovered() = (Some(Instant::now()), None);
        let mut slot = self.slot.lock_recovered();
        slot.generation += 1;
        SessionPlayer {
            player: self.clone(),
            generation: slot.generation,
        }
    }

    /// The source became inactive (on the graphics thread): no session drives the player, and
    /// it shows nothing at once. The child is released elsewhere.
    pub fn stop(&self) {
        let child = {
            let mut slot = self.slot.lock_recovered();
            slot.generation += 1;
            slot.child.take()
        };
        if let Some(child) = child {
            self.releases.release_elsewhere(child.detach());
        }
        self.forget_node();
        self.show(&Message::new("Pull.Status.Idle"), InfoKind::Normal);
    }

    /// The source is being destroyed: the child goes now, no session may make another, and
    /// the children released elsewhere are gone when this returns (or the wait gave up).
    pub fn close(&self) {
        let child = {
            let mut slot = self.slot.lock_recovered();
            slot.generation += 1;
            slot.closed = true;
            slot.child.take()
        };
        drop(child);
        self.releases.wait();
    }

    /// Whether the child reported the end of playback since the last call; at every video
    /// tick.
    pub fn take_ended(&self) -> bool {
        self.ended.swap(false, Ordering::SeqCst)
    }

    /// Draws the child when one plays a node (nothing otherwise).
    pub fn render(&self, render: InRender) {
        if let Some(child) = &self.slot.lock_recovered().child {
            child.render(render);
        }
    }

    /// The child's size as of the last video tick (0 x 0 when none plays). Never asks the
    /// child (see the field).
    pub fn size(&self) -> (u32, u32) {
        let size = self.size.load(Ordering::SeqCst);
        ((size >> 32) as u32, size as u32)
    }

    /// Takes the size of the child now playing (0 x 0 when none plays); at every video tick.
    pub fn refresh_size(&self) {
        let (width, height) = self
            .slot
            .lock_recovered()
            .child
            .as_ref()
            .map_or((0, 0), MediaChild::size);
        self.size
            .store(u64::from(width) << 32 | u64::from(height), Ordering::SeqCst);
    }

    /// Whether the node's first frame just arrived (true once per node); at every video tick,
    /// after [`ChildPlayer::refresh_size`].
    pub fn first_frame_arrived(&self) -> bool {
        if !self.awaiting_frame.load(Ordering::SeqCst) || self.size().0 == 0 {
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

    /// Whether `generation` may still drive the player.
    fn is_current(&self, generation: u64) -> bool {
        let slot = self.slot.lock_recovered();
        !slot.closed && slot.generation == generation
    }

    /// Nothing of the node played before counts any more.
    fn forget_node(&self) {
        self.size.store(0, Ordering::SeqCst);
        self.ended.store(false, Ordering::SeqCst);
        self.awaiting_frame.store(false, Ordering::SeqCst);
        *self.last_audio.lock_recovered() = None;
    }

    /// Plays `url` in a new child, in place of the current one; on the session's thread.
    fn play(&self, generation: u64, url: &str) {
        if !self.is_current(generation) {
            return;
        }
        let callbacks = ChildCallbacks {
            ended: Some(on_media_ended),
            audio: Some(on_child_audio),
            data: std::ptr::from_ref(self).cast_mut().cast(),
        };
        let name = format!("{} (player)", self.source_name());
        // SAFETY: the data is this player, which drops every child it holds (disconnecting
        // its callbacks) before it is freed; a child it does not keep is dropped below.
        let Some(child) = (unsafe { MediaChild::create(&name, &child_settings(url), callbacks) })
        else {
            log::error!("pull '{name}': OBS cannot create a Media Source to play the stream");
            return;
        };
        let mut slot = self.slot.lock_recovered();
        if slot.closed || slot.generation != generation {
            // Released after the lock, like every child.
            drop(slot);
            drop(child);
            return;
        }
        let old = slot.child.take().map(MediaChild::detach);
        self.forget_node();
        self.times.lock_recovered().1 = Some(Instant::now());
        self.awaiting_frame.store(true, Ordering::SeqCst);
        slot.child = Some(child);
        drop(slot);
        drop(old);
    }

    /// Stops playback: the child goes (on the session's thread).
    fn clear(&self, generation: u64) {
        let child = {
            let mut slot = self.slot.lock_recovered();
            if slot.closed || slot.generation != generation {
                return;
            }
            slot.child.take()
        };
        drop(child);
        self.forget_node();
    }

    fn status_changed(&self, generation: u64, status: &SessionStatus) {
        if !self.is_current(generation) {
            return;
        }
        let stream_id = self.stream_id.lock_recovered().clone();
        let (message, kind) = match status {
            SessionStatus::Unusable(message) => (message.clone(), InfoKind::Error),
            SessionStatus::Running(status) => (
                status.message(&stream_id),
                match status {
                    Status::Waiting { failure, .. }
                        if matches!(failure.kind, FailureKind::Vendor | FailureKind::Refused) =>
                    {
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

impl Drop for ChildPlayer {
    fn drop(&mut self) {
        // The children go before the state their callbacks use.
        self.close();
    }
}

/// The player as one session sees it: every call is dropped once a newer session (or the
/// source's deactivation) took the player over.
pub struct SessionPlayer {
    player: Arc<ChildPlayer>,
    generation: u64,
}

impl Player for SessionPlayer {
    fn play(&self, url: &str) {
        self.player.play(self.generation, url);
    }

    fn clear(&self) {
        self.player.clear(self.generation);
    }

    fn status_changed(&self, status: &SessionStatus) {
        self.player.status_changed(self.generation, status);
    }
}

// ---------------------------------------------------------------------------------------------
// The children's callbacks, with the player as their data.

/// The player behind a child callback's data.
///
/// # Safety
/// `data` must be the data of a child's callbacks, called before the child was disconnected.
unsafe fn player<'a>(data: *mut c_void) -> Option<&'a ChildPlayer> {
    // SAFETY: per the caller, a live player (see `ChildPlayer::play`).
    unsafe { data.cast::<ChildPlayer>().cast_const().as_ref() }
}

unsafe extern "C" fn on_media_ended(data: *mut c_void, _calldata: *mut calldata_t) {
    guard("pull.media_ended", (), || {
        // SAFETY: a connected child's callback.
        if let Some(player) = unsafe { player(data) } {
            player.ended.store(true, Ordering::SeqCst);
        }
    })
}

unsafe extern "C" fn on_child_audio(
    data: *mut c_void,
    _child: *mut obs_source_t,
    audio: *const audio_data,
    _muted: bool,
) {
    guard("pull.audio", (), || {
        // SAFETY: a connected child's callback; `audio` is libobs's, for this call.
        if let Some(player) = unsafe { player(data) } {
            // SAFETY: `audio` is what libobs passed this capture callback.
            unsafe { player.audio_target.output_audio(audio) };
            *player.last_audio.lock_recovered() = Some(Instant::now());
        }
    })
}
