//! obs-websocket vendor requests (vendor `obs-rtc-golive`): `GetStatus`, `TestConnection` and
//! `CancelStart`, for scripts and remote control (`CallVendorRequest`).
//!
//! obs-websocket's plugin API is reached through [`Vendor`] (the raw layer's rebuild of
//! `lib/obs-websocket-api.h`).
//!
//! Registration happens at post-load (obs-websocket must be loaded first). Nothing is
//! unregistered at unload: obs-websocket deletes its vendors itself when it unloads, and its
//! proc handler may already be freed when this module unloads (OBS frees modules in list order,
//! without unlinking them). Our code stays mapped (libobs never `dlclose`s modules), so a late
//! request only finds `ACTIVE` cleared and answers with an error.
//!
//! Request callbacks run on obs-websocket's thread; a blocking vendor call is fine there. They
//! only cast, guard and forward to the answers in [`answers`].

mod answers;

use super::guard::guard;
use super::libobs::calldata::{Vendor, VendorError};
use super::libobs::data::{json_or_empty, Data, DataView};
use super::libobs::ffi::WebsocketRequestFunction;
use obs_wrapper::obs_sys::obs_data_t;
use serde_json::{json, Value};
use std::ffi::CStr;
use std::os::raw::c_void;
use std::sync::atomic::{AtomicBool, Ordering};

/// The vendor name scripts use in `CallVendorRequest`.
pub const VENDOR: &CStr = c"obs-rtc-golive";

/// Set while the module is loaded; see the module documentation.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Registers the vendor and its requests; logs and does nothing when obs-websocket is absent.
/// Call at post-load.
pub fn register() {
    ACTIVE.store(true, Ordering::SeqCst);
    let vendor = match Vendor::register(VENDOR) {
        Ok(vendor) => vendor,
        Err(VendorError::NotLoaded) => {
            log::info!("obs-websocket is not loaded: no vendor requests");
            return;
        }
        Err(VendorError::NoProcHandler) => {
            log::warn!("obs-websocket gave no proc handler: no vendor requests");
            return;
        }
        Err(VendorError::Refused) => {
            log::warn!(
                "obs-websocket refused the vendor {}",
                VENDOR.to_string_lossy()
            );
            return;
        }
    };
    let requests: [(&CStr, WebsocketRequestFunction); 3] = [
        (c"GetStatus", Some(on_get_status)),
        (c"TestConnection", Some(on_test_connection)),
        (c"CancelStart", Some(on_cancel_start)),
    ];
    for (name, callback) in requests {
        if !vendor.register_request(name, callback) {
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

/// Answers a request: `answer(request)` goes into the response.
fn respond(
    request: Option<DataView<'_>>,
    response: Option<DataView<'_>>,
    answer: fn(Value) -> Value,
) {
    let body = if ACTIVE.load(Ordering::SeqCst) {
        answer(json_or_empty(request))
    } else {
        json!({"ok": false, "error": "obs-rtc-golive is unloading"})
    };
    if let (Some(response), Some(data)) = (response, Data::from_json(&body)) {
        response.apply(&data);
    }
}

/// Casts obs-websocket's objects for one request callback.
///
/// # Safety
/// `request` and `response` must be null or obs-websocket's valid objects for the call, used
/// by its thread only.
unsafe fn views<'a>(
    request: *mut obs_data_t,
    response: *mut obs_data_t,
) -> (Option<DataView<'a>>, Option<DataView<'a>>) {
    // SAFETY: per the caller.
    unsafe { (DataView::from_raw(request), DataView::from_raw(response)) }
}

unsafe extern "C" fn on_get_status(
    request: *mut obs_data_t,
    response: *mut obs_data_t,
    _priv: *mut c_void,
) {
    guard("websocket.GetStatus", (), || {
        // SAFETY: obs-websocket passes valid request and response objects for the call.
        let (request, response) = unsafe { views(request, response) };
        respond(request, response, answers::get_status)
    })
}

unsafe extern "C" fn on_test_connection(
    request: *mut obs_data_t,
    response: *mut obs_data_t,
    _priv: *mut c_void,
) {
    guard("websocket.TestConnection", (), || {
        // SAFETY: obs-websocket passes valid request and response objects for the call.
        let (request, response) = unsafe { views(request, response) };
        respond(request, response, answers::test)
    })
}

unsafe extern "C" fn on_cancel_start(
    request: *mut obs_data_t,
    response: *mut obs_data_t,
    _priv: *mut c_void,
) {
    guard("websocket.CancelStart", (), || {
        // SAFETY: obs-websocket passes valid request and response objects for the call.
        let (request, response) = unsafe { views(request, response) };
        respond(request, response, answers::cancel_start)
    })
}
