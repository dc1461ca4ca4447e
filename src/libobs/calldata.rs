//! `calldata_t` and proc handlers, and on them the vendor API of obs-websocket 5.x.
//!
//! obs-websocket offers its plugin API as the header-only `lib/obs-websocket-api.h`: the global
//! proc `obs_websocket_api_get_ph` hands out obs-websocket's own proc handler, whose procs
//! `vendor_register` and `vendor_request_register` take calldata. That header's few inline
//! functions are reimplemented here; libobs's `calldata_set_ptr` / `calldata_get_ptr` /
//! `calldata_set_string` / `calldata_free` are `static inline` in `callback/calldata.h`, so
//! they are rebuilt on the exported `calldata_set_data` / `calldata_get_data` and `bfree`.

use super::ffi::{
    calldata_get_data, calldata_set_data, calldata_t, proc_handler_call, WebsocketRequestCallback,
    WebsocketRequestFunction,
};
use obs_wrapper::obs_sys::{bfree, obs_get_proc_handler, proc_handler_t};
use std::ffi::CStr;
use std::os::raw::c_void;
use std::ptr::{self, NonNull};

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
                std::mem::size_of::<*mut c_void>(),
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
                bytes.len(),
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
                std::mem::size_of::<*mut c_void>(),
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
                std::mem::size_of::<bool>(),
            );
        }
        value
    }

    /// `proc_handler_call` on `handler`: whether the proc exists.
    fn call(&mut self, handler: ProcHandler, proc_name: &CStr) -> bool {
        // SAFETY: the handler is live (see `ProcHandler`); the calldata is ours and valid.
        unsafe { proc_handler_call(handler.0.as_ptr(), proc_name.as_ptr(), self.as_mut_ptr()) }
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

/// A live proc handler: libobs's global one, or obs-websocket's, which lives until
/// obs-websocket unloads (after every module's post-load, where it is used).
#[derive(Clone, Copy)]
struct ProcHandler(NonNull<proc_handler_t>);

/// Why obs-websocket's vendor API is not there.
#[derive(Debug)]
pub enum VendorError {
    /// obs-websocket is not loaded.
    NotLoaded,
    /// It gave no proc handler.
    NoProcHandler,
    /// It refused the vendor.
    Refused,
}

/// A vendor registered with obs-websocket; obs-websocket deletes it when it unloads.
pub struct Vendor {
    handler: ProcHandler,
    vendor: NonNull<c_void>,
}

impl Vendor {
    /// Registers vendor `name`. Call at post-load (obs-websocket must be loaded first).
    pub fn register(name: &CStr) -> Result<Self, VendorError> {
        // SAFETY: the global proc handler exists while libobs runs.
        let global =
            NonNull::new(unsafe { obs_get_proc_handler() }).ok_or(VendorError::NotLoaded)?;
        let mut cd = CallData::new();
        if !cd.call(ProcHandler(global), c"obs_websocket_api_get_ph") {
            return Err(VendorError::NotLoaded);
        }
        let handler = NonNull::new(cd.ptr(c"ph").cast::<proc_handler_t>())
            .map(ProcHandler)
            .ok_or(VendorError::NoProcHandler)?;
        let mut cd = CallData::new();
        cd.set_string(c"name", name);
        cd.call(handler, c"vendor_register");
        let vendor = NonNull::new(cd.ptr(c"vendor")).ok_or(VendorError::Refused)?;
        Ok(Vendor { handler, vendor })
    }

    /// Registers request `name`, answered by `callback` on obs-websocket's thread; whether
    /// obs-websocket accepted it.
    pub fn register_request(&self, name: &CStr, callback: WebsocketRequestFunction) -> bool {
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
        cd.set_ptr(c"vendor", self.vendor.as_ptr());
        // obs-websocket copies `entry` before the call returns.
        cd.call(self.handler, c"vendor_request_register");
        cd.bool(c"success")
    }
}
