//! `obs_properties_t` / `obs_property_t`: the widgets of a properties window.
//!
//! [`Properties`] owns a new set until it is handed to OBS ([`Properties::into_raw`]) or to a
//! group; [`PropertiesView`] is a set OBS lends a callback; a [`Property`] lives as long as its set.

use super::c_string;
use super::ffi::{
    obs_property_list_add_string, obs_property_text_set_info_type, OBS_TEXT_INFO,
    OBS_TEXT_INFO_ERROR, OBS_TEXT_INFO_NORMAL, OBS_TEXT_INFO_WARNING,
};
use obs_wrapper::obs_sys::{
    obs_combo_format_OBS_COMBO_FORMAT_STRING, obs_combo_type_OBS_COMBO_TYPE_EDITABLE,
    obs_combo_type_OBS_COMBO_TYPE_LIST, obs_editable_list_type_OBS_EDITABLE_LIST_TYPE_STRINGS,
    obs_group_type_OBS_GROUP_NORMAL, obs_properties_add_bool, obs_properties_add_button,
    obs_properties_add_editable_list, obs_properties_add_group, obs_properties_add_int,
    obs_properties_add_list, obs_properties_add_text, obs_properties_create,
    obs_properties_destroy, obs_properties_get, obs_properties_t, obs_property_clicked_t,
    obs_property_modified_t, obs_property_set_description, obs_property_set_enabled,
    obs_property_set_long_description, obs_property_set_modified_callback,
    obs_property_set_visible, obs_property_t, obs_text_type_OBS_TEXT_DEFAULT,
    obs_text_type_OBS_TEXT_PASSWORD,
};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

/// A new set of properties, destroyed on drop unless handed over.
pub struct Properties(NonNull<obs_properties_t>);

impl Default for Properties {
    fn default() -> Self {
        // SAFETY: no preconditions; libobs's allocator aborts rather than return null.
        let raw = unsafe { obs_properties_create() };
        Properties(NonNull::new(raw).expect("obs_properties_create returned null"))
    }
}

impl Properties {
    /// The set, lent for as long as it is owned here.
    pub fn view(&self) -> PropertiesView<'_> {
        PropertiesView {
            raw: self.0,
            lent: PhantomData,
        }
    }

    /// Hands the set to OBS (a `get_properties` callback's return value), which destroys it.
    pub fn into_raw(self) -> *mut obs_properties_t {
        let raw = self.0.as_ptr();
        std::mem::forget(self);
        raw
    }
}

impl Drop for Properties {
    fn drop(&mut self) {
        // SAFETY: the set is ours (created in `default`, never handed over) and destroyed once.
        unsafe { obs_properties_destroy(self.0.as_ptr()) };
    }
}

/// How a text field shows what is typed.
#[derive(Clone, Copy)]
pub enum TextKind {
    /// Plain text.
    Plain,
    /// Hidden behind OBS's "Show" button.
    Password,
}

/// How an info text (`OBS_TEXT_INFO`) is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InfoKind {
    /// As a normal label.
    Normal,
    /// As a warning.
    Warning,
    /// As an error.
    Error,
}

/// A set of properties OBS (or a [`Properties`]) lends, used by one thread at a time.
#[derive(Clone, Copy)]
pub struct PropertiesView<'a> {
    raw: NonNull<obs_properties_t>,
    lent: PhantomData<&'a obs_properties_t>,
}

impl<'a> PropertiesView<'a> {
    /// Borrows the set behind a callback's pointer (null reads as none).
    ///
    /// # Safety
    /// `raw` must be null or a valid set that stays valid, and is not used by another thread,
    /// for `'a`.
    pub unsafe fn from_raw(raw: *mut obs_properties_t) -> Option<Self> {
        NonNull::new(raw).map(|raw| PropertiesView {
            raw,
            lent: PhantomData,
        })
    }

    fn ptr(self) -> *mut obs_properties_t {
        self.raw.as_ptr()
    }

