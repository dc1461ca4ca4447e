//! `obs_source_t`: the private source behind the settings window and the pull source's child,
//! strong and weak, and registering source types.

use super::c_string;
use super::data::Data;
use super::ffi::{obs_frontend_open_source_properties, obs_register_source_s};
use obs_wrapper::obs_sys::{
    gs_effect_t, obs_data_t, obs_icon_type_OBS_ICON_TYPE_MEDIA, obs_properties_t,
    obs_source_create_private, obs_source_get_name, obs_source_get_ref, obs_source_get_settings,
    obs_source_get_weak_source, obs_source_info, obs_source_release, obs_source_t,
    obs_source_type_OBS_SOURCE_TYPE_INPUT, obs_source_update_properties,
    obs_weak_source_get_source, obs_weak_source_release, obs_weak_source_t, OBS_SOURCE_AUDIO,
    OBS_SOURCE_CAP_DISABLED, OBS_SOURCE_DO_NOT_DUPLICATE, OBS_SOURCE_VIDEO,
};
use std::ffi::CStr;
use std::marker::PhantomData;
use std::os::raw::{c_char, c_void};
use std::ptr::{self, NonNull};

/// One strong reference to a source, released on drop.
pub struct Source(NonNull<obs_source_t>);

// SAFETY: a source reference is a refcounted libobs handle usable from any thread.
unsafe impl Send for Source {}

impl Source {
    /// A new private source of the registered type `id` with default settings (none when
    /// libobs refuses).
    pub fn create_private(id: &CStr, name: &str) -> Option<Self> {
        let name = c_string(name);
        // SAFETY: both strings are NUL-terminated and copied; no settings means the defaults.
        // The returned reference is ours.
        let raw = unsafe { obs_source_create_private(id.as_ptr(), name.as_ptr(), ptr::null_mut()) };
        NonNull::new(raw).map(Source)
    }

    /// A new private source of the registered type `id` with `settings` (copied).
    pub fn create_private_with(id: &CStr, name: &str, settings: &Data) -> Option<Self> {
        let name = c_string(name);
        // SAFETY: both strings are NUL-terminated and copied, so are the settings. The returned
        // reference is ours.
        let raw =
            unsafe { obs_source_create_private(id.as_ptr(), name.as_ptr(), settings.as_ptr()) };
        NonNull::new(raw).map(Source)
    }

    /// The pointer, for the raw layer's calls on a live source.
    pub(super) fn as_ptr(&self) -> *mut obs_source_t {
        self.0.as_ptr()
    }

    /// Another strong reference (none once the source is being destroyed).
    pub fn new_ref(&self) -> Option<Self> {
        // SAFETY: the source is alive while we hold our reference; libobs returns a new one.
        NonNull::new(unsafe { obs_source_get_ref(self.0.as_ptr()) }).map(Source)
    }

    /// The source, lent for as long as this reference lives.
    pub fn view(&self) -> SourceView<'_> {
        SourceView {
            raw: self.0,
            lent: PhantomData,
        }
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        // SAFETY: the reference is ours and released once. Releasing the last one on another
        // thread than the UI's is allowed: OBS 30 and later destroy the source on their own
        // queue, OBS 29.0 on the releasing thread.
        unsafe { obs_source_release(self.0.as_ptr()) };
    }
}

/// A live source lent for `'a` (by a [`Source`], or as a callback's instance data).
#[derive(Clone, Copy)]
pub struct SourceView<'a> {
    raw: NonNull<obs_source_t>,
    lent: PhantomData<&'a obs_source_t>,
}

impl SourceView<'_> {
    /// Borrows the source behind a callback's pointer (null reads as none).
    ///
    /// # Safety
    /// `raw` must be null or a source that stays alive for `'a`.
    pub unsafe fn from_raw(raw: *mut obs_source_t) -> Option<Self> {
        NonNull::new(raw).map(|raw| SourceView {
            raw,
            lent: PhantomData,
        })
    }

    /// The source's settings (a new reference).
    pub fn settings(self) -> Option<Data> {
        // SAFETY: the source is alive; libobs returns a new reference to its settings.
        unsafe { Data::from_owned(obs_source_get_settings(self.raw.as_ptr())) }
    }

    /// The source's name (empty when it has none).
    pub fn name(self) -> String {
        // SAFETY: the source is alive; its name is copied.
        unsafe { super::copied(obs_source_get_name(self.raw.as_ptr())) }.unwrap_or_default()
    }

    /// A weak reference to the source.
    pub fn weak(self) -> Option<WeakSource> {
        // SAFETY: the source is alive; libobs returns a new weak reference.
        NonNull::new(unsafe { obs_source_get_weak_source(self.raw.as_ptr()) }).map(WeakSource)
    }

    /// Asks an open properties window of the source to rebuild itself (OBS queues the rebuild
    /// to the UI thread); any thread.
    pub fn update_properties(self) {
        // SAFETY: the source is alive.
        unsafe { obs_source_update_properties(self.raw.as_ptr()) };
    }

    /// Opens OBS's properties window for the source (frontend API).
    pub fn open_properties(self, _ui: super::frontend::UiThread) {
        // SAFETY: on the UI thread (the token); the frontend takes its own reference for the
        // window it queues.
        unsafe { obs_frontend_open_source_properties(self.raw.as_ptr()) };
    }
}

