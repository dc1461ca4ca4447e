//! The module's locale and lookups in it; OBS's entry points for it are in `module`.
//!
//! This is what OBS's `OBS_MODULE_USE_DEFAULT_LOCALE` macro generates in C: en-US is always
//! loaded, the user's language is layered over it.

use super::libobs::locale::TextLookup;
use rtc_golive_core::lock::LockRecovered;
use rtc_golive_core::messages::Translate;
use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::sync::{Mutex, MutexGuard};

/// The loaded table, replaced and dropped only under the lock.
static LOOKUP: Mutex<Option<TextLookup>> = Mutex::new(None);

fn lookup_table() -> MutexGuard<'static, Option<TextLookup>> {
    LOOKUP.lock_recovered()
}

/// Loads the texts of `locale` (the UI language, e.g. `zh-CN`), replacing those loaded before.
pub fn set(locale: &CStr) {
    let mut table = lookup_table();
    // The old table goes first, as OBS's macro frees it before loading the new one.
    *table = None;
    *table = TextLookup::load(locale);
}

/// Frees the texts (module unload).
pub fn free() {
    *lookup_table() = None;
}

/// A text pointer that stays valid until the locale is freed, for callbacks that must return
/// `const char *` (service names). Falls back to `fallback` when the key is missing.
pub fn text_ptr(key: &CStr, fallback: &'static CStr) -> *const c_char {
    lookup_table()
        .as_ref()
        .and_then(|table| table.get(key))
        .map_or(fallback.as_ptr(), CStr::as_ptr)
}

/// Renders messages in the user's language through the module's locale.
pub struct ObsLocale;

impl Translate for ObsLocale {
    fn lookup(&self, key: &str) -> Option<String> {
        let key = CString::new(key).ok()?;
        let table = lookup_table();
        let text = table.as_ref()?.get(&key)?;
        Some(text.to_string_lossy().into_owned())
    }
}
