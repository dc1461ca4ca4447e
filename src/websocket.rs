//! obs-websocket vendor requests (vendor `obs-rtc-golive`): `GetStatus`, `TestConnection` and
//! `CancelStart`, for scripts and remote control (`CallVendorRequest`).
//!
//! obs-websocket 5.x offers its plugin API as the header-only `lib/obs-websocket-api.h`: the
//! global proc `obs_websocket_api_get_ph` hands out obs-websocket's own proc handler, whose
//! procs `vendor_register` and `vendor_request_register` take calldata. That header's few inline
//! functions are reimplemented here; libobs's `calldata_set_ptr` / `calldata_get_ptr` /
//! `calldata_set_string` / `calldata_free` are `static inline` in `callback/calldata.h`, so
//! they are rebuilt on the exported `calldata_set_data` / `calldata_get_data` and `bfree`.
//!
//! Registration happens at post-load (obs-websocket must be loaded first). Nothing is
//! unregistered at unload: obs-websocket deletes its vendors itself when it unloads, and its
//! proc handler may already be freed when this module unloads (OBS frees modules in list order,
//! without unlinking them). Our code stays mapped (libobs never `dlclose`s modules), so a late
//! request only finds `ACTIVE` cleared and answers with an error.
//!
//! Request callbacks run on obs-websocket's thread; a blocking vendor call is fine there.

use super::ffi::{WebsocketRequestCallback, WebsocketRequestFunction};
use super::frontend::{config_error, current_service, kind_of};
use super::guard::guard;
use super::locale::ObsLocale;
use super::settings::{data_from_json, settings_json};
use super::shared;
use obs_wrapper::obs_sys::{
    bfree, calldata_get_data, calldata_set_data, calldata_t, obs_data_apply, obs_data_release,
    obs_data_t, obs_get_proc_handler, proc_handler_call, proc_handler_t,
};
use rtc_golive_core::config::{ServiceKind, ServiceSettings};
use rtc_golive_core::lock::LockRecovered;
use rtc_golive_core::messages::Message;
use rtc_golive_core::report::GoLiveReport;
use rtc_golive_core::resolve::test_connection;
use serde_json::{json, Map, Value};
use std::ffi::CStr;
use std::os::raw::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

/// The vendor name scripts use in `CallVendorRequest`.
pub const VENDOR: &CStr = c"obs-rtc-golive";

/// Set while the module is loaded; see the module documentation.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// A `calldata_t` on the heap of libobs's allocator, freed on drop (`calldata_free`).
struct CallData(calldata_t);

impl CallData {
    /// `calldata_t cd = {0};`
    fn new() -> Self {
        CallData(calldata_t {
            stack: ptr::null_mut(),
            size: 0,
            capacity: 0,
            fixed: false,
        })
    }

    fn as_mut_ptr(&mut self) -> *mut calldata_t {
        &mut self.0
    }

    /// `calldata_set_ptr`.
    fn set_ptr(&mut self, name: &CStr, value: *mut c_void) {
        // SAFETY: libobs copies `size_of::<*mut c_void>()` bytes from `&value` into its stack.
        unsafe {
            calldata_set_data(
                self.as_mut_ptr(),
                name.as_ptr(),
                (&value as *const *mut c_void).cast(),
                std::mem::size_of::<*mut c_void>() as _,
            )
        }
    }

    /// `calldata_set_string`: copies the text and its NUL.
    fn set_string(&mut self, name: &CStr, value: &CStr) {
        let bytes = value.to_bytes_with_nul();
        // SAFETY: libobs copies `bytes.len()` bytes from the NUL-terminated text.
        unsafe {
            calldata_set_data(
                self.as_mut_ptr(),
                name.as_ptr(),
                bytes.as_ptr().cast(),
                bytes.len() as _,
            )
        }
    }

    /// `calldata_get_ptr` (null when missing or of another size).
    fn ptr(&self, name: &CStr) -> *mut c_void {
        let mut value: *mut c_void = ptr::null_mut();
        // SAFETY: libobs writes at most `size_of::<*mut c_void>()` bytes into `value`, and only
        // when the stored parameter has exactly that size.
        unsafe {
            calldata_get_data(
                &self.0,
                name.as_ptr(),
                (&mut value as *mut *mut c_void).cast(),
                std::mem::size_of::<*mut c_void>() as _,
            );
        }
        value
    }

    /// `calldata_bool`.
    fn bool(&self, name: &CStr) -> bool {
        let mut value = false;
        // SAFETY: as in `ptr`, for one `bool` (C `bool` and Rust `bool` are both one byte).
        unsafe {
            calldata_get_data(
                &self.0,
                name.as_ptr(),
                (&mut value as *mut bool).cast(),
                std::mem::size_of::<bool>() as _,
            );
        }
        value
    }

