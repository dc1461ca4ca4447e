//! The settings window inside OBS: Tools -> "RTC Go-Live..." opens OBS's own properties window
//! on a private, hidden source whose properties choose the provider, take the credentials, test
//! the connection and make the chosen service OBS's streaming service.
//!
//! Why a source: OBS's Settings -> Stream page only knows its built-in services, and the frontend
//! API offers no dialog for a plugin's service; `obs_frontend_open_source_properties` on a
//! private input with `OBS_SOURCE_CAP_DISABLED` (not in "Add Source", no audio, no video) gives
//! the native properties UI, theme and all.
//!
//! The window's settings keep each provider's values under `zego.` / `aliyun.` + the service's
//! own key, so Apply copies them 1:1 into the service settings. Opening the window seeds them
//! from OBS's streaming service when it is one of ours, so the values follow the profile.
//!
//! Threads: every callback here runs on OBS's UI thread, except the Test connection worker,
//! which runs on a background thread and asks OBS to reload the window when it is done.

use super::ffi::{
    obs_frontend_add_event_callback, obs_frontend_add_tools_menu_item,
    obs_frontend_get_streaming_service, obs_frontend_open_source_properties,
    obs_frontend_remove_event_callback, obs_frontend_save_streaming_service,
    obs_frontend_set_streaming_service, obs_frontend_streaming_active,
    obs_property_text_set_info_type, FRONTEND_EVENT_EXIT, FRONTEND_EVENT_SCRIPTING_SHUTDOWN,
    OBS_TEXT_INFO, OBS_TEXT_INFO_ERROR, OBS_TEXT_INFO_NORMAL, OBS_TEXT_INFO_WARNING,
};
use super::guard::guard;
use super::locale::{text_ptr, ObsLocale};
use super::settings::{add_field, c_string, data_from_json, set_prefixed_defaults, settings_json};
use super::shared;
use obs_wrapper::obs_sys::{
    obs_combo_format_OBS_COMBO_FORMAT_STRING, obs_combo_type_OBS_COMBO_TYPE_LIST, obs_data_apply,
    obs_data_clear, obs_data_get_string, obs_data_release, obs_data_set_default_string, obs_data_t,
    obs_group_type_OBS_GROUP_NORMAL, obs_properties_add_button, obs_properties_add_group,
    obs_properties_add_list, obs_properties_add_text, obs_properties_create, obs_properties_get,
    obs_properties_t, obs_property_list_add_string, obs_property_set_description,
    obs_property_set_enabled, obs_property_set_modified_callback, obs_property_set_visible,
    obs_property_t, obs_queue_task, obs_register_source_s, obs_service_create,
    obs_service_get_display_name, obs_service_get_id, obs_service_get_ref,
    obs_service_get_settings, obs_service_release, obs_source_create_private,
    obs_source_get_settings, obs_source_get_weak_source, obs_source_info, obs_source_release,
    obs_source_t, obs_source_type_OBS_SOURCE_TYPE_INPUT, obs_source_update_properties,
    obs_task_type_OBS_TASK_UI, obs_weak_source_get_source, obs_weak_source_release,
    obs_weak_source_t, OBS_SOURCE_CAP_DISABLED,
};
use rtc_golive_core::config::fields::Field;
use rtc_golive_core::config::{ConfigError, ServiceKind, ServiceSettings};
use rtc_golive_core::host::Alerts;
use rtc_golive_core::lock::LockRecovered;
use rtc_golive_core::messages::Message;
use rtc_golive_core::report::GoLiveReport;
use rtc_golive_core::resolve::test_connection;
use serde_json::{Map, Value};
use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

/// The private source type behind the window.
const SOURCE_ID: &CStr = c"obs_rtc_golive_settings";
/// OBS names the service it loads from `service.json` this way; a service made here replaces it.
const SERVICE_NAME: &CStr = c"default_service";

