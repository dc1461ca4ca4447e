//! The settings window inside OBS: Tools -> "RTC Go-Live..." opens OBS's own properties window
//! on a private, hidden source whose properties choose the provider, take the credentials, test
//! the connection and make the chosen service OBS's streaming service.
//!
//! Why a source: OBS's Settings -> Stream page only knows its built-in services, and the frontend
//! API offers no dialog for a plugin's service; `obs_frontend_open_source_properties` on a
//! private input with `OBS_SOURCE_CAP_DISABLED` (not in "Add Source", no audio, no video) gives
//! the native properties UI, theme and all.
//!
//! Opening the window seeds its settings from OBS's streaming service when it is one of ours, so
//! the values follow the profile ([`values`]).
//!
//! Threads: every callback here runs on OBS's UI thread, except the Test connection worker,
//! which runs on a background thread and asks OBS to reload the window when it is done.
//!
//! The callbacks at the end of this file only cast, guard and forward to the functions above
//! them.

mod layout;
mod state;
mod values;

use super::guard::guard;
use super::libobs::data::{json_or_empty, Data, DataView};
use super::libobs::ffi::{FRONTEND_EVENT_EXIT, FRONTEND_EVENT_SCRIPTING_SHUTDOWN};
use super::libobs::frontend::{queue_ui_task, remove_event_callback, UiThread};
use super::libobs::properties::PropertiesView;
use super::libobs::source::{register_hidden_input, HiddenInputType, Source, SourceView};
use super::locale::{text_ptr, ObsLocale};
use super::settings::set_defaults;
use super::{shared, streaming_service};
use layout::Callbacks;
use obs_wrapper::obs_sys::{obs_data_t, obs_properties_t, obs_property_t, obs_source_t};
use rtc_golive_core::config::ServiceKind;
use rtc_golive_core::config::ServiceSettings;
use rtc_golive_core::host::Alerts;
use rtc_golive_core::lock::LockRecovered;
use rtc_golive_core::messages::Message;
use rtc_golive_core::resolve::test_connection;
use serde_json::Value;
use state::{state, Outcome};
use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use values::{chosen_kind, kind_or_default, prefix, seeded, service_settings, KEY_PROVIDER};

/// The private source type behind the window.
const SOURCE_ID: &CStr = c"obs_rtc_golive_settings";

/// Set between registration and unload; callbacks that OBS or the frontend may still call
/// afterwards (a menu click during shutdown) do nothing when it is clear.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// The window's source, created on the first menu click, released at frontend exit (OBS
/// requires every reference to be gone before `obs_shutdown`) or at the latest at unload.
static WINDOW: Mutex<Option<Source>> = Mutex::new(None);

fn window() -> MutexGuard<'static, Option<Source>> {
    WINDOW.lock_recovered()
}

const CALLBACKS: Callbacks = Callbacks {
    provider_modified: Some(provider_modified),
    test_clicked: Some(on_test_clicked),
    apply_clicked: Some(on_apply_clicked),
};

/// The window's settings as JSON.
fn window_json(source: SourceView<'_>) -> Value {
    json_or_empty(source.settings().as_ref().map(Data::view))
}

/// Test connection: validates and calls the vendor with the window's current values on a
/// background thread; the window shows "testing" at once and the result when it arrives.
fn test_clicked(props: PropertiesView<'_>, source: SourceView<'_>) -> bool {
    if !ACTIVE.load(Ordering::SeqCst) {
        return false;
    }
    let json = window_json(source);
    let kind = chosen_kind(&json);
    let settings = service_settings(&json, kind);
    let Some(shared) = shared() else {
        state().outcome = Some(Outcome::Refused(Message::new("Error.Internal")));
        layout::show_dynamic(props, &state());
        return true;
    };
    {
        let mut state = state();
        if state.testing.is_some() {
            return false;
        }
        state.testing = Some(kind);
        state.outcome = None;
        layout::show_dynamic(props, &state);
    }
    let weak = source.weak();
    let background = shared.background.clone();
    background.spawn("test-connection", move |_stop| {
        let report = test_connection(&ServiceSettings::parse(kind, &settings), &shared);
        {
            let mut state = state();
            state.testing = None;
            state.outcome = Some(Outcome::Tested(kind, report));
        }
        // An open properties window of the source rebuilds itself (OBS queues that to the UI
        // thread). Dropping the last reference here is allowed (see `Source`'s drop).
        if let Some(source) = weak.as_ref().and_then(|weak| weak.upgrade()) {
            source.view().update_properties();
        }
    });
    true
}

