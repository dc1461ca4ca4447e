//! The `obs_service_info` callbacks and their registration. Each casts OBS's pointers, runs
//! inside [`guard`] and forwards to the instance.

use super::connect::{password_for_connect, server_for_connect};
use super::{quit, remember_ui_thread, report_refusal, ServiceData, PLACEHOLDER_KEY};
use crate::guard::guard;
use crate::libobs::c_string;
use crate::libobs::data::{json_or_empty, DataView};
use crate::libobs::ffi::{
    obs_service_t, obs_version, ObsServiceInfo, CONNECT_INFO_PASSWORD, CONNECT_INFO_SERVER_URL,
    CONNECT_INFO_STREAM_KEY, SERVICE_INFO_SIZE_29_0,
};
use crate::libobs::module::running_version;
use crate::libobs::output::OutputView;
use crate::libobs::service;
use crate::locale::text_ptr;
use crate::settings::{properties, set_defaults};
use crate::{service_changed, shared};
use obs_wrapper::obs_sys::{
    calldata_t, obs_data_t, obs_output_t, obs_properties_t, signal_callback_t,
};
use rtc_golive_core::config::ServiceKind;
use rtc_golive_core::config::ServiceSettings;
use rtc_golive_core::messages::Message;
use std::ffi::CStr;
use std::os::raw::{c_char, c_void};
use std::ptr;

/// The output signals an instance listens to while it streams.
const SIGNALS: &[(&CStr, signal_callback_t)] = &[
    (c"stop", Some(on_output_stop)),
    (c"stopping", Some(on_output_stopping)),
    (c"reconnect", Some(on_output_reconnect)),
];

/// Borrows the instance behind OBS's `data` pointer.
///
/// # Safety
/// `data` must be null or a pointer returned by `create` and not yet passed to `destroy`.
unsafe fn instance<'a>(data: *mut c_void) -> Option<&'a ServiceData> {
    // SAFETY: per the caller, `data` is null or a live Box<ServiceData> from `create`.
    unsafe { data.cast::<ServiceData>().as_ref() }
}

unsafe extern "C" fn get_name<const K: usize>(_type_data: *mut c_void) -> *const c_char {
    guard("get_name", PLACEHOLDER_KEY.as_ptr(), || {
        // A missing locale file still leaves a recognisable name in OBS's lists.
        text_ptr(&c_string(ServiceKind::ALL[K].name_key()), c"obs-rtc-golive")
    })
}

unsafe extern "C" fn create<const K: usize>(
    settings: *mut obs_data_t,
    _service: *mut obs_service_t,
) -> *mut c_void {
    guard("create", ptr::null_mut(), || {
        // SAFETY: OBS passes the service's valid settings object for the call, on its UI thread.
        let json = json_or_empty(unsafe { DataView::from_raw(settings) });
        let Some(shared) = shared() else {
            return ptr::null_mut();
        };
        let data = ServiceData::new(ServiceKind::ALL[K], json, shared);
        service_changed();
        Box::into_raw(Box::new(data)).cast()
    })
}

unsafe extern "C" fn destroy(data: *mut c_void) {
    guard("destroy", (), || {
        if !data.is_null() {
            // SAFETY: `data` came from Box::into_raw in `create`; OBS destroys it exactly once.
            unsafe { Box::from_raw(data.cast::<ServiceData>()) }.destroy();
            service_changed();
        }
    })
}

unsafe extern "C" fn update<const K: usize>(data: *mut c_void, settings: *mut obs_data_t) {
    guard("update", (), || {
        // SAFETY: OBS passes a live instance and its valid settings for the call, on the UI
        // thread.
        let (service, settings) = unsafe { (instance(data), DataView::from_raw(settings)) };
        if let Some(service) = service {
            let parsed = ServiceSettings::parse(ServiceKind::ALL[K], &json_or_empty(settings));
            service.lock().golive.update(parsed);
            service_changed();
        }
    })
}

unsafe extern "C" fn get_defaults<const K: usize>(settings: *mut obs_data_t) {
    guard("get_defaults", (), || {
        // SAFETY: OBS passes a valid defaults object for the call.
        if let Some(settings) = unsafe { DataView::from_raw(settings) } {
            set_defaults(settings, ServiceKind::ALL[K].fields(), "");
        }
    })
}

