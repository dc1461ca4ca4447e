//! The raw libobs surface this plugin uses beyond `obs-sys`'s bundled (libobs 25) bindings.
//!
//! `obs_service_info` is declared here in its 29.1+ layout because `obs-sys` only knows the
//! 25.0 one. `obs-sys`'s bindings were generated on Linux, where C's `unsigned long` is 64 bits;
//! they spell `size_t` that way, which is 32 bits on Windows (LLP64). Every item the plugin uses
//! with a `size_t` in it is therefore declared here with `usize`. `tests/abi.rs` checks each
//! item the plugin shares with libobs against libobs's own headers, on Linux and on Windows.

#![allow(non_camel_case_types)]

use obs_wrapper::obs_sys::{
    obs_data_t, obs_output_t, obs_properties_t, obs_source_info, proc_handler_t,
};
use std::os::raw::{c_char, c_int, c_void};

/// Opaque `obs_service_t`.
pub type obs_service_t = c_void;

/// `struct obs_service_info` from `libobs/obs-service.h`, OBS 29.1 to 32.x.
///
/// Field order and types mirror the header exactly; libobs copies `size` bytes of it.
#[repr(C)]
pub struct ObsServiceInfo {
    pub id: *const c_char,
    pub get_name: Option<unsafe extern "C" fn(type_data: *mut c_void) -> *const c_char>,
    pub create: Option<unsafe extern "C" fn(*mut obs_data_t, *mut obs_service_t) -> *mut c_void>,
    pub destroy: Option<unsafe extern "C" fn(*mut c_void)>,
    pub activate: Option<unsafe extern "C" fn(*mut c_void, *mut obs_data_t)>,
    pub deactivate: Option<unsafe extern "C" fn(*mut c_void)>,
    pub update: Option<unsafe extern "C" fn(*mut c_void, *mut obs_data_t)>,
    pub get_defaults: Option<unsafe extern "C" fn(*mut obs_data_t)>,
    pub get_properties: Option<unsafe extern "C" fn(*mut c_void) -> *mut obs_properties_t>,
    pub initialize: Option<unsafe extern "C" fn(*mut c_void, *mut obs_output_t) -> bool>,
    pub get_url: Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    pub get_key: Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    pub get_username: Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    pub get_password: Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    pub deprecated_1: Option<unsafe extern "C" fn() -> bool>,
    pub apply_encoder_settings:
        Option<unsafe extern "C" fn(*mut c_void, *mut obs_data_t, *mut obs_data_t)>,
    pub type_data: *mut c_void,
    pub free_type_data: Option<unsafe extern "C" fn(*mut c_void)>,
    pub get_output_type: Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    pub get_supported_resolutions:
        Option<unsafe extern "C" fn(*mut c_void, *mut *mut c_void, *mut usize)>,
    pub get_max_fps: Option<unsafe extern "C" fn(*mut c_void, *mut c_int)>,
    pub get_max_bitrate: Option<unsafe extern "C" fn(*mut c_void, *mut c_int, *mut c_int)>,
    pub get_supported_video_codecs: Option<unsafe extern "C" fn(*mut c_void) -> *mut *const c_char>,
    // 29.1+
    pub get_protocol: Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    pub get_supported_audio_codecs: Option<unsafe extern "C" fn(*mut c_void) -> *mut *const c_char>,
    pub get_connect_info: Option<unsafe extern "C" fn(*mut c_void, u32) -> *const c_char>,
    pub can_try_to_connect: Option<unsafe extern "C" fn(*mut c_void) -> bool>,
}

/// Bytes of [`ObsServiceInfo`] that libobs 28.x / 29.0.x knows (up to `get_supported_video_codecs`).
pub const SERVICE_INFO_SIZE_29_0: usize = std::mem::offset_of!(ObsServiceInfo, get_protocol);

/// `OBS_SERVICE_CONNECT_INFO_SERVER_URL`.
pub const CONNECT_INFO_SERVER_URL: u32 = 0;
/// `OBS_SERVICE_CONNECT_INFO_STREAM_KEY` (= `STREAM_ID`).
pub const CONNECT_INFO_STREAM_KEY: u32 = 2;
/// `OBS_SERVICE_CONNECT_INFO_PASSWORD`: rtmp-stream's last read of the target (29.1 to 32.2).
pub const CONNECT_INFO_PASSWORD: u32 = 6;

/// Opaque `obs_weak_object_t`: the weak reference of any libobs object. An output's weak
/// reference is its context's `obs_weak_object` (`get_weak` in obs-output.c, 29.0 to 32.2).
#[repr(C)]
pub struct ObsWeakObject {
    _opaque: [u8; 0],
}

extern "C" {
    /// Whether every strong reference of the object is gone (libobs 27.2+; obs-sys's
    /// bindings predate it).
    pub fn obs_weak_object_expired(weak: *mut ObsWeakObject) -> bool;
}

/// Packs `major.minor.patch` the way `obs_get_version()` reports it.
pub const fn obs_version(major: u32, minor: u32, patch: u32) -> u32 {
    (major << 24) | (minor << 16) | patch
}

extern "C" {
    /// Registers a service type; `info` is copied (`size` bytes).
    pub fn obs_register_service_s(info: *const ObsServiceInfo, size: usize);
    /// Registers a source type; `info` is copied (`size` bytes).
    pub fn obs_register_source_s(info: *const obs_source_info, size: usize);
}