    /// `proc_handler_call`: whether the proc exists.
    ///
    /// # Safety
    /// `handler` must be a live proc handler.
    unsafe fn call(&mut self, handler: *mut proc_handler_t, proc_name: &CStr) -> bool {
        // SAFETY: per the caller; the calldata is ours and valid.
        unsafe { proc_handler_call(handler, proc_name.as_ptr(), self.as_mut_ptr()) }
    }
}

impl Drop for CallData {
    fn drop(&mut self) {
        if !self.0.fixed && !self.0.stack.is_null() {
            // SAFETY: the stack was allocated by libobs's calldata functions with bmalloc and is
            // owned by this calldata alone.
            unsafe { bfree(self.0.stack.cast()) };
        }
    }
}

/// Registers the vendor and its requests; logs and does nothing when obs-websocket is absent.
/// Call at post-load.
pub fn register() {
    ACTIVE.store(true, Ordering::SeqCst);
    // SAFETY: the global proc handler exists while libobs runs; post-load runs after every
    // module (obs-websocket included) was loaded.
    let global = unsafe { obs_get_proc_handler() };
    if global.is_null() {
        return;
    }
    let mut cd = CallData::new();
    // SAFETY: `global` is live; the proc, when present, writes obs-websocket's handler.
    if !unsafe { cd.call(global, c"obs_websocket_api_get_ph") } {
        log::info!("obs-websocket is not loaded: no vendor requests");
        return;
    }
    let handler: *mut proc_handler_t = cd.ptr(c"ph").cast();
    if handler.is_null() {
        log::warn!("obs-websocket gave no proc handler: no vendor requests");
        return;
    }
    let mut cd = CallData::new();
    cd.set_string(c"name", VENDOR);
    // SAFETY: `handler` is obs-websocket's live proc handler (it lives until obs-websocket
    // unloads, after post-load).
    unsafe { cd.call(handler, c"vendor_register") };
    let vendor = cd.ptr(c"vendor");
    if vendor.is_null() {
        log::warn!(
            "obs-websocket refused the vendor {}",
            VENDOR.to_string_lossy()
        );
        return;
    }
    let requests: [(&CStr, WebsocketRequestFunction); 3] = [
        (c"GetStatus", Some(on_get_status)),
        (c"TestConnection", Some(on_test_connection)),
        (c"CancelStart", Some(on_cancel_start)),
    ];
    for (name, callback) in requests {
        let mut entry = WebsocketRequestCallback {
            callback,
            priv_data: ptr::null_mut(),
        };
        let mut cd = CallData::new();
        cd.set_string(c"type", name);
        cd.set_ptr(
            c"callback",
            (&mut entry as *mut WebsocketRequestCallback).cast(),
        );
        cd.set_ptr(c"vendor", vendor);
        // SAFETY: as above; obs-websocket copies `entry` before the call returns.
        unsafe { cd.call(handler, c"vendor_request_register") };
        if !cd.bool(c"success") {
            log::warn!(
                "obs-websocket refused the vendor request {}",
                name.to_string_lossy()
            );
        }
    }
    log::info!(
        "obs-websocket vendor {} registered (GetStatus, TestConnection, CancelStart)",
        VENDOR.to_string_lossy()
    );
}

/// Module unload: late requests answer with an error (see the module documentation).
pub fn unload() {
    ACTIVE.store(false, Ordering::SeqCst);
}

/// Runs a request: reads its data, writes `answer(data)` into the response.
///
/// # Safety
/// `request` and `response` must be obs-websocket's valid objects for the call.
unsafe fn respond(
    request: *mut obs_data_t,
    response: *mut obs_data_t,
    name: &str,
    answer: fn(Value) -> Value,
) {
    guard(name, (), || {
        let body = if ACTIVE.load(Ordering::SeqCst) {
            // SAFETY: per the caller.
            answer(unsafe { settings_json(request) })
        } else {
            json!({"ok": false, "error": "obs-rtc-golive is unloading"})
        };
        let data = data_from_json(&body);
        if !data.is_null() {
            // SAFETY: per the caller for `response`; `data` is ours, copied into it, released.
            unsafe {
                obs_data_apply(response, data);
                obs_data_release(data);
            }
        }
    })
}

unsafe extern "C" fn on_get_status(
    request: *mut obs_data_t,
    response: *mut obs_data_t,
    _priv: *mut c_void,
) {
    // SAFETY: obs-websocket passes valid request and response objects.
    unsafe { respond(request, response, "websocket.GetStatus", get_status) }
}