/// Apply: the chosen provider's values become OBS's streaming service, saved in the profile.
fn apply_clicked(ui: UiThread, props: PropertiesView<'_>, source: SourceView<'_>) -> bool {
    if !ACTIVE.load(Ordering::SeqCst) {
        return false;
    }
    let json = window_json(source);
    let kind = chosen_kind(&json);
    let outcome = apply(ui, kind, &service_settings(&json, kind));
    let mut state = state();
    state.outcome = Some(outcome);
    layout::show_dynamic(props, &state);
    true
}

fn apply(ui: UiThread, kind: ServiceKind, settings: &Value) -> Outcome {
    if ui.streaming_active() {
        return Outcome::Refused(Message::new("Ui.Apply.Streaming"));
    }
    if let Some(error) = ServiceSettings::config_error(kind, settings) {
        return Outcome::Refused(Message::new("Ui.Apply.Invalid").message_arg(error.message));
    }
    if streaming_service::replace(ui, kind, settings).is_err() {
        return Outcome::Refused(Message::new("Error.Internal"));
    }
    log::info!(
        "settings window: {} is now the streaming service (saved to the profile)",
        kind.id()
    );
    Outcome::Applied(kind)
}

/// Tells the streamer about a problem with the live stream: the window opens (or comes to the
/// front) with the message in its result line. OBS has no notification API for plugins; this
/// window is the plugin's own place inside OBS. Safe to call from any thread.
fn show_alert(message: Message) {
    state().alert(message);
    queue_ui_task(open_for_alert);
}

/// The core's alerts, shown in the settings window.
#[derive(Debug)]
pub(super) struct WindowAlerts;

impl Alerts for WindowAlerts {
    fn alert(&self, message: Message) {
        show_alert(message);
    }
}

/// Opens the window, creating its source on first use; `fresh` clears the last outcome.
fn open_window(ui: UiThread, fresh: bool) {
    if !ACTIVE.load(Ordering::SeqCst) {
        return;
    }
    let source = {
        let mut slot = window();
        if slot.is_none() {
            let name = Message::new("Ui.SourceName").render(&ObsLocale);
            let Some(source) = Source::create_private(SOURCE_ID, &name) else {
                log::error!("settings window: cannot create its source");
                return;
            };
            *slot = Some(source);
        }
        // A reference of its own, so that no lock is held while calling into OBS.
        let Some(source) = slot.as_ref().and_then(Source::new_ref) else {
            return;
        };
        source
    };
    {
        let mut state = state();
        if fresh && state.testing.is_none() {
            state.outcome = None;
        }
    }
    seed(source.view());
    source.view().open_properties(ui);
}

/// Replaces the window's values of OBS's streaming service's provider by that service's
/// settings, and chooses that provider, when the service is one of ours.
fn seed(source: SourceView<'_>) {
    let Some((id, service)) = streaming_service::current() else {
        return;
    };
    let Some(kind) = ServiceKind::from_id(&id) else {
        return;
    };
    let Some(settings) = source.settings() else {
        return;
    };
    let values = seeded(&settings.view().to_json(), kind, &service);
    if let Some(data) = Data::from_json(&values) {
        settings.view().replace_with(&data);
    }
}

fn release_window() {
    let taken = window().take();
    drop(taken);
}

fn frontend_event(event: c_int) {
    // Quitting: a Start Streaming still waiting for the vendor is given up first, or tearing
    // down the stream output would wait for its connect thread.
    if event == FRONTEND_EVENT_SCRIPTING_SHUTDOWN {
        super::quit_began();
    }
    if event == FRONTEND_EVENT_EXIT {
        super::abandon_starts();
        release_window();
    }
}

fn set_window_defaults(settings: DataView<'_>) {
    settings.set_default_string(KEY_PROVIDER, ServiceKind::ZegoRtmpDispatch.id());
    for &kind in ServiceKind::ALL {
        set_defaults(settings, kind.fields(), prefix(kind));
    }
}

/// Registers the window's source type (at module load).
pub fn register_source() {
    register_hidden_input(HiddenInputType {
        id: SOURCE_ID,
        get_name: source_get_name,
        create: source_create,
        destroy: source_destroy,
        get_defaults: source_get_defaults,
        get_properties: source_get_properties,
    });
}

/// Adds the Tools menu item and the exit hook (at post-load: the frontend is up).
pub fn register_frontend(ui: UiThread) {
    ACTIVE.store(true, Ordering::SeqCst);
    ui.add_tools_menu_item(
        &Message::new("Ui.MenuItem").render(&ObsLocale),
        Some(on_menu_clicked),
    );
    ui.add_event_callback(Some(on_frontend_event));
}

