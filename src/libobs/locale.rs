//! `lookup_t`: a module's text lookup table, destroyed on drop.

use super::module::obs_current_module;
use obs_wrapper::obs_sys::{
    lookup_t, obs_module_load_locale, text_lookup_destroy, text_lookup_getstr,
};
use std::ffi::CStr;
use std::os::raw::c_char;
use std::ptr::{self, NonNull};

/// The module's texts in one language layered over en-US.
pub struct TextLookup(NonNull<lookup_t>);

// SAFETY: libobs's text lookup is read-only after loading and does not depend on the thread
// that created it.
unsafe impl Send for TextLookup {}

impl TextLookup {
    /// The module's `data/locale` texts for `locale` (e.g. `zh-CN`) over en-US (none when
    /// en-US itself is missing).
    pub fn load(locale: &CStr) -> Option<Self> {
        // SAFETY: OBS sets the module pointer before calling into the module; both strings are
        // NUL-terminated and read during the call; the table returned is ours.
        let raw = unsafe {
            obs_module_load_locale(obs_current_module(), c"en-US".as_ptr(), locale.as_ptr())
        };
        NonNull::new(raw).map(TextLookup)
    }

    /// The text of `key`, stored in the table (so valid as long as it is).
    pub fn get(&self, key: &CStr) -> Option<&CStr> {
        let mut out: *const c_char = ptr::null();
        // SAFETY: the table is ours and alive; `key` is NUL-terminated; libobs writes a pointer
        // into the table.
        let found = unsafe { text_lookup_getstr(self.0.as_ptr(), key.as_ptr(), &mut out) };
        // SAFETY: when found, `out` is a NUL-terminated string inside the table, which the
        // returned borrow keeps alive.
        (found && !out.is_null()).then(|| unsafe { CStr::from_ptr(out) })
    }
}

impl Drop for TextLookup {
    fn drop(&mut self) {
        // SAFETY: the table is ours and destroyed once.
        unsafe { text_lookup_destroy(self.0.as_ptr()) };
    }
}