const KEY_PROVIDER: &CStr = c"provider";
const KEY_STATUS: &CStr = c"status";
const KEY_RESULT: &CStr = c"result";
const KEY_TEST: &CStr = c"test";
const KEY_APPLY: &CStr = c"apply";
const KEY_ADVANCED: &CStr = c"group.advanced";

/// Set between registration and unload; callbacks that OBS or the frontend may still call
/// afterwards (a menu click during shutdown) do nothing when it is clear.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// The window's source, created on the first menu click, released at frontend exit (OBS
/// requires every reference to be gone before `obs_shutdown`) or at the latest at unload.
static WINDOW: Mutex<Option<SourceRef>> = Mutex::new(None);

/// What the window shows below its buttons; one window exists, so one state.
static STATE: Mutex<WindowState> = Mutex::new(WindowState {
    testing: None,
    outcome: None,
});

/// A strong source reference.
struct SourceRef(*mut obs_source_t);

// SAFETY: a source reference is a refcounted libobs handle usable from any thread; this one is
// only touched under WINDOW's lock, on the UI thread.
unsafe impl Send for SourceRef {}

/// A weak source reference, released on drop.
struct WeakSource(*mut obs_weak_source_t);

// SAFETY: weak references are refcounted libobs handles usable from any thread.
unsafe impl Send for WeakSource {}

impl Drop for WeakSource {
    fn drop(&mut self) {
        // SAFETY: the reference came from obs_source_get_weak_source and is released once.
        unsafe { obs_weak_source_release(self.0) };
    }
}

#[derive(Debug)]
struct WindowState {
    /// A Test connection of this provider is running.
    testing: Option<ServiceKind>,
    /// The last button's outcome.
    outcome: Option<Outcome>,
}

#[derive(Debug)]
enum Outcome {
    Tested(ServiceKind, GoLiveReport),
    Applied(ServiceKind),
    Refused(Message),
    /// A problem found while live, raised by the plugin itself.
    Alert(Message),
}

fn state() -> MutexGuard<'static, WindowState> {
    STATE.lock_recovered()
}

fn window() -> MutexGuard<'static, Option<SourceRef>> {
    WINDOW.lock_recovered()
}

/// The settings prefix of `kind`'s values in the window.
fn prefix(kind: ServiceKind) -> &'static str {
    match kind {
        ServiceKind::ZegoRtmpDispatch => "zego.",
        ServiceKind::AliyunArtcRtmp => "aliyun.",
    }
}

/// The group holding `kind`'s account fields.
fn group_key(kind: ServiceKind) -> &'static CStr {
    match kind {
        ServiceKind::ZegoRtmpDispatch => c"group.zego",
        ServiceKind::AliyunArtcRtmp => c"group.aliyun",
    }
}

fn group_label(kind: ServiceKind) -> &'static str {
    match kind {
        ServiceKind::ZegoRtmpDispatch => "Ui.Group.Zego",
        ServiceKind::AliyunArtcRtmp => "Ui.Group.Aliyun",
    }
}

/// Whether a field belongs in the provider's main group; the rest go under Advanced.
fn is_main(kind: ServiceKind, field: &Field) -> bool {
    match kind {
        ServiceKind::ZegoRtmpDispatch => {
            matches!(field.key, "app_id" | "server_secret" | "stream_id")
        }
        ServiceKind::AliyunArtcRtmp => matches!(
            field.key,
            "access_key_id"
                | "access_key_secret"
                | "app_id"
                | "channel_id"
                | "user_id"
                | "display_name"
        ),
    }
}

/// The service of type `id`, if it is one of ours.
pub(super) fn kind_of(id: &str) -> Option<ServiceKind> {
    ServiceKind::ALL.iter().copied().find(|k| k.id() == id)
}

/// The provider chosen in the window's settings (JSON as from `settings_json`).
fn chosen_kind(window: &Value) -> ServiceKind {
    window
        .get("provider")
        .and_then(Value::as_str)
        .and_then(kind_of)
        .unwrap_or(ServiceKind::ZegoRtmpDispatch)
}