/// Module unload: stop reacting, drop the exit hook and the source if exit did not already.
/// The Tools menu item cannot be removed through the frontend API; it dies with the main window,
/// which is gone by now, and its callback checks `ACTIVE`.
pub fn unload() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    remove_event_callback(Some(on_frontend_event));
    release_window();
}

// ---------------------------------------------------------------------------------------------
// The callbacks: cast, guard, forward.

unsafe extern "C" fn source_get_name(_type_data: *mut c_void) -> *const c_char {
    guard("settings_window.get_name", c"RTC Go-Live".as_ptr(), || {
        text_ptr(c"Ui.SourceName", c"RTC Go-Live")
    })
}

unsafe extern "C" fn source_create(
    _settings: *mut obs_data_t,
    source: *mut obs_source_t,
) -> *mut c_void {
    // The instance data is the source itself (not a reference: the source owns its data); the
    // window's state lives in `state`, as there is only ever one window.
    guard("settings_window.create", ptr::null_mut(), || source.cast())
}

unsafe extern "C" fn source_destroy(_data: *mut c_void) {
    guard("settings_window.destroy", (), || {})
}

unsafe extern "C" fn source_get_defaults(settings: *mut obs_data_t) {
    guard("settings_window.get_defaults", (), || {
        // SAFETY: OBS passes a valid defaults object for the call, on the UI thread.
        if let Some(settings) = unsafe { DataView::from_raw(settings) } {
            set_window_defaults(settings);
        }
    })
}

unsafe extern "C" fn source_get_properties(_data: *mut c_void) -> *mut obs_properties_t {
    guard("settings_window.get_properties", ptr::null_mut(), || {
        layout::build(&CALLBACKS).into_raw()
    })
}

/// The provider list changed (or the settings were applied to new properties): show only that
/// provider's fields.
unsafe extern "C" fn provider_modified(
    props: *mut obs_properties_t,
    _property: *mut obs_property_t,
    settings: *mut obs_data_t,
) -> bool {
    guard("settings_window.provider_modified", false, || {
        // SAFETY: OBS passes the window's properties and settings for the call, on the UI
        // thread.
        let (props, settings) = unsafe {
            (
                PropertiesView::from_raw(props),
                DataView::from_raw(settings),
            )
        };
        let chosen = settings.map(|s| s.string(c"provider")).unwrap_or_default();
        if let Some(props) = props {
            layout::show_provider(props, kind_or_default(&chosen));
        }
        true
    })
}

unsafe extern "C" fn on_test_clicked(
    props: *mut obs_properties_t,
    _property: *mut obs_property_t,
    data: *mut c_void,
) -> bool {
    guard("settings_window.test", false, || {
        // SAFETY: OBS passes the window's properties and, as instance data, the live source
        // whose window was clicked, on the UI thread.
        let (props, source) = unsafe {
            (
                PropertiesView::from_raw(props),
                SourceView::from_raw(data.cast()),
            )
        };
        match (props, source) {
            (Some(props), Some(source)) => test_clicked(props, source),
            _ => false,
        }
    })
}

unsafe extern "C" fn on_apply_clicked(
    props: *mut obs_properties_t,
    _property: *mut obs_property_t,
    data: *mut c_void,
) -> bool {
    guard("settings_window.apply", false, || {
        // SAFETY: as in `on_test_clicked`; buttons are clicked on the UI thread.
        let (ui, props, source) = unsafe {
            (
                UiThread::assume(),
                PropertiesView::from_raw(props),
                SourceView::from_raw(data.cast()),
            )
        };
        match (props, source) {
            (Some(props), Some(source)) => apply_clicked(ui, props, source),
            _ => false,
        }
    })
}

/// Queued to the UI thread by [`show_alert`].
unsafe extern "C" fn open_for_alert(_private_data: *mut c_void) {
    guard("settings_window.alert", (), || {
        // SAFETY: OBS runs UI tasks on its UI thread.
        open_window(unsafe { UiThread::assume() }, false)
    })
}

/// Tools -> "RTC Go-Live...": seed the window from the streaming service and open it.
unsafe extern "C" fn on_menu_clicked(_private_data: *mut c_void) {
    guard("settings_window.menu", (), || {
        // SAFETY: OBS calls menu items on the UI thread.
        open_window(unsafe { UiThread::assume() }, true)
    })
}

unsafe extern "C" fn on_frontend_event(event: c_int, _private_data: *mut c_void) {
    guard("settings_window.frontend_event", (), || {
        frontend_event(event)
    })
}