unsafe extern "C" fn get_properties<const K: usize>(_data: *mut c_void) -> *mut obs_properties_t {
    guard("get_properties", ptr::null_mut(), || {
        properties(ServiceKind::ALL[K].fields()).into_raw()
    })
}

/// Start Streaming.
unsafe extern "C" fn initialize(data: *mut c_void, output: *mut obs_output_t) -> bool {
    let entered = std::time::Instant::now();
    remember_ui_thread();
    // SAFETY: OBS passes a live instance and the live output being started, for the call.
    let (service, output) = unsafe { (instance(data), OutputView::from_raw(output)) };
    let outcome = guard("initialize", Err(Message::new("Error.Internal")), || {
        let service = service.ok_or_else(|| Message::new("Error.Internal"))?;
        service.start(output, |output| {
            // SAFETY: `data` lives until `destroy`, which disconnects the link first.
            unsafe { output.connect(SIGNALS, data) }
        })
    });
    // The UI thread is blocked for this long: the number the "warm go-live" target is about.
    log::info!(
        "initialize: {} us on the UI thread",
        entered.elapsed().as_micros()
    );
    guard("initialize", false, || match outcome {
        Ok(()) => true,
        Err(message) => {
            report_refusal(output, &message);
            false
        }
    })
}

/// The output began sending.
unsafe extern "C" fn activate(data: *mut c_void, _settings: *mut obs_data_t) {
    guard("activate", (), || {
        // SAFETY: OBS passes a live instance.
        if let Some(service) = unsafe { instance(data) } {
            service.activate();
        }
    })
}

/// The output is stopping (Stop Streaming, another plugin, OBS quitting): a start still
/// resolving is given up, so its connect thread stops waiting and nothing is published.
/// `obs_output_stop` joins that thread next, so a failure held for the quit goes out now.
unsafe extern "C" fn on_output_stopping(data: *mut c_void, _calldata: *mut calldata_t) {
    guard("on_output_stopping", (), || {
        // SAFETY: as in `on_output_stop`.
        if let Some(service) = unsafe { instance(data) } {
            service.lock().golive.cancel_resolving();
        }
        quit::release();
    })
}

/// The output lost its connection and will reconnect: the next target read fails over.
unsafe extern "C" fn on_output_reconnect(data: *mut c_void, _calldata: *mut calldata_t) {
    guard("on_output_reconnect", (), || {
        // SAFETY: as in `on_output_stop`.
        if let Some(service) = unsafe { instance(data) } {
            service.lock().golive.on_reconnect();
        }
    })
}

/// The output stopped for good (user stop, error, reconnect given up, OBS quitting).
unsafe extern "C" fn on_output_stop(data: *mut c_void, _calldata: *mut calldata_t) {
    guard("on_output_stop", (), || {
        // SAFETY: `data` is the instance that connected this signal; `destroy` disconnects it
        // before freeing the instance.
        if let Some(service) = unsafe { instance(data) } {
            service.lock().golive.on_stopped();
        }
    })
}

/// The key for the connect thread (the pointer stays valid until the next `initialize`).
fn read_key(service: Option<&ServiceData>) -> *const c_char {
    service.map_or(ptr::null(), |service| service.lock().key.as_ptr())
}

/// The server for the connect thread (see [`server_for_connect`]).
fn read_server(service: Option<&ServiceData>) -> *const c_char {
    service.map_or(ptr::null(), server_for_connect)
}

/// The protocol of the target handed out.
fn read_protocol(service: Option<&ServiceData>) -> *const c_char {
    match service.map(|service| service.lock().rtmps) {
        Some(true) => c"RTMPS".as_ptr(),
        Some(false) => c"RTMP".as_ptr(),
        None => ptr::null(),
    }
}

unsafe extern "C" fn get_url(data: *mut c_void) -> *const c_char {
    guard("get_url", ptr::null(), || {
        // SAFETY: OBS passes a live instance.
        read_server(unsafe { instance(data) })
    })
}

unsafe extern "C" fn get_key(data: *mut c_void) -> *const c_char {
    guard("get_key", ptr::null(), || {
        // SAFETY: OBS passes a live instance.
        read_key(unsafe { instance(data) })
    })
}