/// `kind`'s service settings from the window's settings: its prefixed keys, prefix removed.
fn service_settings(window: &Value, kind: ServiceKind) -> Value {
    let mut out = Map::new();
    for field in kind.fields() {
        if let Some(value) = window.get(format!("{}{}", prefix(kind), field.key)) {
            out.insert(field.key.to_string(), value.clone());
        }
    }
    Value::Object(out)
}

/// The window's settings with `kind`'s values replaced by `service` (a service's settings) and
/// `kind` chosen; the other provider's values stay.
fn seeded(window: &Value, kind: ServiceKind, service: &Value) -> Value {
    let mut out: Map<String, Value> = window
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| !k.starts_with(prefix(kind)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    for field in kind.fields() {
        if let Some(value) = service.get(field.key) {
            out.insert(format!("{}{}", prefix(kind), field.key), value.clone());
        }
    }
    out.insert("provider".to_string(), Value::String(kind.id().to_string()));
    Value::Object(out)
}

/// The configuration error `settings` has for `kind`, checked without any network call.
pub(super) fn config_error(kind: ServiceKind, settings: &Value) -> Option<ConfigError> {
    ServiceSettings::parse(kind, settings)
        .config()
        .err()
        .cloned()
}

/// OBS's streaming service now: its type id and settings (secrets included, never logged).
///
/// Safe from any thread to the extent the frontend allows: obs-websocket's own
/// GetStreamServiceSettings reads it from its thread the same way.
pub(super) fn current_service() -> Option<(String, Value)> {
    // SAFETY: the frontend returns its service without a new reference; one is taken at once
    // (null if the service is already being destroyed) and released at the end. The id is
    // copied; the settings are a new reference, converted to JSON and released.
    unsafe {
        let service = obs_service_get_ref(obs_frontend_get_streaming_service());
        if service.is_null() {
            return None;
        }
        let id = obs_service_get_id(service);
        let id = (!id.is_null()).then(|| CStr::from_ptr(id).to_string_lossy().into_owned());
        let settings = obs_service_get_settings(service);
        let json = settings_json(settings);
        if !settings.is_null() {
            obs_data_release(settings);
        }
        obs_service_release(service);
        Some((id?, json))
    }
}

/// How the status line names a service type: ours by name, others as "Name (id)".
fn service_display_name(id: &str) -> String {
    let c_id = c_string(id);
    // SAFETY: `c_id` is NUL-terminated; libobs returns the type's static name or null.
    let name = unsafe { obs_service_get_display_name(c_id.as_ptr()) };
    if name.is_null() {
        return id.to_string();
    }
    // SAFETY: a NUL-terminated string owned by the service type (or its module's locale).
    let name = unsafe { CStr::from_ptr(name) }.to_string_lossy();
    if kind_of(id).is_some() {
        name.into_owned()
    } else {
        format!("{name} ({id})")
    }
}

fn status_message() -> Message {
    let current =
        current_service().map_or_else(|| "-".to_string(), |(id, _)| service_display_name(&id));
    Message::new("Ui.Status").text(current)
}

/// The text under the buttons and how it is shown.
fn outcome_message(state: &WindowState) -> Option<(Message, u32)> {
    if let Some(kind) = state.testing {
        return Some((
            Message::new("Ui.Test.Running").key_arg(kind.name_key()),
            OBS_TEXT_INFO_WARNING,
        ));
    }
    match state.outcome.as_ref()? {
        Outcome::Tested(kind, report) => Some(match &report.error {
            None => (
                Message::new("Ui.Test.Ok")
                    .key_arg(kind.name_key())
                    .text(report.latency.as_millis().to_string())
                    .text(&report.node)
                    .text(&report.request_id),
                OBS_TEXT_INFO_NORMAL,
            ),
            Some(error) => (
                Message::new("Ui.Test.Failed").message_arg(error.clone()),
                OBS_TEXT_INFO_ERROR,
            ),
        }),
        Outcome::Applied(kind) => Some((
            Message::new("Ui.Apply.Done").key_arg(kind.name_key()),
            OBS_TEXT_INFO_NORMAL,
        )),
        Outcome::Refused(message) | Outcome::Alert(message) => {
            Some((message.clone(), OBS_TEXT_INFO_ERROR))
        }
    }
}

/// Sets the texts that change while the window is open: the streaming service and the last
/// outcome; Test connection is disabled while a test runs.
///
/// # Safety
/// `props` must be the window's valid properties object, on the UI thread.
unsafe fn show_dynamic(props: *mut obs_properties_t, state: &WindowState) {
    let text = c_string(&status_message().render(&ObsLocale));
    // SAFETY: per the caller; every property looked up belongs to `props`; texts are copied.
    unsafe {
        let status = obs_properties_get(props, KEY_STATUS.as_ptr());
        if !status.is_null() {
            obs_property_set_description(status, text.as_ptr());
        }
        let result = obs_properties_get(props, KEY_RESULT.as_ptr());
        if !result.is_null() {
            match outcome_message(state) {
                Some((message, kind)) => {
                    let text = c_string(&message.render(&ObsLocale));
                    obs_property_set_description(result, text.as_ptr());
                    obs_property_text_set_info_type(result, kind);
                    obs_property_set_visible(result, true);
                }
                None => obs_property_set_visible(result, false),
            }
        }
        let test = obs_properties_get(props, KEY_TEST.as_ptr());
        if !test.is_null() {
            obs_property_set_enabled(test, state.testing.is_none());
        }
    }
}

/// The window's settings as JSON.
///
/// # Safety
/// `source` must be a live source, on the UI thread.
unsafe fn window_json(source: *mut obs_source_t) -> Value {
    // SAFETY: per the caller; the settings reference is released after the copy.
    unsafe {
        let settings = obs_source_get_settings(source);
        let json = settings_json(settings);
        if !settings.is_null() {
            obs_data_release(settings);
        }
        json
    }
}

// ---------------------------------------------------------------------------------------------
// The source type.

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
    // window's state lives in STATE, as there is only ever one window.
    guard("settings_window.create", ptr::null_mut(), || source.cast())
}