    /// The property named `key`, if the set (or one of its groups) has it.
    pub fn get(self, key: &str) -> Option<Property<'a>> {
        let key = c_string(key);
        // SAFETY: the set is valid for `'a`; `key` is NUL-terminated.
        Property::new(unsafe { obs_properties_get(self.ptr(), key.as_ptr()) })
    }

    /// An integer field (step 1). Each `add_*` returns none when libobs refused the property
    /// (a duplicate name).
    pub fn add_int(self, key: &str, label: &str, min: i32, max: i32) -> Option<Property<'a>> {
        let (key, label) = (c_string(key), c_string(label));
        // SAFETY: the set is valid for `'a`; libobs copies every string.
        Property::new(unsafe {
            obs_properties_add_int(self.ptr(), key.as_ptr(), label.as_ptr(), min, max, 1)
        })
    }

    /// A text field.
    pub fn add_text(self, key: &str, label: &str, kind: TextKind) -> Option<Property<'a>> {
        let kind = match kind {
            TextKind::Plain => obs_text_type_OBS_TEXT_DEFAULT,
            TextKind::Password => obs_text_type_OBS_TEXT_PASSWORD,
        };
        self.text(key, label, kind)
    }

    /// A text shown, not edited (`OBS_TEXT_INFO`, libobs 27+), with no label.
    pub fn add_info(self, key: &str) -> Option<Property<'a>> {
        self.text(key, "", OBS_TEXT_INFO)
    }

    fn text(self, key: &str, label: &str, kind: u32) -> Option<Property<'a>> {
        let (key, label) = (c_string(key), c_string(label));
        // SAFETY: the set is valid for `'a`; libobs copies every string.
        Property::new(unsafe {
            obs_properties_add_text(self.ptr(), key.as_ptr(), label.as_ptr(), kind)
        })
    }

    /// A check box.
    pub fn add_bool(self, key: &str, label: &str) -> Option<Property<'a>> {
        let (key, label) = (c_string(key), c_string(label));
        // SAFETY: the set is valid for `'a`; libobs copies every string.
        Property::new(unsafe { obs_properties_add_bool(self.ptr(), key.as_ptr(), label.as_ptr()) })
    }

    /// An editable list of strings.
    pub fn add_string_list(self, key: &str, label: &str) -> Option<Property<'a>> {
        let (key, label) = (c_string(key), c_string(label));
        // SAFETY: the set is valid for `'a`; libobs copies every string; no filter, no path.
        Property::new(unsafe {
            obs_properties_add_editable_list(
                self.ptr(),
                key.as_ptr(),
                label.as_ptr(),
                obs_editable_list_type_OBS_EDITABLE_LIST_TYPE_STRINGS,
                ptr::null(),
                ptr::null(),
            )
        })
    }

    /// A combo box of strings; `editable` lets the user type a value of their own.
    pub fn add_list(self, key: &str, label: &str, editable: bool) -> Option<Property<'a>> {
        let (key, label) = (c_string(key), c_string(label));
        let combo = if editable {
            obs_combo_type_OBS_COMBO_TYPE_EDITABLE
        } else {
            obs_combo_type_OBS_COMBO_TYPE_LIST
        };
        // SAFETY: the set is valid for `'a`; libobs copies every string.
        Property::new(unsafe {
            obs_properties_add_list(
                self.ptr(),
                key.as_ptr(),
                label.as_ptr(),
                combo,
                obs_combo_format_OBS_COMBO_FORMAT_STRING,
            )
        })
    }

    /// A button; OBS calls `clicked` with the window's properties and its instance data.
    pub fn add_button(
        self,
        key: &str,
        label: &str,
        clicked: obs_property_clicked_t,
    ) -> Option<Property<'a>> {
        let (key, label) = (c_string(key), c_string(label));
        // SAFETY: the set is valid for `'a`; libobs copies every string and keeps the 'static
        // function pointer.
        Property::new(unsafe {
            obs_properties_add_button(self.ptr(), key.as_ptr(), label.as_ptr(), clicked)
        })
    }

    /// A group holding `group`, which then belongs to this set (and is destroyed here when
    /// libobs refuses it).
    pub fn add_group(self, key: &str, label: &str, group: Properties) -> Option<Property<'a>> {
        let (key, label) = (c_string(key), c_string(label));
        // SAFETY: both sets are valid; libobs copies the strings and takes `group` over only
        // when it returns a property.
        let added = Property::new(unsafe {
            obs_properties_add_group(
                self.ptr(),
                key.as_ptr(),
                label.as_ptr(),
                obs_group_type_OBS_GROUP_NORMAL,
                group.0.as_ptr(),
            )
        });
        if added.is_some() {
            std::mem::forget(group);
        }
        added
    }
}

/// One property of a set, valid as long as the set.
#[derive(Clone, Copy)]
pub struct Property<'a> {
    raw: NonNull<obs_property_t>,
    lent: PhantomData<&'a obs_property_t>,
}

impl Property<'_> {
    fn new(raw: *mut obs_property_t) -> Option<Self> {
        NonNull::new(raw).map(|raw| Property {
            raw,
            lent: PhantomData,
        })
    }

    fn ptr(self) -> *mut obs_property_t {
        self.raw.as_ptr()
    }

    /// Sets the label (or an info text's text).
    pub fn set_description(self, text: &str) {
        let text = c_string(text);
        // SAFETY: the property lives as long as its set; libobs copies the text.
        unsafe { obs_property_set_description(self.ptr(), text.as_ptr()) };
    }

    /// Sets the tooltip.
    pub fn set_long_description(self, text: &str) {
        let text = c_string(text);
        // SAFETY: as in `set_description`.
        unsafe { obs_property_set_long_description(self.ptr(), text.as_ptr()) };
    }

    /// Shows or hides the property.
    pub fn set_visible(self, visible: bool) {
        // SAFETY: the property lives as long as its set.
        unsafe { obs_property_set_visible(self.ptr(), visible) };
    }

    /// Enables or disables the property.
    pub fn set_enabled(self, enabled: bool) {
        // SAFETY: the property lives as long as its set.
        unsafe { obs_property_set_enabled(self.ptr(), enabled) };
    }

    /// How an info text is shown (libobs 27+).
    pub fn set_info_kind(self, kind: InfoKind) {
        let kind = match kind {
            InfoKind::Normal => OBS_TEXT_INFO_NORMAL,
            InfoKind::Warning => OBS_TEXT_INFO_WARNING,
            InfoKind::Error => OBS_TEXT_INFO_ERROR,
        };
        // SAFETY: the property lives as long as its set; libobs ignores a non-text property.
        unsafe { obs_property_text_set_info_type(self.ptr(), kind) };
    }

    /// Adds a choice to a list property.
    pub fn add_choice(self, label: &str, value: &str) {
        let (label, value) = (c_string(label), c_string(value));
        // SAFETY: the property lives as long as its set; libobs copies both strings.
        unsafe { obs_property_list_add_string(self.ptr(), label.as_ptr(), value.as_ptr()) };
    }

    /// Calls `modified` when the value changes (and when settings are applied to the set).
    pub fn set_modified_callback(self, modified: obs_property_modified_t) {
        // SAFETY: the property lives as long as its set; the function pointer is 'static.
        unsafe { obs_property_set_modified_callback(self.ptr(), modified) };
    }
}