/// `calldata_t` from `callback/calldata.h`: a parameter stack of libobs's allocator.
#[repr(C)]
pub struct calldata_t {
    pub stack: *mut u8,
    pub size: usize,
    pub capacity: usize,
    pub fixed: bool,
}

extern "C" {
    /// Copies the parameter `name` into `out` when it has exactly `size` bytes.
    pub fn calldata_get_data(
        data: *const calldata_t,
        name: *const c_char,
        out: *mut c_void,
        size: usize,
    ) -> bool;
    /// Sets the parameter `name` to a copy of `size` bytes at `value`.
    pub fn calldata_set_data(
        data: *mut calldata_t,
        name: *const c_char,
        value: *const c_void,
        size: usize,
    );
    /// Calls the procedure `name` of `handler` with `params`.
    pub fn proc_handler_call(
        handler: *mut proc_handler_t,
        name: *const c_char,
        params: *mut calldata_t,
    ) -> bool;
}

extern "C" {
    /// Frontend API (`libobs-frontend-api`): start streaming as if the user pressed the button.
    pub fn obs_frontend_streaming_start();
    /// Frontend API: stop streaming as if the user pressed the button.
    pub fn obs_frontend_streaming_stop();
    /// Frontend API: whether the streaming output is active.
    pub fn obs_frontend_streaming_active() -> bool;
}

/// Opaque `obs_source_t`, as the frontend API declares it.
pub type FrontendSource = obs_wrapper::obs_sys::obs_source_t;
/// Opaque `obs_service_t`, as the frontend API declares it.
pub type FrontendService = obs_wrapper::obs_sys::obs_service_t;

/// `obs_frontend_cb`: a Tools menu item was clicked.
pub type FrontendCallback = Option<unsafe extern "C" fn(private_data: *mut c_void)>;
/// `obs_frontend_event_cb`.
pub type FrontendEventCallback =
    Option<unsafe extern "C" fn(event: c_int, private_data: *mut c_void)>;

/// `OBS_FRONTEND_EVENT_EXIT` (enum position in `obs-frontend-api.h`, unchanged since 23.0).
pub const FRONTEND_EVENT_EXIT: c_int = 17;
/// `OBS_FRONTEND_EVENT_SCRIPTING_SHUTDOWN`: OBS is quitting, before its scene data and outputs
/// are torn down (same position from 29.0 to 32.2).
pub const FRONTEND_EVENT_SCRIPTING_SHUTDOWN: c_int = 36;

/// `OBS_TEXT_INFO` of `enum obs_text_type` (libobs 27+; obs-sys's 25.0 bindings lack it).
pub const OBS_TEXT_INFO: u32 = 3;
/// `OBS_TEXT_INFO_NORMAL` of `enum obs_text_info_type`.
pub const OBS_TEXT_INFO_NORMAL: u32 = 0;
/// `OBS_TEXT_INFO_WARNING`.
pub const OBS_TEXT_INFO_WARNING: u32 = 1;
/// `OBS_TEXT_INFO_ERROR`.
pub const OBS_TEXT_INFO_ERROR: u32 = 2;

extern "C" {
    /// Frontend API: appends an item to the Tools menu (UI thread; the name is copied).
    pub fn obs_frontend_add_tools_menu_item(
        name: *const c_char,
        callback: FrontendCallback,
        private_data: *mut c_void,
    );
    /// Frontend API: opens OBS's properties window for `source` (queued to the UI thread).
    pub fn obs_frontend_open_source_properties(source: *mut FrontendSource);
    /// Frontend API: the streaming service, without a new reference.
    pub fn obs_frontend_get_streaming_service() -> *mut FrontendService;
    /// Frontend API: makes `service` the streaming service (the frontend takes its own reference).
    pub fn obs_frontend_set_streaming_service(service: *mut FrontendService);
    /// Frontend API: writes the streaming service to the current profile's `service.json`.
    pub fn obs_frontend_save_streaming_service();
    /// Frontend API: listens to frontend events.
    pub fn obs_frontend_add_event_callback(
        callback: FrontendEventCallback,
        private_data: *mut c_void,
    );
    /// Frontend API: stops listening to frontend events.
    pub fn obs_frontend_remove_event_callback(
        callback: FrontendEventCallback,
        private_data: *mut c_void,
    );
}

extern "C" {
    /// Adds an item to a list property; returns its index (a `size_t`).
    pub fn obs_property_list_add_string(
        property: *mut obs_wrapper::obs_sys::obs_property_t,
        name: *const c_char,
        value: *const c_char,
    ) -> usize;
    /// libobs 27+: how an `OBS_TEXT_INFO` property is shown (normal, warning, error).
    pub fn obs_property_text_set_info_type(
        property: *mut obs_wrapper::obs_sys::obs_property_t,
        info_type: u32,
    );
}

/// `obs_websocket_request_callback_function` from obs-websocket's `lib/obs-websocket-api.h`.
pub type WebsocketRequestFunction = Option<
    unsafe extern "C" fn(
        request: *mut obs_data_t,
        response: *mut obs_data_t,
        priv_data: *mut c_void,
    ),
>;

/// `struct obs_websocket_request_callback` from `lib/obs-websocket-api.h` (API version 1):
/// obs-websocket copies it when a vendor request is registered.
#[repr(C)]
pub struct WebsocketRequestCallback {
    pub callback: WebsocketRequestFunction,
    pub priv_data: *mut c_void,
}