unsafe extern "C" fn source_destroy(_data: *mut c_void) {
    guard("settings_window.destroy", (), || {})
}

unsafe extern "C" fn source_get_defaults(settings: *mut obs_data_t) {
    guard("settings_window.get_defaults", (), || {
        let default_kind = c_string(ServiceKind::ZegoRtmpDispatch.id());
        // SAFETY: OBS passes a valid defaults object; strings are copied.
        unsafe {
            obs_data_set_default_string(settings, KEY_PROVIDER.as_ptr(), default_kind.as_ptr());
            for &kind in ServiceKind::ALL {
                set_prefixed_defaults(settings, kind.fields(), prefix(kind));
            }
        }
    })
}

unsafe extern "C" fn source_get_properties(_data: *mut c_void) -> *mut obs_properties_t {
    guard("settings_window.get_properties", ptr::null_mut(), || {
        // SAFETY: a fresh properties object, filled on the UI thread and handed to OBS.
        unsafe { build_properties() }
    })
}

/// # Safety
/// UI thread; the returned object belongs to the caller (OBS).
unsafe fn build_properties() -> *mut obs_properties_t {
    let tr = |key: &'static str| c_string(&Message::new(key).render(&ObsLocale));
    // SAFETY: every object is created here and added to `props`, which owns it afterwards;
    // libobs copies every string.
    unsafe {
        let props = obs_properties_create();
        obs_properties_add_text(props, KEY_STATUS.as_ptr(), c"".as_ptr(), OBS_TEXT_INFO);

        let provider = obs_properties_add_list(
            props,
            KEY_PROVIDER.as_ptr(),
            tr("Ui.Provider").as_ptr(),
            obs_combo_type_OBS_COMBO_TYPE_LIST,
            obs_combo_format_OBS_COMBO_FORMAT_STRING,
        );
        for &kind in ServiceKind::ALL {
            let (label, id) = (tr(kind.name_key()), c_string(kind.id()));
            obs_property_list_add_string(provider, label.as_ptr(), id.as_ptr());
        }
        obs_property_set_modified_callback(provider, Some(provider_modified));

        for &kind in ServiceKind::ALL {
            let group = obs_properties_create();
            for field in kind.fields().iter().filter(|f| is_main(kind, f)) {
                add_field(group, field, prefix(kind));
            }
            obs_properties_add_group(
                props,
                group_key(kind).as_ptr(),
                tr(group_label(kind)).as_ptr(),
                obs_group_type_OBS_GROUP_NORMAL,
                group,
            );
        }

        obs_properties_add_button(
            props,
            KEY_TEST.as_ptr(),
            tr("Ui.Test").as_ptr(),
            Some(on_test_clicked),
        );
        obs_properties_add_button(
            props,
            KEY_APPLY.as_ptr(),
            tr("Ui.Apply").as_ptr(),
            Some(on_apply_clicked),
        );
        obs_properties_add_text(props, KEY_RESULT.as_ptr(), c"".as_ptr(), OBS_TEXT_INFO);

        let advanced = obs_properties_create();
        for &kind in ServiceKind::ALL {
            for field in kind.fields().iter().filter(|f| !is_main(kind, f)) {
                add_field(advanced, field, prefix(kind));
            }
        }
        obs_properties_add_group(
            props,
            KEY_ADVANCED.as_ptr(),
            tr("Ui.Group.Advanced").as_ptr(),
            obs_group_type_OBS_GROUP_NORMAL,
            advanced,
        );

        show_dynamic(props, &state());
        props
    }
}

