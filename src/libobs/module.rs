//! What libobs knows about this module and the running OBS: the config directory and version.

use super::c_string;
use obs_wrapper::obs_sys::{bfree, obs_get_version, obs_module_get_config_path, obs_module_t};
use std::ffi::CStr;
use std::os::raw::c_char;
use std::path::PathBuf;
use std::ptr::NonNull;

extern "C" {
    /// This module's libobs handle, defined by `obs_register_module!` in `crate::module` (as
    /// `OBS_DECLARE_MODULE` defines it in C), and declared here as `obs-module.h` does so that
    /// the raw layer needs nothing from the module entry.
    pub(super) fn obs_current_module() -> *mut obs_module_t;
}

/// A string libobs allocated for the caller, freed with `bfree` on drop.
struct BString(NonNull<c_char>);

impl BString {
    fn to_text(&self) -> String {
        // SAFETY: libobs returned a NUL-terminated string, alive until drop.
        unsafe { CStr::from_ptr(self.0.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    }
}

impl Drop for BString {
    fn drop(&mut self) {
        // SAFETY: allocated by libobs with bmalloc for us; freed exactly once.
        unsafe { bfree(self.0.as_ptr().cast()) };
    }
}

/// A path in the module's config directory (`.../plugin_config/<module>/<name>`).
pub fn config_path(name: &str) -> Option<PathBuf> {
    let name = c_string(name);
    // SAFETY: the module pointer is set before any callback runs; `name` is NUL-terminated;
    // libobs returns a string it allocated for us (or null).
    let raw = unsafe { obs_module_get_config_path(obs_current_module(), name.as_ptr()) };
    NonNull::new(raw).map(|raw| PathBuf::from(BString(raw).to_text()))
}

/// The running libobs's version (`obs_get_version()`, packed as [`super::ffi::obs_version`]).
pub fn running_version() -> u32 {
    // SAFETY: no preconditions.
    unsafe { obs_get_version() }
}