unsafe extern "C" fn get_connect_info(data: *mut c_void, kind: u32) -> *const c_char {
    guard("get_connect_info", ptr::null(), || {
        // SAFETY: OBS passes a live instance.
        let service = unsafe { instance(data) };
        match kind {
            CONNECT_INFO_SERVER_URL => read_server(service),
            CONNECT_INFO_STREAM_KEY => read_key(service),
            // The instance is not used past this line: the hold may outlive it.
            CONNECT_INFO_PASSWORD => {
                password_for_connect(service.and_then(ServiceData::take_failure_in_quit))
            }
            _ => ptr::null(),
        }
    })
}

/// OBS 29.0's read of the password (29.1+ reads it through `get_connect_info`).
unsafe extern "C" fn get_password(data: *mut c_void) -> *const c_char {
    guard("get_password", ptr::null(), || {
        // SAFETY: OBS passes a live instance, not used past this line: the hold may outlive it.
        let held = unsafe { instance(data) }.and_then(ServiceData::take_failure_in_quit);
        password_for_connect(held)
    })
}

unsafe extern "C" fn get_protocol(data: *mut c_void) -> *const c_char {
    guard("get_protocol", c"RTMP".as_ptr(), || {
        // SAFETY: OBS passes a live instance.
        read_protocol(unsafe { instance(data) })
    })
}

unsafe extern "C" fn get_output_type(_data: *mut c_void) -> *const c_char {
    c"rtmp_output".as_ptr()
}

/// The real check happens in `initialize`, which can explain a refusal; saying "no" here would
/// fail the start with no message.
unsafe extern "C" fn can_try_to_connect(_data: *mut c_void) -> bool {
    true
}

/// The callbacks of service `ServiceKind::ALL[K]`. Its id string is leaked on purpose: libobs
/// keeps the pointer for as long as the process runs.
fn info<const K: usize>() -> ObsServiceInfo {
    ObsServiceInfo {
        id: Box::leak(c_string(ServiceKind::ALL[K].id()).into_boxed_c_str()).as_ptr(),
        get_name: Some(get_name::<K>),
        create: Some(create::<K>),
        destroy: Some(destroy),
        activate: Some(activate),
        deactivate: None,
        update: Some(update::<K>),
        get_defaults: Some(get_defaults::<K>),
        get_properties: Some(get_properties::<K>),
        initialize: Some(initialize),
        get_url: Some(get_url),
        get_key: Some(get_key),
        get_username: None,
        get_password: Some(get_password),
        deprecated_1: None,
        apply_encoder_settings: None,
        type_data: ptr::null_mut(),
        free_type_data: None,
        get_output_type: Some(get_output_type),
        get_supported_resolutions: None,
        get_max_fps: None,
        get_max_bitrate: None,
        get_supported_video_codecs: None,
        get_protocol: Some(get_protocol),
        get_supported_audio_codecs: None,
        get_connect_info: Some(get_connect_info),
        can_try_to_connect: Some(can_try_to_connect),
    }
}

/// The size to register with: libobs before 29.1 rejects a struct larger than its own, and from
/// 29.1 requires one that reaches `get_protocol`.
fn registration_size(running_version: u32) -> usize {
    if running_version < obs_version(29, 1, 0) {
        SERVICE_INFO_SIZE_29_0
    } else {
        std::mem::size_of::<ObsServiceInfo>()
    }
}

/// Registers every service with the running libobs.
pub fn register_all() {
    let size = registration_size(running_version());
    let infos: [ObsServiceInfo; ServiceKind::ALL.len()] = [info::<0>(), info::<1>(), info::<2>()];
    for (info, kind) in infos.iter().zip(ServiceKind::ALL) {
        // SAFETY: the id string is leaked and the callbacks are 'static functions.
        unsafe { service::register(info, size) };
        log::info!("registered service {} ({size} bytes)", kind.id());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_size_follows_the_running_version() {
        assert_eq!(registration_size(obs_version(29, 0, 2)), 184);
        assert_eq!(registration_size(obs_version(28, 1, 0)), 184);
        assert_eq!(registration_size(obs_version(29, 1, 0)), 216);
        assert_eq!(registration_size(obs_version(32, 0, 1)), 216);
    }
}