/// A weak source reference, released on drop.
pub struct WeakSource(NonNull<obs_weak_source_t>);

// SAFETY: weak references are refcounted libobs handles usable from any thread.
unsafe impl Send for WeakSource {}

impl WeakSource {
    /// A strong reference, or none once the source is gone.
    pub fn upgrade(&self) -> Option<Source> {
        // SAFETY: the weak reference is ours; libobs returns a new strong reference or null.
        NonNull::new(unsafe { obs_weak_source_get_source(self.0.as_ptr()) }).map(Source)
    }
}

impl Drop for WeakSource {
    fn drop(&mut self) {
        // SAFETY: the weak reference is ours and released once.
        unsafe { obs_weak_source_release(self.0.as_ptr()) };
    }
}

/// The callbacks of a hidden input type: not in "Add Source", no audio, no video
/// (`OBS_SOURCE_CAP_DISABLED`); its only use is a properties window.
pub struct HiddenInputType {
    /// The type id.
    pub id: &'static CStr,
    /// `get_name`.
    pub get_name: unsafe extern "C" fn(*mut c_void) -> *const c_char,
    /// `create`.
    pub create: unsafe extern "C" fn(*mut obs_data_t, *mut obs_source_t) -> *mut c_void,
    /// `destroy`.
    pub destroy: unsafe extern "C" fn(*mut c_void),
    /// `get_defaults`.
    pub get_defaults: unsafe extern "C" fn(*mut obs_data_t),
    /// `get_properties`.
    pub get_properties: unsafe extern "C" fn(*mut c_void) -> *mut obs_properties_t,
}

/// Registers the source type (at module load).
pub fn register_hidden_input(kind: HiddenInputType) {
    let info = obs_source_info {
        id: kind.id.as_ptr(),
        type_: obs_source_type_OBS_SOURCE_TYPE_INPUT,
        output_flags: OBS_SOURCE_CAP_DISABLED,
        get_name: Some(kind.get_name),
        create: Some(kind.create),
        destroy: Some(kind.destroy),
        get_defaults: Some(kind.get_defaults),
        get_properties: Some(kind.get_properties),
        ..Default::default()
    };
    // SAFETY: `info` is fully initialised (obs-sys's libobs 25 layout, a prefix of every later
    // one); libobs copies `size` bytes and keeps the 'static id and function pointers.
    unsafe { obs_register_source_s(&info, std::mem::size_of::<obs_source_info>()) };
}

/// The callbacks of a visible input type with video and audio that plays through a child
/// source (`OBS_SOURCE_VIDEO | OBS_SOURCE_AUDIO`, never duplicated: a copy would dispatch and
/// play the same stream twice), shown with the Media Source icon.
pub struct PlayerInputType {
    /// The type id.
    pub id: &'static CStr,
    /// `get_name`.
    pub get_name: unsafe extern "C" fn(*mut c_void) -> *const c_char,
    /// `create`.
    pub create: unsafe extern "C" fn(*mut obs_data_t, *mut obs_source_t) -> *mut c_void,
    /// `destroy`.
    pub destroy: unsafe extern "C" fn(*mut c_void),
    /// `get_width`.
    pub get_width: unsafe extern "C" fn(*mut c_void) -> u32,
    /// `get_height`.
    pub get_height: unsafe extern "C" fn(*mut c_void) -> u32,
    /// `get_defaults`.
    pub get_defaults: unsafe extern "C" fn(*mut obs_data_t),
    /// `get_properties`.
    pub get_properties: unsafe extern "C" fn(*mut c_void) -> *mut obs_properties_t,
    /// `update`.
    pub update: unsafe extern "C" fn(*mut c_void, *mut obs_data_t),
    /// `activate`.
    pub activate: unsafe extern "C" fn(*mut c_void),
    /// `deactivate`.
    pub deactivate: unsafe extern "C" fn(*mut c_void),
    /// `video_tick`.
    pub video_tick: unsafe extern "C" fn(*mut c_void, f32),
    /// `video_render`.
    pub video_render: unsafe extern "C" fn(*mut c_void, *mut gs_effect_t),
}

/// Registers the source type (at module load).
pub fn register_player_input(kind: PlayerInputType) {
    let info = obs_source_info {
        id: kind.id.as_ptr(),
        type_: obs_source_type_OBS_SOURCE_TYPE_INPUT,
        output_flags: OBS_SOURCE_VIDEO | OBS_SOURCE_AUDIO | OBS_SOURCE_DO_NOT_DUPLICATE,
        get_name: Some(kind.get_name),
        create: Some(kind.create),
        destroy: Some(kind.destroy),
        get_width: Some(kind.get_width),
        get_height: Some(kind.get_height),
        get_defaults: Some(kind.get_defaults),
        get_properties: Some(kind.get_properties),
        update: Some(kind.update),
        activate: Some(kind.activate),
        deactivate: Some(kind.deactivate),
        video_tick: Some(kind.video_tick),
        video_render: Some(kind.video_render),
        icon_type: obs_icon_type_OBS_ICON_TYPE_MEDIA,
        ..Default::default()
    };
    // SAFETY: as in `register_hidden_input`: a fully initialised prefix of every later layout,
    // copied by libobs, which keeps the 'static id and function pointers.
    unsafe { obs_register_source_s(&info, std::mem::size_of::<obs_source_info>()) };
}
