//! `obs_data_t`: settings objects, owned ([`Data`]) or lent by OBS for one call ([`DataView`]).

use super::{c_string, copied};
use obs_wrapper::obs_sys::{
    obs_data_apply, obs_data_clear, obs_data_create_from_json, obs_data_get_json,
    obs_data_get_string, obs_data_release, obs_data_set_default_bool, obs_data_set_default_int,
    obs_data_set_default_string, obs_data_t,
};
use serde_json::Value;
use std::ffi::CStr;
use std::marker::PhantomData;
use std::ptr::NonNull;

/// One reference to a settings object, released on drop.
pub struct Data(NonNull<obs_data_t>);

impl Data {
    /// A new object holding `value` (an object), or none when libobs cannot parse it.
    pub fn from_json(value: &Value) -> Option<Self> {
        let text = c_string(&value.to_string());
        // SAFETY: `text` is NUL-terminated JSON; libobs parses it into a new object it returns
        // with one reference, ours from here (or null on a parse error).
        let raw = unsafe { obs_data_create_from_json(text.as_ptr()) };
        NonNull::new(raw).map(Data)
    }

    /// Takes over a reference libobs returned to the caller (null reads as none).
    ///
    /// # Safety
    /// `raw` must be null or a valid object whose reference the caller gives up.
    pub(super) unsafe fn from_owned(raw: *mut obs_data_t) -> Option<Self> {
        NonNull::new(raw).map(Data)
    }

    /// The object, lent for as long as this reference lives.
    pub fn view(&self) -> DataView<'_> {
        DataView {
            raw: self.0,
            lent: PhantomData,
        }
    }

    /// The pointer, for the raw layer's calls that copy from the object.
    pub(super) fn as_ptr(&self) -> *mut obs_data_t {
        self.0.as_ptr()
    }
}

impl Drop for Data {
    fn drop(&mut self) {
        // SAFETY: the reference is ours (see the constructors) and released exactly once.
        unsafe { obs_data_release(self.0.as_ptr()) };
    }
}

/// A settings object OBS lends for one call (or a [`Data`] lends), used by one thread at a time.
#[derive(Clone, Copy)]
pub struct DataView<'a> {
    raw: NonNull<obs_data_t>,
    lent: PhantomData<&'a obs_data_t>,
}

impl<'a> DataView<'a> {
    /// Borrows the object behind a callback's pointer (null reads as none).
    ///
    /// # Safety
    /// `raw` must be null or a valid `obs_data_t` that stays valid, and is not used by another
    /// thread, for `'a`.
    pub unsafe fn from_raw(raw: *mut obs_data_t) -> Option<Self> {
        NonNull::new(raw).map(|raw| DataView {
            raw,
            lent: PhantomData,
        })
    }

    /// The values set in the object as JSON (only the values set: defaults are not included).
    pub fn to_json(self) -> Value {
        // SAFETY: the object is valid for `'a`; the returned text is owned by it and copied
        // before anything else touches the object.
        let text = unsafe { copied(obs_data_get_json(self.raw.as_ptr())) };
        text.and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_else(empty)
    }

    /// The string at `key` (its default when unset, empty when there is none).
    pub fn string(self, key: &CStr) -> String {
        // SAFETY: the object is valid for `'a`; `key` is NUL-terminated; the value is copied.
        unsafe { copied(obs_data_get_string(self.raw.as_ptr(), key.as_ptr())) }.unwrap_or_default()
    }

    /// Sets the default string at `key`.
    pub fn set_default_string(self, key: &str, value: &str) {
        let (key, value) = (c_string(key), c_string(value));
        // SAFETY: the object is valid for `'a`; libobs copies key and value.
        unsafe { obs_data_set_default_string(self.raw.as_ptr(), key.as_ptr(), value.as_ptr()) };
    }

    /// Sets the default integer at `key`.
    pub fn set_default_int(self, key: &str, value: i64) {
        let key = c_string(key);
        // SAFETY: the object is valid for `'a`; libobs copies the key.
        unsafe { obs_data_set_default_int(self.raw.as_ptr(), key.as_ptr(), value) };
    }

    /// Sets the default boolean at `key`.
    pub fn set_default_bool(self, key: &str, value: bool) {
        let key = c_string(key);
        // SAFETY: the object is valid for `'a`; libobs copies the key.
        unsafe { obs_data_set_default_bool(self.raw.as_ptr(), key.as_ptr(), value) };
    }

    /// Copies every value of `values` into the object.
    pub fn apply(self, values: &Data) {
        // SAFETY: both objects are valid; libobs copies the values.
        unsafe { obs_data_apply(self.raw.as_ptr(), values.as_ptr()) };
    }

    /// Removes every value set, then copies in those of `values`.
    pub fn replace_with(self, values: &Data) {
        // SAFETY: the object is valid for `'a`.
        unsafe { obs_data_clear(self.raw.as_ptr()) };
        self.apply(values);
    }
}

/// The JSON of settings OBS may or may not have passed: none reads as no values.
pub fn json_or_empty(view: Option<DataView<'_>>) -> Value {
    view.map_or_else(empty, DataView::to_json)
}

fn empty() -> Value {
    Value::Object(Default::default())
}
