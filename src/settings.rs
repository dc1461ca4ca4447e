//! `obs_data` settings <-> the core's JSON, defaults and properties built from the field tables.

use obs_wrapper::obs_sys::{
    obs_combo_format_OBS_COMBO_FORMAT_STRING, obs_combo_type_OBS_COMBO_TYPE_EDITABLE,
    obs_combo_type_OBS_COMBO_TYPE_LIST, obs_data_create_from_json, obs_data_get_json,
    obs_data_set_default_bool, obs_data_set_default_int, obs_data_set_default_string, obs_data_t,
    obs_editable_list_type_OBS_EDITABLE_LIST_TYPE_STRINGS, obs_properties_add_bool,
    obs_properties_add_editable_list, obs_properties_add_int, obs_properties_add_list,
    obs_properties_add_text, obs_properties_create, obs_properties_t, obs_property_list_add_string,
    obs_property_set_long_description, obs_property_t, obs_text_type_OBS_TEXT_DEFAULT,
    obs_text_type_OBS_TEXT_PASSWORD,
};
use rtc_golive_core::config::fields::{Default as FieldDefault, Field, Widget};
use serde_json::Value;
use std::ffi::{CStr, CString};
use std::ptr;

use super::locale::ObsLocale;
use rtc_golive_core::messages::Message;

/// A C string for OBS; the crate's keys and labels never contain NUL, user text may, and is cut
/// there rather than dropped.
pub fn c_string(text: &str) -> CString {
    CString::new(text.split('\0').next().unwrap_or_default()).unwrap_or_default()
}

/// The settings object as JSON (only the values the user set; the core applies defaults).
///
/// # Safety
/// `settings` must be a valid `obs_data_t` for the duration of the call, used by this thread only.
pub unsafe fn settings_json(settings: *mut obs_data_t) -> Value {
    if settings.is_null() {
        return Value::Object(Default::default());
    }
    // SAFETY: the caller guarantees a valid obs_data_t; the returned text is owned by it and
    // copied before anything else touches the object.
    let text = unsafe { obs_data_get_json(settings) };
    if text.is_null() {
        return Value::Object(Default::default());
    }
    // SAFETY: libobs returns a NUL-terminated JSON string.
    let text = unsafe { CStr::from_ptr(text) }.to_string_lossy();
    serde_json::from_str(&text).unwrap_or_else(|_| Value::Object(Default::default()))
}

/// Writes each field's default into `settings`.
///
/// # Safety
/// `settings` must be a valid `obs_data_t`.
pub unsafe fn set_defaults(settings: *mut obs_data_t, fields: &[Field]) {
    // SAFETY: forwarded from the caller.
    unsafe { set_prefixed_defaults(settings, fields, "") }
}

fn translated(key: &'static str) -> CString {
    c_string(&Message::new(key).render(&ObsLocale))
}

/// OBS properties for `fields`, labelled in the user's language.
pub fn properties(fields: &[Field]) -> *mut obs_properties_t {
    // SAFETY: creating a properties object has no preconditions; OBS takes ownership on return.
    let props = unsafe { obs_properties_create() };
    for field in fields {
        // SAFETY: `props` was created above and is owned by this function until returned.
        unsafe { add_field(props, field, "") };
    }
    props
}

/// Adds one field to `props` under the settings key `prefix` + `field.key` (an empty prefix
/// gives the service's own key), labelled in the user's language; returns the new property
/// (null when libobs refused it, e.g. a duplicate name).
///
/// # Safety
/// `props` must be a valid properties object, used by this thread only during the call.
pub unsafe fn add_field(
    props: *mut obs_properties_t,
    field: &Field,
    prefix: &str,
) -> *mut obs_property_t {
    let key = c_string(&format!("{prefix}{}", field.key));
    let label = translated(field.label);
    // SAFETY: `props` is valid per the caller; libobs copies every string argument.
    let prop: *mut obs_property_t = unsafe {
        match field.widget {
            Widget::Int { min, max } => {
                obs_properties_add_int(props, key.as_ptr(), label.as_ptr(), min, max, 1)
            }
            Widget::Text => obs_properties_add_text(
                props,
                key.as_ptr(),
                label.as_ptr(),
                obs_text_type_OBS_TEXT_DEFAULT,
            ),
            Widget::Password => obs_properties_add_text(
                props,
                key.as_ptr(),
                label.as_ptr(),
                obs_text_type_OBS_TEXT_PASSWORD,
            ),
            Widget::Bool => obs_properties_add_bool(props, key.as_ptr(), label.as_ptr()),
            Widget::EditableList => obs_properties_add_editable_list(
                props,
                key.as_ptr(),
                label.as_ptr(),
                obs_editable_list_type_OBS_EDITABLE_LIST_TYPE_STRINGS,
                ptr::null(),
                ptr::null(),
            ),
            Widget::EditableChoice(choices) => {
                let list = obs_properties_add_list(
                    props,
                    key.as_ptr(),
                    label.as_ptr(),
                    obs_combo_type_OBS_COMBO_TYPE_EDITABLE,
                    obs_combo_format_OBS_COMBO_FORMAT_STRING,
                );
                for choice in choices {
                    let value = c_string(choice);
                    obs_property_list_add_string(list, value.as_ptr(), value.as_ptr());
                }
                list
            }
            Widget::Choice(choices) => {
                let list = obs_properties_add_list(
                    props,
                    key.as_ptr(),
                    label.as_ptr(),
                    obs_combo_type_OBS_COMBO_TYPE_LIST,
                    obs_combo_format_OBS_COMBO_FORMAT_STRING,
                );
                for (choice_label, value) in choices {
                    let (text, value) = (translated(choice_label), c_string(value));
                    obs_property_list_add_string(list, text.as_ptr(), value.as_ptr());
                }
                list
            }
        }
    };
    if let (Some(tooltip), false) = (field.tooltip, prop.is_null()) {
        let text = translated(tooltip);
        // SAFETY: `prop` was just returned non-null by libobs; the text is copied.
        unsafe { obs_property_set_long_description(prop, text.as_ptr()) };
    }
    prop
}

/// Writes each field's default into `settings` under `prefix` + its key (see [`add_field`]).
///
/// # Safety
/// `settings` must be a valid `obs_data_t`.
pub unsafe fn set_prefixed_defaults(settings: *mut obs_data_t, fields: &[Field], prefix: &str) {
    for field in fields {
        let key = c_string(&format!("{prefix}{}", field.key));
        // SAFETY: valid obs_data_t per the caller; libobs copies key and value.
        unsafe {
            match field.default {
                FieldDefault::None => {}
                FieldDefault::Text(t) => {
                    obs_data_set_default_string(settings, key.as_ptr(), c_string(t).as_ptr())
                }
                FieldDefault::Int(i) => obs_data_set_default_int(settings, key.as_ptr(), i),
                FieldDefault::Bool(b) => obs_data_set_default_bool(settings, key.as_ptr(), b),
            }
        }
    }
}

/// A new `obs_data` holding `value` (an object), or null when libobs cannot parse it. The caller
/// owns the reference and releases it with `obs_data_release`.
pub fn data_from_json(value: &Value) -> *mut obs_data_t {
    let text = c_string(&value.to_string());
    // SAFETY: `text` is NUL-terminated JSON; libobs parses it into a new object it returns with
    // one reference (or null on a parse error).
    unsafe { obs_data_create_from_json(text.as_ptr()) }
}
