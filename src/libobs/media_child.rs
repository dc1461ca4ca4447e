//! A private `ffmpeg_source` (OBS's own Media Source) that a parent source plays through: its
//! picture drawn in the parent's `video_render`, its audio forwarded to the parent, its end
//! signal reported to the parent.

use super::data::Data;
use super::source::Source;
use obs_wrapper::obs_sys::{
    audio_data, audio_format_AUDIO_FORMAT_FLOAT_PLANAR, obs_audio_info, obs_get_audio_info,
    obs_source_add_audio_capture_callback, obs_source_audio, obs_source_audio_capture_t,
    obs_source_enum_proc_t, obs_source_get_height, obs_source_get_signal_handler,
    obs_source_get_width, obs_source_output_audio, obs_source_output_video,
    obs_source_remove_audio_capture_callback, obs_source_t, obs_source_update,
    obs_source_video_render, signal_callback_t, signal_handler_connect, signal_handler_disconnect,
};
use serde_json::Value;
use std::ffi::CStr;
use std::os::raw::c_void;
use std::ptr::NonNull;

/// OBS's Media Source type.
const FFMPEG_SOURCE: &CStr = c"ffmpeg_source";

/// The child, one strong reference.
pub struct MediaChild(Source);

// SAFETY: every method is a libobs call that may be made from any thread (updates are applied
// at the child's next tick, output and size calls take the child's own locks), except `render`,
// which requires the render token.
unsafe impl Sync for MediaChild {}

impl MediaChild {
    /// A new private Media Source named `name` with `settings`.
    pub fn create(name: &str, settings: &Value) -> Option<Self> {
        let settings = Data::from_json(settings)?;
        Source::create_private_with(FFMPEG_SOURCE, name, &settings).map(MediaChild)
    }

    /// Applies `settings` over the child's (OBS applies them at its next video tick). Any
    /// thread.
    pub fn update(&self, settings: &Value) {
        if let Some(settings) = Data::from_json(settings) {
            // SAFETY: the child is alive (our reference); libobs copies the values.
            unsafe { obs_source_update(self.raw(), settings.as_ptr()) };
        }
    }

    /// Drops the child's current frame, so it shows nothing until its next one. Any thread.
    pub fn show_nothing(&self) {
        // SAFETY: the child is alive; a null frame is libobs's documented "no frame".
        unsafe { obs_source_output_video(self.raw(), std::ptr::null()) };
    }

    /// The size of the child's current frame (0 x 0 when it shows nothing).
    pub fn size(&self) -> (u32, u32) {
        // SAFETY: the child is alive; both calls only read its state.
        unsafe {
            (
                obs_source_get_width(self.raw()),
                obs_source_get_height(self.raw()),
            )
        }
    }

    /// Draws the child. Only in a `video_render` callback (the graphics thread, inside OBS's
    /// render context), which `_render` stands for.
    pub fn render(&self, _render: InRender) {
        // SAFETY: the child is alive and this runs inside the parent's video_render.
        unsafe { obs_source_video_render(self.raw()) };
    }

    /// Hands the child to an `enum_active_sources` / `enum_all_sources` callback.
    ///
    /// # Safety
    /// `callback` and `param` must be the ones OBS passed for `parent`, in that call.
    pub unsafe fn enumerate(
        &self,
        parent: *mut obs_source_t,
        callback: obs_source_enum_proc_t,
        param: *mut c_void,
    ) {
        if let Some(callback) = callback {
            // SAFETY: per the caller; the child is alive.
            unsafe { callback(parent, self.raw(), param) };
        }
    }

    /// Connects `callback` to the child's signal `name` and forwards the child's audio to
    /// `capture` with `data`, until [`ChildLink::disconnect`].
    ///
    /// # Safety
    /// `data` must stay valid for both callbacks until `disconnect` has returned.
    pub unsafe fn link(
        &self,
        name: &'static CStr,
        callback: signal_callback_t,
        capture: obs_source_audio_capture_t,
        data: *mut c_void,
    ) -> ChildLink {
        // SAFETY: the child is alive, so is its signal handler; libobs copies the name and
        // keeps callback + data, valid per the caller.
        unsafe {
            signal_handler_connect(
                obs_source_get_signal_handler(self.raw()),
                name.as_ptr(),
                callback,
                data,
            );
            obs_source_add_audio_capture_callback(self.raw(), capture, data);
        }
        ChildLink {
            name,
            callback,
            capture,
            data,
        }
    }

    fn raw(&self) -> *mut obs_source_t {
        self.0.as_ptr()
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

/// The connections [`MediaChild::link`] made.
pub struct ChildLink {
    name: &'static CStr,
    callback: signal_callback_t,
    capture: obs_source_audio_capture_t,
    data: *mut c_void,
}

// SAFETY: the data pointer is only handed back to libobs, which may be done from any thread.
unsafe impl Send for ChildLink {}

impl ChildLink {
    /// Removes both connections. When it returns, neither callback runs any more: libobs takes
    /// the same locks to remove them as to call them.
    pub fn disconnect(self, child: &MediaChild) {
        // SAFETY: the child is alive; each pair is the one connected with this data.
        unsafe {
            signal_handler_disconnect(
                obs_source_get_signal_handler(child.raw()),
                self.name.as_ptr(),
                self.callback,
                self.data,
            );
            obs_source_remove_audio_capture_callback(child.raw(), self.capture, self.data);
        }
    }
}

/// The parent source, as the child's callbacks use it: where the forwarded audio goes, and the
/// parent OBS expects in `enum_active_sources`.
#[derive(Clone, Copy)]
pub struct ParentSource(NonNull<obs_source_t>);

// SAFETY: obs_source_output_audio may be called from any thread; the pointer is only used while
// the parent's instance (whose destroy removes the capture callback first) is alive.
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

    /// The parent's pointer, for the callbacks OBS expects it in (`enum_active_sources`).
    pub fn raw(self) -> *mut obs_source_t {
        self.0.as_ptr()
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