/// The provider list changed (or the settings were applied to new properties): show only that
/// provider's fields.
unsafe extern "C" fn provider_modified(
    props: *mut obs_properties_t,
    _property: *mut obs_property_t,
    settings: *mut obs_data_t,
) -> bool {
    guard("settings_window.provider_modified", false, || {
        // SAFETY: OBS passes the window's properties and settings on the UI thread.
        let chosen =
            unsafe { CStr::from_ptr(obs_data_get_string(settings, KEY_PROVIDER.as_ptr())) };
        let chosen = kind_of(&chosen.to_string_lossy()).unwrap_or(ServiceKind::ZegoRtmpDispatch);
        for &kind in ServiceKind::ALL {
            let visible = kind == chosen;
            // SAFETY: properties looked up in `props` belong to it; null is checked.
            unsafe {
                let group = obs_properties_get(props, group_key(kind).as_ptr());
                if !group.is_null() {
                    obs_property_set_visible(group, visible);
                }
                for field in kind.fields().iter().filter(|f| !is_main(kind, f)) {
                    let key = c_string(&format!("{}{}", prefix(kind), field.key));
                    let property = obs_properties_get(props, key.as_ptr());
                    if !property.is_null() {
                        obs_property_set_visible(property, visible);
                    }
                }
            }
        }
        true
    })
}

