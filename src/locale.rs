//! The module's locale (`obs_module_set_locale` / `obs_module_free_locale`) and lookups in it.
//!
//! This is what OBS's `OBS_MODULE_USE_DEFAULT_LOCALE` macro generates in C: en-US is always
//! loaded, the user's language is layered over it.

use super::guard::guard;
use super::module::obs_current_module;
use obs_wrapper::obs_sys::{
    lookup_t, obs_module_load_locale, text_lookup_destroy, text_lookup_getstr,
};
use rtc_golive_core::lock::LockRecovered;
use rtc_golive_core::messages::Translate;
use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::ptr;
use std::sync::Mutex;

/// The loaded lookup table. Raw pointers are not `Send`; the wrapper is only touched under the
/// mutex and libobs's lookup is read-only after loading.
struct Lookup(*mut lookup_t);
// SAFETY: the table is created and destroyed under LOOKUP's lock and only read in between;
// libobs's text lookup does not depend on the creating thread.
unsafe impl Send for Lookup {}

static LOOKUP: Mutex<Lookup> = Mutex::new(Lookup(ptr::null_mut()));

fn lookup_table() -> std::sync::MutexGuard<'static, Lookup> {
    LOOKUP.lock_recovered()
}

/// Called by OBS with the UI language (e.g. `zh-CN`) before the module loads.
#[no_mangle]
pub extern "C" fn obs_module_set_locale(locale: *const c_char) {
    guard("obs_module_set_locale", (), || {
        let mut table = lookup_table();
        if !table.0.is_null() {
            // SAFETY: the pointer came from obs_module_load_locale and is destroyed once.
            unsafe { text_lookup_destroy(table.0) };
        }
        // SAFETY: obs_current_module is set by OBS before this call; "en-US" is NUL-terminated;
        // `locale` is OBS's own NUL-terminated string, valid for the call.
        table.0 =
            unsafe { obs_module_load_locale(obs_current_module(), c"en-US".as_ptr(), locale) };
    })
}

/// Called by OBS when the module is unloaded.
#[no_mangle]
pub extern "C" fn obs_module_free_locale() {
    guard("obs_module_free_locale", (), || {
        let mut table = lookup_table();
        if !table.0.is_null() {
            // SAFETY: created by obs_module_load_locale, nulled right after so never freed twice.
            unsafe { text_lookup_destroy(table.0) };
            table.0 = ptr::null_mut();
        }
    })
}

/// A text pointer that stays valid until the locale is freed, for callbacks that must return
/// `const char *` (service names). Falls back to `fallback` when the key is missing.
pub fn text_ptr(key: &CStr, fallback: &'static CStr) -> *const c_char {
    let table = lookup_table();
    if table.0.is_null() {
        return fallback.as_ptr();
    }
    let mut out: *const c_char = ptr::null();
    // SAFETY: the table is valid while we hold the lock; `key` is NUL-terminated; libobs writes
    // a pointer into its own table, which lives until obs_module_free_locale.
    let found = unsafe { text_lookup_getstr(table.0, key.as_ptr(), &mut out) };
    if found && !out.is_null() {
        out
    } else {
        fallback.as_ptr()
    }
}

/// Renders messages in the user's language through the module's locale.
pub struct ObsLocale;

impl Translate for ObsLocale {
    fn lookup(&self, key: &str) -> Option<String> {
        let key = CString::new(key).ok()?;
        let table = lookup_table();
        if table.0.is_null() {
            return None;
        }
        let mut out: *const c_char = ptr::null();
        // SAFETY: as in text_ptr; the text is copied out before the lock is released.
        let found = unsafe { text_lookup_getstr(table.0, key.as_ptr(), &mut out) };
        if !found || out.is_null() {
            return None;
        }
        // SAFETY: libobs returned a NUL-terminated string inside its table.
        Some(
            unsafe { CStr::from_ptr(out) }
                .to_string_lossy()
                .into_owned(),
        )
    }
}
