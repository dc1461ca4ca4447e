//! A private `ffmpeg_source` (OBS's Media Source) that a parent source plays through: its
//! picture drawn in the parent's `video_render`, its end signal and its audio routed to the
//! parent's callbacks for as long as the child lives.

use super::data::Data;
use super::source::Source;
use obs_wrapper::obs_sys::{
    audio_data, audio_format_AUDIO_FORMAT_FLOAT_PLANAR, obs_audio_info, obs_get_audio_info,
    obs_source_add_audio_capture_callback, obs_source_audio, obs_source_audio_capture_t,
    obs_source_get_height, obs_source_get_signal_handler, obs_source_get_width,
    obs_source_output_audio, obs_source_remove_audio_capture_callback, obs_source_t,
    obs_source_video_render, signal_callback_t, signal_handler_connect, signal_handler_disconnect,
};
use serde_json::Value;
use std::ffi::CStr;
use std::os::raw::c_void;
use std::ptr::NonNull;

/// OBS's Media Source type.
const FFMPEG_SOURCE: &CStr = c"ffmpeg_source";

/// The child's signal reporting the end (or failure) of playback.
const MEDIA_ENDED: &CStr = c"media_ended";

/// Where a child's end signal and audio go: two callbacks and their data.
#[derive(Clone, Copy)]
pub struct ChildCallbacks {
    /// Called with `data` when playback ends or fails (`media_ended`), on a media thread.
    pub ended: signal_callback_t,
    /// Called with `data` for every block of the child's audio, on a media thread.
    pub audio: obs_source_audio_capture_t,
    /// The callbacks' data.
    pub data: *mut c_void,
}

/// A playing child: one strong reference, and the callbacks connected to it. Dropping it
/// disconnects the callbacks, then releases the child.
pub struct MediaChild {
    callbacks: ChildCallbacks,
    source: Source,
}

// SAFETY: `size` and the drop (disconnect and release) are libobs calls allowed from any
// thread, taking the child's own locks; `render` requires the render token. The callbacks'
// data pointer is only handed back to libobs.
unsafe impl Send for MediaChild {}
// SAFETY: as above: every `&self` method may be called from any thread.
unsafe impl Sync for MediaChild {}

impl MediaChild {
    /// A new private Media Source named `name` with `settings` (OBS opens the input at once),
    /// its end signal and audio routed to `callbacks`.
    ///
    /// # Safety
    /// `callbacks.data` must stay valid for both callbacks until the child is dropped or
    /// [`MediaChild::detach`]ed.
    pub unsafe fn create(name: &str, settings: &Value, callbacks: ChildCallbacks) -> Option<Self> {
        let settings = Data::from_json(settings)?;
        let source = Source::create_private_with(FFMPEG_SOURCE, name, &settings)?;
        // SAFETY: the child is alive, so is its signal handler; libobs copies the name and
        // keeps the callbacks and data, valid per the caller until `disconnect`.
        unsafe {
            signal_handler_connect(
                obs_source_get_signal_handler(source.as_ptr()),
                MEDIA_ENDED.as_ptr(),
                callbacks.ended,
                callbacks.data,
            );
            obs_source_add_audio_capture_callback(source.as_ptr(), callbacks.audio, callbacks.data);
        }
        Some(MediaChild { callbacks, source })
    }

    /// The size of the child's current frame (0 x 0 before its first one).
    pub fn size(&self) -> (u32, u32) {
        // SAFETY: the child is alive; both calls only read its state.
        unsafe {
            (
                obs_source_get_width(self.source.as_ptr()),
                obs_source_get_height(self.source.as_ptr()),
            )
        }
    }

    /// Draws the child. Only in a `video_render` callback (the graphics thread, inside OBS's
    /// render context), which `_render` stands for.
    pub fn render(&self, _render: InRender) {
        // SAFETY: the child is alive and this runs inside the parent's video_render.
        unsafe { obs_source_video_render(self.source.as_ptr()) };
    }

    /// Disconnects the callbacks now and returns the reference, to be released elsewhere
    /// (releasing may wait for the child's threads).
    pub fn detach(self) -> Source {
        let child = std::mem::ManuallyDrop::new(self);
        child.disconnect();
        // SAFETY: `child` is never dropped, so the reference moves out exactly once.
        unsafe { std::ptr::read(&child.source) }
    }

    /// Removes both connections. When it returns, neither callback runs any more: libobs
    /// takes the same locks to remove them as to call them.
    fn disconnect(&self) {
        // SAFETY: the child is alive; each pair is the one connected in `create`.
        unsafe {
            signal_handler_disconnect(
                obs_source_get_signal_handler(self.source.as_ptr()),
                MEDIA_ENDED.as_ptr(),
                self.callbacks.ended,
                self.callbacks.data,
            );
            obs_source_remove_audio_capture_callback(
                self.source.as_ptr(),
                self.callbacks.audio,
                self.callbacks.data,
            );
        }
    }
}

impl Drop for MediaChild {
    fn drop(&mut self) {
        // The callbacks go first: the child may still play while its release waits.
        self.disconnect();
    }
}

/// Proof of running inside a source's `video_render` callback.
#[derive(Clone, Copy)]
pub struct InRender(());

impl InRender {
    /// The token, in a `video_render` callback.
    ///
    /// # Safety
    /// The caller must be OBS's call of a `video_render` callback.
    pub unsafe fn assume() -> Self {
        InRender(())
    }
}

/// The parent source, as the child's audio callback uses it: where the forwarded audio goes.
#[derive(Clone, Copy)]
pub struct ParentSource(NonNull<obs_source_t>);

// SAFETY: obs_source_output_audio may be called from any thread; the pointer is only used while
// the parent's instance (whose destroy drops every child first) is alive.
unsafe impl Send for ParentSource {}
// SAFETY: as above.
unsafe impl Sync for ParentSource {}

impl ParentSource {
    /// The parent behind a `create` callback's pointer.
    ///
    /// # Safety
    /// `raw` must be the source being created, and the target used only until its `destroy`.
    pub unsafe fn from_raw(raw: *mut obs_source_t) -> Option<Self> {
        NonNull::new(raw).map(ParentSource)
    }

    /// Outputs the audio an audio capture callback received (planar float at OBS's rate and
    /// layout, which is what libobs hands capture callbacks) as the target's own.
    ///
    /// # Safety
    /// `audio` must be the data libobs passed the capture callback, for that call.
    pub unsafe fn output_audio(self, audio: *const audio_data) {
        // SAFETY: per the caller, `audio` is valid for the call.
        let Some(audio) = (unsafe { audio.as_ref() }) else {
            return;
        };
        let mut info = obs_audio_info {
            samples_per_sec: 0,
            speakers: 0,
        };
        // SAFETY: libobs fills the struct; false when audio is not initialised.
        if !unsafe { obs_get_audio_info(&mut info) } {
            return;
        }
        let out = obs_source_audio {
            data: audio.data.map(|plane| plane.cast_const()),
            frames: audio.frames,
            speakers: info.speakers,
            format: audio_format_AUDIO_FORMAT_FLOAT_PLANAR,
            samples_per_sec: info.samples_per_sec,
            timestamp: audio.timestamp,
        };
        // SAFETY: the target is alive (see the type); libobs copies the samples.
        unsafe { obs_source_output_audio(self.0.as_ptr(), &out) };
    }
}