/// Test connection: validates and calls the vendor with the window's current values on a
/// background thread; the window shows "testing" at once and the result when it arrives.
unsafe extern "C" fn on_test_clicked(
    props: *mut obs_properties_t,
    _property: *mut obs_property_t,
    data: *mut c_void,
) -> bool {
    guard("settings_window.test", false, || {
        let source: *mut obs_source_t = data.cast();
        if source.is_null() || !ACTIVE.load(Ordering::SeqCst) {
            return false;
        }
        // SAFETY: `data` is the instance data, i.e. the live source whose window was clicked.
        let json = unsafe { window_json(source) };
        let kind = chosen_kind(&json);
        let settings = service_settings(&json, kind);
        let Some(shared) = shared() else {
            state().outcome = Some(Outcome::Refused(Message::new("Error.Internal")));
            // SAFETY: OBS passes the window's properties on the UI thread.
            unsafe { show_dynamic(props, &state()) };
            return true;
        };
        {
            let mut state = state();
            if state.testing.is_some() {
                return false;
            }
            state.testing = Some(kind);
            state.outcome = None;
            // SAFETY: as above.
            unsafe { show_dynamic(props, &state) };
        }
        // SAFETY: the source is live; the weak reference is released by WeakSource's drop.
        let weak = WeakSource(unsafe { obs_source_get_weak_source(source) });
        let background = shared.background.clone();
        background.spawn("test-connection", move |_stop| {
            let report = test_connection(&ServiceSettings::parse(kind, &settings), &shared);
            {
                let mut state = state();
                state.testing = None;
                state.outcome = Some(Outcome::Tested(kind, report));
            }
            reload_window(&weak);
        });
        true
    })
}

/// Asks an open properties window of the source to rebuild itself (OBS queues the rebuild to
/// the UI thread), from any thread.
fn reload_window(weak: &WeakSource) {
    // SAFETY: a weak reference yields a strong one or null once the source is gone; the strong
    // one is released right after signalling. Releasing the last reference here would destroy
    // the source on this thread, which libobs allows (destruction is deferred to its own queue).
    unsafe {
        let source = obs_weak_source_get_source(weak.0);
        if !source.is_null() {
            obs_source_update_properties(source);
            obs_source_release(source);
        }
    }
}

/// Apply: the chosen provider's values become OBS's streaming service, saved in the profile.
unsafe extern "C" fn on_apply_clicked(
    props: *mut obs_properties_t,
    _property: *mut obs_property_t,
    data: *mut c_void,
) -> bool {
    guard("settings_window.apply", false, || {
        let source: *mut obs_source_t = data.cast();
        if source.is_null() || !ACTIVE.load(Ordering::SeqCst) {
            return false;
        }
        // SAFETY: `data` is the live source whose window was clicked.
        let json = unsafe { window_json(source) };
        let kind = chosen_kind(&json);
        let outcome = apply(kind, &service_settings(&json, kind));
        let mut state = state();
        state.outcome = Some(outcome);
        // SAFETY: OBS passes the window's properties on the UI thread.
        unsafe { show_dynamic(props, &state) };
        true
    })
}

/// Makes a `kind` service with `settings` OBS's streaming service and saves it to the profile.
/// UI thread only (frontend API).
fn apply(kind: ServiceKind, settings: &Value) -> Outcome {
    // SAFETY: called on the UI thread, as the frontend API requires.
    if unsafe { obs_frontend_streaming_active() } {
        return Outcome::Refused(Message::new("Ui.Apply.Streaming"));
    }
    if let Some(error) = config_error(kind, settings) {
        return Outcome::Refused(Message::new("Ui.Apply.Invalid").message_arg(error.message));
    }
    let data = data_from_json(settings);
    if data.is_null() {
        return Outcome::Refused(Message::new("Error.Internal"));
    }
    let id = c_string(kind.id());
    // SAFETY: `data` is a valid object we own and release after libobs copied it into the new
    // service; the frontend takes its own reference to the service, ours is released after.
    unsafe {
        let service = obs_service_create(id.as_ptr(), SERVICE_NAME.as_ptr(), data, ptr::null_mut());
        obs_data_release(data);
        if service.is_null() {
            log::error!("settings window: cannot create a {} service", kind.id());
            return Outcome::Refused(Message::new("Error.Internal"));
        }
        obs_frontend_set_streaming_service(service);
        obs_frontend_save_streaming_service();
        obs_service_release(service);
    }
    log::info!(
        "settings window: {} is now the streaming service (saved to the profile)",
        kind.id()
    );
    Outcome::Applied(kind)
}

// ---------------------------------------------------------------------------------------------
// The Tools menu and the window's life.

