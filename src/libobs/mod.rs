//! The raw layer: every libobs, frontend-API and obs-websocket pointer the plugin holds, each
//! owned by a type that releases it in `Drop`, and the only `unsafe` apart from the callbacks'
//! casts of the pointers OBS hands them.
//!
//! Owned handles ([`data::Data`], [`source::Source`], [`output::Output`], ...) hold one reference
//! each. Views ([`data::DataView`], [`properties::PropertiesView`], ...) are what OBS lends a
//! callback for the length of the call; building one from a raw pointer is the `unsafe` cast a
//! callback makes, and everything after it is safe.

pub mod calldata;
pub mod data;
pub mod ffi;
pub mod frontend;
pub mod locale;
pub mod media_child;
pub mod module;
pub mod output;
pub mod properties;
pub mod service;
pub mod source;

use std::ffi::{CStr, CString};
use std::os::raw::c_char;

/// A C string for OBS; the crate's keys and labels never contain NUL, user text may, and is cut
/// there rather than dropped.
pub fn c_string(text: &str) -> CString {
    CString::new(text.split('\0').next().unwrap_or_default()).unwrap_or_default()
}

/// Copies a string libobs lends (null reads as none).
///
/// # Safety
/// `text` must be null or NUL-terminated and valid for the call.
unsafe fn copied(text: *const c_char) -> Option<String> {
    if text.is_null() {
        return None;
    }
    // SAFETY: non-null and NUL-terminated per the caller; copied before returning.
    Some(
        unsafe { CStr::from_ptr(text) }
            .to_string_lossy()
            .into_owned(),
    )
}
