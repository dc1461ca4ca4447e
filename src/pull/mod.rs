//! The `zego_rtmp_pull` input source, "ZEGOCLOUD room stream": another stream of the room
//! (a guest, a co-host) in a scene, through ZEGOCLOUD's pull dispatch.
//!
//! The source plays while it is active (in the program, or in a scene that goes live) rather
//! than whenever it is shown: a dispatched node is meant to be used at once, and a preview in
//! studio mode should not hold a vendor play slot and the bandwidth. OBS's Media Source works
//! the same way with "close file when inactive". Activation only starts the core's session,
//! which dispatches, probes and waits on its own thread; OBS calls `activate` on its graphics
//! thread, which must never wait for the network.
//!
//! Picture: the private child `ffmpeg_source` (one per node, see [`player`]) is drawn in
//! `video_render`. Sound: the child's audio is forwarded (an audio capture callback on the
//! child, `obs_source_output_audio` on the source), so the source has its own mixer strip, volume meter and monitoring, which a
//! composite source's `audio_render` would not give it (OBS's meters and monitoring listen to
//! the audio a source outputs).

mod player;
mod properties;

use crate::guard::guard;
use crate::libobs::data::{json_or_empty, DataView};
use crate::libobs::media_child::{InRender, ParentSource};
use crate::libobs::service::Service;
use crate::libobs::source::{register_player_input, PlayerInputType, SourceView};
use crate::locale::text_ptr;
use crate::shared;
use obs_wrapper::obs_sys::{gs_effect_t, obs_data_t, obs_properties_t, obs_source_t};
use player::ChildPlayer;
use rtc_golive_core::config::ServiceKind;
use rtc_golive_core::lock::LockRecovered;
use rtc_golive_core::pull::session::PullSession;
use rtc_golive_core::pull::settings;
use serde_json::Value;
use std::ffi::CStr;
use std::os::raw::{c_char, c_void};
use std::ptr;
use std::sync::{Arc, Mutex};

/// The source type id.
pub const SOURCE_ID: &CStr = c"zego_rtmp_pull";

/// One `zego_rtmp_pull` source.
struct PullSource {
    player: Arc<ChildPlayer>,
    settings: Mutex<Value>,
    /// The running session while the source is active.
    session: Mutex<Option<PullSession>>,
    active: Mutex<bool>,
}

impl PullSource {
    fn create(settings: Value, source: SourceView<'_>, parent: ParentSource) -> Option<Self> {
        // The module's shared state (its HTTP client) is made here, on the thread creating the
        // source, rather than at the first activation, on the graphics thread.
        shared();
        Some(PullSource {
            player: ChildPlayer::new(parent, source.weak()?),
            settings: Mutex::new(settings),
            session: Mutex::new(None),
            active: Mutex::new(false),
        })
    }

    fn activate(&self) {
        *self.active.lock_recovered() = true;
        self.start_session();
    }

    fn deactivate(&self) {
        let was_active = std::mem::replace(&mut *self.active.lock_recovered(), false);
        // Dropping the session stops its thread; the picture goes now, not when it notices.
        self.session.lock_recovered().take();
        if was_active {
            self.player.stop();
        }
    }

    fn update(&self, settings: Value) {
        *self.settings.lock_recovered() = settings;
        if *self.active.lock_recovered() {
            self.start_session();
        }
    }