unsafe extern "C" fn on_test_connection(
    request: *mut obs_data_t,
    response: *mut obs_data_t,
    _priv: *mut c_void,
) {
    // SAFETY: obs-websocket passes valid request and response objects.
    unsafe { respond(request, response, "websocket.TestConnection", test) }
}

unsafe extern "C" fn on_cancel_start(
    request: *mut obs_data_t,
    response: *mut obs_data_t,
    _priv: *mut c_void,
) {
    // SAFETY: obs-websocket passes valid request and response objects.
    unsafe { respond(request, response, "websocket.CancelStart", cancel_start) }
}

/// `CancelStart`: gives up a Start Streaming still waiting for the vendor, which OBS's own
/// Stop Streaming cannot do (the frontend disables it, and obs-websocket's `StopStream`
/// refuses, until the output has connected). `{"ok": true, "cancelled": <starts given up>}`.
fn cancel_start(_request: Value) -> Value {
    match shared() {
        Some(shared) => {
            let cancelled = shared.cancel_starts();
            log::info!("CancelStart: {cancelled} start(s) given up");
            json!({"ok": true, "cancelled": cancelled})
        }
        None => json!({"ok": false, "error": "obs-rtc-golive has no HTTP client"}),
    }
}

fn render(message: &Message) -> String {
    message.render(&ObsLocale)
}

/// RFC 3339 in UTC, to the second.
fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// `GetStatus`: OBS's streaming service and the module's last go-live; never a secret.
fn get_status(_request: Value) -> Value {
    let current = current_service().map(|(id, _)| id).unwrap_or_default();
    let mut body = Map::new();
    body.insert("activeServiceType".into(), json!(current));
    body.insert(
        "activeServiceIsOurs".into(),
        json!(kind_of(&current).is_some()),
    );
    body.insert("pluginVersion".into(), json!(env!("CARGO_PKG_VERSION")));
    // Only read: a status request must not create the HTTP client.
    let last = super::SHARED
        .lock_recovered()
        .as_ref()
        .and_then(|s| s.status.last_go_live());
    let alert = super::SHARED
        .lock_recovered()
        .as_ref()
        .and_then(|s| s.status.last_alert());
    if let Some((at, message)) = alert {
        body.insert(
            "lastAlert".into(),
            json!({"time": rfc3339(at), "text": render(&message)}),
        );
    }
    body.insert("hasLastGoLive".into(), json!(last.is_some()));
    if let Some((kind, report)) = last {
        body.insert("lastGoLive".into(), go_live_json(kind, &report));
    }
    Value::Object(body)
}

fn go_live_json(kind: ServiceKind, report: &GoLiveReport) -> Value {
    // obs_data arrays hold objects only, so each warning is {"text": ...}.
    let warnings: Vec<Value> = report
        .warnings
        .iter()
        .map(|w| json!({"text": render(w)}))
        .collect();
    json!({
        "provider": kind.id(),
        "ok": report.error.is_none(),
        "time": rfc3339(report.at),
        "node": report.node,
        "requestId": report.request_id,
        "latencyMs": u64::try_from(report.latency.as_millis()).unwrap_or(u64::MAX),
        "error": report.error.as_ref().map(render).unwrap_or_default(),
        "warnings": warnings,
    })
}

/// `TestConnection`: `{"serviceType"?, "settings"?}`, defaulting to OBS's streaming service.
fn test(request: Value) -> Value {
    let current = current_service();
    let requested = request
        .get("serviceType")
        .and_then(Value::as_str)
        .map(str::to_string);
    let type_id = requested
        .clone()
        .or_else(|| current.as_ref().map(|(id, _)| id.clone()))
        .unwrap_or_default();
    let Some(kind) = kind_of(&type_id) else {
        let message = if requested.is_some() {
            Message::new("Ui.Ws.UnknownType").text(&type_id)
        } else {
            Message::new("Ui.Ws.NotOurs").text(&type_id)
        };
        return json!({"ok": false, "serviceType": type_id, "error": render(&message)});
    };
    let settings = match request.get("settings") {
        Some(settings) if settings.is_object() => settings.clone(),
        _ => current
            .filter(|(id, _)| *id == type_id)
            .map(|(_, settings)| settings)
            .unwrap_or_else(|| json!({})),
    };
    let Some(shared) = shared() else {
        return json!({"ok": false, "serviceType": type_id, "error": render(&Message::new("Error.Internal"))});
    };
    let report = test_connection(&ServiceSettings::parse(kind, &settings), &shared);
    let mut body = match go_live_json(kind, &report) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    body.remove("provider");
    body.insert("serviceType".into(), json!(kind.id()));
    if report.error.is_some() {
        if let Some(error) = config_error(kind, &settings) {
            body.insert("field".into(), json!(error.key));
        }
    }
    Value::Object(body)
}