/// Tells the streamer about a problem with the live stream: the window opens (or comes to the
/// front) with the message in its result line. OBS has no notification API for plugins; this
/// window is the plugin's own place inside OBS. Safe to call from any thread.
fn show_alert(message: Message) {
    {
        let mut state = state();
        if state.testing.is_none() {
            state.outcome = Some(Outcome::Alert(message));
        }
    }
    // SAFETY: the task takes no parameter and is 'static; not waiting avoids any deadlock with
    // the UI thread, where the frontend API must be called.
    unsafe {
        obs_queue_task(
            obs_task_type_OBS_TASK_UI,
            Some(open_for_alert),
            ptr::null_mut(),
            false,
        )
    };
}

/// The core's alerts, shown in the settings window.
#[derive(Debug)]
pub(super) struct WindowAlerts;

impl Alerts for WindowAlerts {
    fn alert(&self, message: Message) {
        show_alert(message);
    }
}

unsafe extern "C" fn open_for_alert(_private_data: *mut c_void) {
    // SAFETY: queued to the UI thread by `show_alert`.
    guard("settings_window.alert", (), || unsafe {
        open_window(false)
    })
}

/// Tools -> "RTC Go-Live...": seed the window from the streaming service and open it.
unsafe extern "C" fn on_menu_clicked(_private_data: *mut c_void) {
    // SAFETY: OBS calls menu items on the UI thread.
    guard("settings_window.menu", (), || unsafe { open_window(true) })
}

/// Opens the window, creating its source on first use; `fresh` clears the last outcome.
///
/// # Safety
/// On the UI thread.
unsafe fn open_window(fresh: bool) {
    {
        if !ACTIVE.load(Ordering::SeqCst) {
            return;
        }
        let mut slot = window();
        if slot.is_none() {
            let name = c_string(&Message::new("Ui.SourceName").render(&ObsLocale));
            // SAFETY: the type is registered; name is NUL-terminated and copied; the source
            // gets default settings. The returned reference is kept in WINDOW.
            let source = unsafe {
                obs_source_create_private(SOURCE_ID.as_ptr(), name.as_ptr(), ptr::null_mut())
            };
            if source.is_null() {
                log::error!("settings window: cannot create its source");
                return;
            }
            *slot = Some(SourceRef(source));
        }
        let Some(source) = slot.as_ref().map(|s| s.0) else {
            return;
        };
        drop(slot);
        {
            let mut state = state();
            if fresh && state.testing.is_none() {
                state.outcome = None;
            }
        }
        // SAFETY: `source` is our live reference; on the UI thread.
        unsafe { seed(source) };
        // SAFETY: the frontend takes its own reference for the window it queues.
        unsafe { obs_frontend_open_source_properties(source) };
    }
}

/// Replaces the window's values of OBS's streaming service's provider by that service's
/// settings, and chooses that provider, when the service is one of ours.
///
/// # Safety
/// `source` must be the live window source, on the UI thread.
unsafe fn seed(source: *mut obs_source_t) {
    let Some((id, service)) = current_service() else {
        return;
    };
    let Some(kind) = kind_of(&id) else { return };
    // SAFETY: per the caller; the settings reference is released after use, and the new
    // values object after it was applied.
    unsafe {
        let settings = obs_source_get_settings(source);
        if settings.is_null() {
            return;
        }
        let values = seeded(&settings_json(settings), kind, &service);
        let data = data_from_json(&values);
        if !data.is_null() {
            obs_data_clear(settings);
            obs_data_apply(settings, data);
            obs_data_release(data);
        }
        obs_data_release(settings);
    }
}

fn release_window() {
    let taken = window().take();
    if let Some(source) = taken {
        // SAFETY: our reference from obs_source_create_private, released exactly once.
        unsafe { obs_source_release(source.0) };
    }
}