    /// (Re)starts the session with the current settings.
    fn start_session(&self) {
        let Some(shared) = shared() else {
            return;
        };
        let source = self.settings.lock_recovered().clone();
        let stream_id = source
            .get("stream_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let player = Arc::new(self.player.for_session(&stream_id));
        let mut session = self.session.lock_recovered();
        // The old session loses the player before the new one can play.
        session.take();
        *session = Some(PullSession::start(&shared, player, move || {
            let service = service_settings();
            settings::config(&source, service.as_ref().map(|(kind, s)| (*kind, s)))
        }));
    }

    fn video_tick(&self) {
        self.player.refresh_size();
        if self.player.first_frame_arrived() {
            if let Some(session) = self.session.lock_recovered().as_ref() {
                session.first_frame();
            }
        }
        let ended = self.player.take_ended();
        // A stall the child does not report is an end all the same.
        let stalled = self.player.went_silent();
        if ended || stalled {
            if let Some(session) = self.session.lock_recovered().as_ref() {
                session.ended();
            }
        }
    }
}

/// The kind and settings of OBS's streaming service when it is one of the plugin's.
fn service_settings() -> Option<(ServiceKind, Value)> {
    let service = Service::streaming()?;
    let kind = ServiceKind::from_id(&service.type_id()?)?;
    Some((kind, service.settings()?.view().to_json()))
}

/// Registers the source type (at module load).
pub fn register() {
    register_player_input(PlayerInputType {
        id: SOURCE_ID,
        get_name,
        create,
        destroy,
        get_width,
        get_height,
        get_defaults,
        get_properties,
        update,
        activate,
        deactivate,
        video_tick,
        video_render,
    });
}

// ---------------------------------------------------------------------------------------------
// The callbacks: cast, guard, forward.

/// The instance behind a callback's data pointer.
///
/// # Safety
/// `data` must be null or what `create` returned, not yet destroyed.
unsafe fn instance<'a>(data: *mut c_void) -> Option<&'a PullSource> {
    // SAFETY: per the caller.
    unsafe { data.cast::<PullSource>().as_ref() }
}

unsafe extern "C" fn get_name(_type_data: *mut c_void) -> *const c_char {
    guard("pull.get_name", c"ZEGOCLOUD room stream".as_ptr(), || {
        text_ptr(c"Pull.Name", c"ZEGOCLOUD room stream")
    })
}

unsafe extern "C" fn create(settings: *mut obs_data_t, source: *mut obs_source_t) -> *mut c_void {
    guard("pull.create", ptr::null_mut(), || {
        // SAFETY: OBS passes the new source's settings and the source itself, alive for the
        // call; the source outlives its instance data, whose destroy ends the audio forwarding.
        let (settings, view, parent) = unsafe {
            (
                json_or_empty(DataView::from_raw(settings)),
                SourceView::from_raw(source),
                ParentSource::from_raw(source),
            )
        };
        let (Some(view), Some(parent)) = (view, parent) else {
            return ptr::null_mut();
        };
        match PullSource::create(settings, view, parent) {
            Some(instance) => Box::into_raw(Box::new(instance)).cast(),
            None => ptr::null_mut(),
        }
    })
}

unsafe extern "C" fn destroy(data: *mut c_void) {
    guard("pull.destroy", (), || {
        if data.is_null() {
            return;
        }
        // SAFETY: OBS destroys each instance once; nothing else holds it (the session and the
        // children's callbacks hold only the player).
        let instance = unsafe { Box::from_raw(data.cast::<PullSource>()) };
        // No status text: nobody sees it any more, and the source has no name left for the log.
        instance.session.lock_recovered().take();
        // The children forward audio to this source: they go before it does.
        instance.player.close();
    })
}

unsafe extern "C" fn get_width(data: *mut c_void) -> u32 {
    guard("pull.get_width", 0, || {
        // SAFETY: OBS passes a live instance.
        unsafe { instance(data) }.map_or(0, |s| s.player.size().0)
    })
}

unsafe extern "C" fn get_height(data: *mut c_void) -> u32 {
    guard("pull.get_height", 0, || {
        // SAFETY: OBS passes a live instance.
        unsafe { instance(data) }.map_or(0, |s| s.player.size().1)
    })
}

unsafe extern "C" fn get_defaults(settings: *mut obs_data_t) {
    guard("pull.get_defaults", (), || {
        // SAFETY: OBS passes a valid defaults object for the call.
        if let Some(settings) = unsafe { DataView::from_raw(settings) } {
            properties::set_defaults(settings);
        }
    })
}

unsafe extern "C" fn get_properties(data: *mut c_void) -> *mut obs_properties_t {
    guard("pull.get_properties", ptr::null_mut(), || {
        // SAFETY: OBS passes a live instance (or null for the type's own properties).
        let status = unsafe { instance(data) }.map(|s| s.player.status_text());
        properties::build(status, Some(credentials_modified)).into_raw()
    })
}

unsafe extern "C" fn update(data: *mut c_void, settings: *mut obs_data_t) {
    guard("pull.update", (), || {
        // SAFETY: OBS passes a live instance and its settings for the call.
        let (source, settings) = unsafe { (instance(data), DataView::from_raw(settings)) };
        if let Some(source) = source {
            source.update(json_or_empty(settings));
        }
    })
}

unsafe extern "C" fn activate(data: *mut c_void) {
    guard("pull.activate", (), || {
        // SAFETY: OBS passes a live instance.
        if let Some(source) = unsafe { instance(data) } {
            source.activate();
        }
    })
}

unsafe extern "C" fn deactivate(data: *mut c_void) {
    guard("pull.deactivate", (), || {
        // SAFETY: OBS passes a live instance.
        if let Some(source) = unsafe { instance(data) } {
            source.deactivate();
        }
    })
}

unsafe extern "C" fn video_tick(data: *mut c_void, _seconds: f32) {
    guard("pull.video_tick", (), || {
        // SAFETY: OBS passes a live instance.
        if let Some(source) = unsafe { instance(data) } {
            source.video_tick();
        }
    })
}

unsafe extern "C" fn video_render(data: *mut c_void, _effect: *mut gs_effect_t) {
    guard("pull.video_render", (), || {
        // SAFETY: OBS passes a live instance, and this is its video_render call.
        let (source, render) = unsafe { (instance(data), InRender::assume()) };
        if let Some(source) = source {
            source.player.render(render);
        }
    })
}

unsafe extern "C" fn credentials_modified(
    props: *mut obs_properties_t,
    _property: *mut obs_wrapper::obs_sys::obs_property_t,
    settings: *mut obs_data_t,
) -> bool {
    guard("pull.credentials_modified", false, || {
        // SAFETY: OBS passes the window's properties and settings for the call, on the UI
        // thread.
        let (props, settings) = unsafe {
            (
                crate::libobs::properties::PropertiesView::from_raw(props),
                DataView::from_raw(settings),
            )
        };
        if let Some(props) = props {
            properties::show_credentials(props, &json_or_empty(settings));
        }
        true
    })
}
