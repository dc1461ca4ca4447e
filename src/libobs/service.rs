//! `obs_service_t`: OBS's streaming service, and registering service types.

use super::data::Data;
use super::ffi::{
    obs_frontend_get_streaming_service, obs_frontend_save_streaming_service,
    obs_frontend_set_streaming_service, obs_register_service_s, ObsServiceInfo,
};
use super::frontend::UiThread;
use super::{c_string, copied};
use obs_wrapper::obs_sys::{
    obs_service_create, obs_service_get_display_name, obs_service_get_id, obs_service_get_ref,
    obs_service_get_settings, obs_service_release, obs_service_t,
};
use std::ffi::CStr;
use std::ptr::{self, NonNull};

/// One strong reference to a service, released on drop.
pub struct Service(NonNull<obs_service_t>);

impl Service {
    /// OBS's streaming service now (none when there is none, or it is being destroyed).
    ///
    /// Any thread, to the extent the frontend allows: obs-websocket's own
    /// GetStreamServiceSettings reads it from its thread the same way.
    pub fn streaming() -> Option<Self> {
        // SAFETY: the frontend returns its service without a new reference; one is taken at
        // once (null if the service is already being destroyed) and is ours.
        let raw = unsafe { obs_service_get_ref(obs_frontend_get_streaming_service()) };
        NonNull::new(raw).map(Service)
    }

    /// A new service of type `id` named `name` with `settings` (copied).
    pub fn create(id: &str, name: &CStr, settings: &Data) -> Option<Self> {
        let id = c_string(id);
        // SAFETY: the strings are NUL-terminated; libobs copies the settings into the new
        // service and returns its only reference, ours; no hotkey data.
        let raw = unsafe {
            obs_service_create(
                id.as_ptr(),
                name.as_ptr(),
                settings.as_ptr(),
                ptr::null_mut(),
            )
        };
        NonNull::new(raw).map(Service)
    }

    /// The service's type id.
    pub fn type_id(&self) -> Option<String> {
        // SAFETY: the service is alive; its id string is copied.
        unsafe { copied(obs_service_get_id(self.0.as_ptr())) }
    }

    /// The service's settings (a new reference).
    pub fn settings(&self) -> Option<Data> {
        // SAFETY: the service is alive; libobs returns a new reference to its settings.
        unsafe { Data::from_owned(obs_service_get_settings(self.0.as_ptr())) }
    }

    /// Makes this OBS's streaming service and saves it to the current profile's `service.json`.
    pub fn make_streaming(&self, _ui: UiThread) {
        // SAFETY: on the UI thread (the token), as the frontend API requires; the frontend
        // takes its own reference to the service.
        unsafe {
            obs_frontend_set_streaming_service(self.0.as_ptr());
            obs_frontend_save_streaming_service();
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        // SAFETY: the reference is ours and released once.
        unsafe { obs_service_release(self.0.as_ptr()) };
    }
}

/// The display name of service type `id` (none for an unknown type).
pub fn display_name(id: &str) -> Option<String> {
    let id = c_string(id);
    // SAFETY: `id` is NUL-terminated; libobs returns the type's own name (static, or in its
    // module's locale) or null; it is copied.
    unsafe { copied(obs_service_get_display_name(id.as_ptr())) }
}

/// Registers a service type with `size` bytes of `info` (see `ffi::SERVICE_INFO_SIZE_29_0`).
///
/// # Safety
/// `info.id` and every function pointer must stay valid for as long as the process runs.
pub unsafe fn register(info: &ObsServiceInfo, size: usize) {
    let size = size.min(std::mem::size_of::<ObsServiceInfo>());
    // SAFETY: `info` is fully initialised; libobs copies `size` bytes (never more than the
    // struct holds) and keeps the pointers, valid per the caller.
    unsafe { obs_register_service_s(info, size) };
}