unsafe extern "C" fn on_frontend_event(event: c_int, _private_data: *mut c_void) {
    guard("settings_window.frontend_event", (), || {
        // Quitting: a Start Streaming still waiting for the vendor is given up first, or
        // tearing down the stream output would wait for its connect thread.
        if event == FRONTEND_EVENT_SCRIPTING_SHUTDOWN || event == FRONTEND_EVENT_EXIT {
            super::abandon_starts();
        }
        if event == FRONTEND_EVENT_EXIT {
            release_window();
        }
    })
}

/// Registers the window's source type (at module load).
pub fn register_source() {
    let info = obs_source_info {
        id: SOURCE_ID.as_ptr(),
        type_: obs_source_type_OBS_SOURCE_TYPE_INPUT,
        output_flags: OBS_SOURCE_CAP_DISABLED,
        get_name: Some(source_get_name),
        create: Some(source_create),
        destroy: Some(source_destroy),
        get_defaults: Some(source_get_defaults),
        get_properties: Some(source_get_properties),
        ..Default::default()
    };
    // SAFETY: `info` is fully initialised (obs-sys's libobs 25 layout, a prefix of every later
    // one); libobs copies `size` bytes and keeps the 'static id and function pointers.
    unsafe { obs_register_source_s(&info, std::mem::size_of::<obs_source_info>() as _) };
}

/// Adds the Tools menu item and the exit hook (at post-load: the frontend is up).
pub fn register_frontend() {
    ACTIVE.store(true, Ordering::SeqCst);
    let label = c_string(&Message::new("Ui.MenuItem").render(&ObsLocale));
    // SAFETY: post-load runs on the UI thread with the frontend set up; the label is copied;
    // the callbacks are 'static functions.
    unsafe {
        obs_frontend_add_tools_menu_item(label.as_ptr(), Some(on_menu_clicked), ptr::null_mut());
        obs_frontend_add_event_callback(Some(on_frontend_event), ptr::null_mut());
    }
}

/// Module unload: stop reacting, drop the exit hook and the source if exit did not already.
/// The Tools menu item cannot be removed through the frontend API; it dies with the main window,
/// which is gone by now, and its callback checks `ACTIVE`.
pub fn unload() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    // SAFETY: the frontend's callback list outlives module unload (the frontend never frees it).
    unsafe { obs_frontend_remove_event_callback(Some(on_frontend_event), ptr::null_mut()) };
    release_window();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_round_trip_between_window_and_service() {
        let service = json!({"app_id": 7, "server_secret": "s", "stream_id": "a", "endpoint": "http://127.0.0.1:1",
                             "unknown": 1});
        let window = json!({"provider": "aliyun_artc_rtmp", "zego.stream_id": "old", "zego.client_ip": "1.2.3.4",
                            "aliyun.app_id": "x"});
        let seeded = seeded(&window, ServiceKind::ZegoRtmpDispatch, &service);
        assert_eq!(seeded["provider"], "zego_rtmp_dispatch");
        assert_eq!(seeded["zego.stream_id"], "a");
        assert!(
            seeded.get("zego.client_ip").is_none(),
            "values of the old service are dropped"
        );
        assert!(seeded.get("zego.unknown").is_none());
        assert_eq!(seeded["aliyun.app_id"], "x");
        assert_eq!(chosen_kind(&seeded), ServiceKind::ZegoRtmpDispatch);
        let mut expected = service.clone();
        expected.as_object_mut().unwrap().remove("unknown");
        assert_eq!(
            service_settings(&seeded, ServiceKind::ZegoRtmpDispatch),
            expected
        );
        assert_eq!(
            service_settings(&seeded, ServiceKind::AliyunArtcRtmp),
            json!({"app_id": "x"})
        );
    }

    #[test]
    fn every_field_is_shown_once() {
        for &kind in ServiceKind::ALL {
            let main = kind.fields().iter().filter(|f| is_main(kind, f)).count();
            assert!(main >= 3 && main < kind.fields().len(), "{kind:?}");
        }
    }
}
