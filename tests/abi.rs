//! Every item the plugin shares with libobs, checked against libobs's own headers compiled for
//! the target the test runs on: Linux x86-64 (the host's OBS 29.0.2 headers, and 30.2.3's and
//! 32.2.2's in their root filesystems), and Windows x64 under Wine (MinGW with the 29.0.2 and
//! 32.2 headers, `build-scripts/windows.sh test`).
//!
//! `obs-sys`'s bindings were generated on Linux, where C's `long` is 64 bits; on Windows it is 32
//! (LLP64), so a binding that spells `size_t` as `c_ulong` is wrong there. Each table below
//! gives every function, callback type and struct field the plugin uses in two spellings: the C
//! type, and the Rust type in target-independent terms (`usize`, `u32`, pointers; never `c_long`
//! or `c_ulong`). The compiler checks that each Rust declaration the plugin uses has exactly
//! that type ([`rust_matches_the_tables`]); the C compiler checks, from a probe this test writes,
//! that each header declaration is compatible with the C spelling, that each C type has the
//! size of its Rust twin on this target, and that every struct field sits at the offset Rust
//! gives it.

#![allow(clippy::type_complexity)]

use obs_rtc_golive::ffi;
use obs_wrapper::obs_sys;
use std::mem::{offset_of, size_of};
use std::os::raw::{c_char, c_int, c_longlong, c_void};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// One compilation of the probe takes about a second.
const COMPILE_TIMEOUT: Duration = Duration::from_secs(120);

/// A function: its C return type, and its parameters' C types, each with the size of the Rust
/// type the plugin gives it.
struct Function {
    name: &'static str,
    ret: (&'static str, usize),
    params: Vec<(&'static str, usize)>,
}

/// A struct the plugin shares by value with libobs.
struct Struct {
    c: &'static str,
    size: usize,
    /// The header's struct is at least as large (libobs copies the size the plugin passes).
    prefix: bool,
    /// First libobs version (major * 100 + minor) whose struct is exactly the Rust one.
    whole_since: usize,
    fields: Vec<Field>,
}

struct Field {
    since: usize,
    name: &'static str,
    offset: usize,
    /// The C type and the Rust type's size, for the fields the plugin reads or sets.
    typed: Option<(&'static str, usize)>,
}

macro_rules! functions {
    ($($module:ident :: $name:ident: $cret:literal => $rret:ty, ($($c:literal => $r:ty),* $(,)?);)*) => {
        fn functions() -> Vec<Function> {
            vec![$(Function {
                name: stringify!($name),
                ret: ($cret, size_of::<$rret>()),
                params: vec![$(($c, size_of::<$r>())),*],
            }),*]
        }

        /// Compiles only if every declaration the plugin calls has the table's type.
        #[allow(dead_code)]
        fn rust_functions_match_the_table() {
            $(let _: unsafe extern "C" fn($($r),*) -> $rret = $module::$name;)*
        }
    };
}

macro_rules! callbacks {
    ($($cname:literal = $module:ident :: $alias:ident: $cret:literal => $rret:ty, ($($c:literal => $r:ty),* $(,)?);)*) => {
        /// Callback types as functions named after the C type.
        fn callbacks() -> Vec<Function> {
            vec![$(Function {
                name: $cname,
                ret: ($cret, size_of::<$rret>()),
                params: vec![$(($c, size_of::<$r>())),*],
            }),*]
        }

        /// Compiles only if every callback type the plugin implements has the table's type.
        #[allow(dead_code)]
        fn rust_callbacks_match_the_table() {
            $(let _: $module::$alias = None::<unsafe extern "C" fn($($r),*) -> $rret>;)*
        }
    };
}

macro_rules! structs {
    ($($arg:ident: $cname:literal = $rust:ty, $kind:ident since $whole:literal {
        $($since:literal $field:ident: $c:literal => $r:ty,)*
        $(untyped: $($u:ident),* $(,)?)?
    })*) => {
        fn structs() -> Vec<Struct> {
            vec![$(Struct {
                c: $cname,
                size: size_of::<$rust>(),
                prefix: stringify!($kind) == "prefix",
                whole_since: $whole,
                fields: vec![
                    $(Field {
                        since: $since,
                        name: stringify!($field),
                        offset: offset_of!($rust, $field),
                        typed: Some(($c, size_of::<$r>())),
                    },)*
                    $($(Field {
                        since: 0,
                        name: stringify!($u),
                        offset: offset_of!($rust, $u),
                        typed: None,
                    },)*)?
                ],
            }),*]
        }

        /// Compiles only if each typed field of ours has the table's type.
        #[allow(dead_code, non_snake_case)]
        fn rust_fields_match_the_table($($arg: $rust),*) {
            $($(let _: $r = $arg.$field;)*)*
        }
    };
}

functions! {
    obs_sys::bfree: "void" => (), ("void *" => *mut c_void);
    ffi::calldata_get_data: "bool" => bool, ("const calldata_t *" => *const ffi::calldata_t, "const char *" => *const c_char, "void *" => *mut c_void, "size_t" => usize);
    ffi::calldata_set_data: "void" => (), ("calldata_t *" => *mut ffi::calldata_t, "const char *" => *const c_char, "const void *" => *const c_void, "size_t" => usize);
    obs_sys::obs_data_apply: "void" => (), ("obs_data_t *" => *mut obs_sys::obs_data_t, "obs_data_t *" => *mut obs_sys::obs_data_t);
    obs_sys::obs_data_clear: "void" => (), ("obs_data_t *" => *mut obs_sys::obs_data_t);
    obs_sys::obs_data_create_from_json: "obs_data_t *" => *mut obs_sys::obs_data_t, ("const char *" => *const c_char);
    obs_sys::obs_data_get_json: "const char *" => *const c_char, ("obs_data_t *" => *mut obs_sys::obs_data_t);
    obs_sys::obs_data_get_string: "const char *" => *const c_char, ("obs_data_t *" => *mut obs_sys::obs_data_t, "const char *" => *const c_char);
    obs_sys::obs_data_release: "void" => (), ("obs_data_t *" => *mut obs_sys::obs_data_t);
    obs_sys::obs_data_set_default_bool: "void" => (), ("obs_data_t *" => *mut obs_sys::obs_data_t, "const char *" => *const c_char, "bool" => bool);
    obs_sys::obs_data_set_default_int: "void" => (), ("obs_data_t *" => *mut obs_sys::obs_data_t, "const char *" => *const c_char, "long long" => c_longlong);
    obs_sys::obs_data_set_default_string: "void" => (), ("obs_data_t *" => *mut obs_sys::obs_data_t, "const char *" => *const c_char, "const char *" => *const c_char);
    obs_sys::obs_get_audio_info: "bool" => bool, ("struct obs_audio_info *" => *mut obs_sys::obs_audio_info);
    obs_sys::obs_get_proc_handler: "proc_handler_t *" => *mut obs_sys::proc_handler_t, ();
    obs_sys::obs_get_version: "uint32_t" => u32, ();
    obs_sys::obs_module_get_config_path: "char *" => *mut c_char, ("obs_module_t *" => *mut obs_sys::obs_module_t, "const char *" => *const c_char);
    obs_sys::obs_module_load_locale: "lookup_t *" => *mut obs_sys::lookup_t, ("obs_module_t *" => *mut obs_sys::obs_module_t, "const char *" => *const c_char, "const char *" => *const c_char);
    obs_sys::obs_output_active: "bool" => bool, ("const obs_output_t *" => *const obs_sys::obs_output_t);
    obs_sys::obs_output_get_signal_handler: "signal_handler_t *" => *mut obs_sys::signal_handler_t, ("const obs_output_t *" => *const obs_sys::obs_output_t);
    obs_sys::obs_output_get_weak_output: "obs_weak_output_t *" => *mut obs_sys::obs_weak_output_t, ("obs_output_t *" => *mut obs_sys::obs_output_t);
    obs_sys::obs_output_reconnecting: "bool" => bool, ("const obs_output_t *" => *const obs_sys::obs_output_t);
    obs_sys::obs_output_release: "void" => (), ("obs_output_t *" => *mut obs_sys::obs_output_t);
    obs_sys::obs_output_set_last_error: "void" => (), ("obs_output_t *" => *mut obs_sys::obs_output_t, "const char *" => *const c_char);
    obs_sys::obs_properties_add_bool: "obs_property_t *" => *mut obs_sys::obs_property_t, ("obs_properties_t *" => *mut obs_sys::obs_properties_t, "const char *" => *const c_char, "const char *" => *const c_char);
    obs_sys::obs_properties_add_button: "obs_property_t *" => *mut obs_sys::obs_property_t, ("obs_properties_t *" => *mut obs_sys::obs_properties_t, "const char *" => *const c_char, "const char *" => *const c_char, "obs_property_clicked_t" => obs_sys::obs_property_clicked_t);
    obs_sys::obs_properties_add_editable_list: "obs_property_t *" => *mut obs_sys::obs_property_t, ("obs_properties_t *" => *mut obs_sys::obs_properties_t, "const char *" => *const c_char, "const char *" => *const c_char, "enum obs_editable_list_type" => obs_sys::obs_editable_list_type, "const char *" => *const c_char, "const char *" => *const c_char);
    obs_sys::obs_properties_add_group: "obs_property_t *" => *mut obs_sys::obs_property_t, ("obs_properties_t *" => *mut obs_sys::obs_properties_t, "const char *" => *const c_char, "const char *" => *const c_char, "enum obs_group_type" => obs_sys::obs_group_type, "obs_properties_t *" => *mut obs_sys::obs_properties_t);
    obs_sys::obs_properties_add_int: "obs_property_t *" => *mut obs_sys::obs_property_t, ("obs_properties_t *" => *mut obs_sys::obs_properties_t, "const char *" => *const c_char, "const char *" => *const c_char, "int" => c_int, "int" => c_int, "int" => c_int);
    obs_sys::obs_properties_add_list: "obs_property_t *" => *mut obs_sys::obs_property_t, ("obs_properties_t *" => *mut obs_sys::obs_properties_t, "const char *" => *const c_char, "const char *" => *const c_char, "enum obs_combo_type" => obs_sys::obs_combo_type, "enum obs_combo_format" => obs_sys::obs_combo_format);
    obs_sys::obs_properties_add_text: "obs_property_t *" => *mut obs_sys::obs_property_t, ("obs_properties_t *" => *mut obs_sys::obs_properties_t, "const char *" => *const c_char, "const char *" => *const c_char, "enum obs_text_type" => obs_sys::obs_text_type);
    obs_sys::obs_properties_create: "obs_properties_t *" => *mut obs_sys::obs_properties_t, ();
    obs_sys::obs_properties_destroy: "void" => (), ("obs_properties_t *" => *mut obs_sys::obs_properties_t);
    obs_sys::obs_properties_get: "obs_property_t *" => *mut obs_sys::obs_property_t, ("obs_properties_t *" => *mut obs_sys::obs_properties_t, "const char *" => *const c_char);
    ffi::obs_property_list_add_string: "size_t" => usize, ("obs_property_t *" => *mut obs_sys::obs_property_t, "const char *" => *const c_char, "const char *" => *const c_char);
    obs_sys::obs_property_set_description: "void" => (), ("obs_property_t *" => *mut obs_sys::obs_property_t, "const char *" => *const c_char);
    obs_sys::obs_property_set_enabled: "void" => (), ("obs_property_t *" => *mut obs_sys::obs_property_t, "bool" => bool);
    obs_sys::obs_property_set_long_description: "void" => (), ("obs_property_t *" => *mut obs_sys::obs_property_t, "const char *" => *const c_char);
    obs_sys::obs_property_set_modified_callback: "void" => (), ("obs_property_t *" => *mut obs_sys::obs_property_t, "obs_property_modified_t" => obs_sys::obs_property_modified_t);
    obs_sys::obs_property_set_visible: "void" => (), ("obs_property_t *" => *mut obs_sys::obs_property_t, "bool" => bool);
    ffi::obs_property_text_set_info_type: "void" => (), ("obs_property_t *" => *mut obs_sys::obs_property_t, "uint32_t" => u32);
    obs_sys::obs_queue_task: "void" => (), ("enum obs_task_type" => obs_sys::obs_task_type, "obs_task_t" => obs_sys::obs_task_t, "void *" => *mut c_void, "bool" => bool);
    ffi::obs_register_service_s: "void" => (), ("const struct obs_service_info *" => *const ffi::ObsServiceInfo, "size_t" => usize);
    ffi::obs_register_source_s: "void" => (), ("const struct obs_source_info *" => *const obs_sys::obs_source_info, "size_t" => usize);
    obs_sys::obs_service_create: "obs_service_t *" => *mut obs_sys::obs_service_t, ("const char *" => *const c_char, "const char *" => *const c_char, "obs_data_t *" => *mut obs_sys::obs_data_t, "obs_data_t *" => *mut obs_sys::obs_data_t);
    obs_sys::obs_service_get_display_name: "const char *" => *const c_char, ("const char *" => *const c_char);
    obs_sys::obs_service_get_id: "const char *" => *const c_char, ("const obs_service_t *" => *const obs_sys::obs_service_t);
    obs_sys::obs_service_get_ref: "obs_service_t *" => *mut obs_sys::obs_service_t, ("obs_service_t *" => *mut obs_sys::obs_service_t);
    obs_sys::obs_service_get_settings: "obs_data_t *" => *mut obs_sys::obs_data_t, ("const obs_service_t *" => *const obs_sys::obs_service_t);
    obs_sys::obs_service_release: "void" => (), ("obs_service_t *" => *mut obs_sys::obs_service_t);
    obs_sys::obs_source_add_audio_capture_callback: "void" => (), ("obs_source_t *" => *mut obs_sys::obs_source_t, "obs_source_audio_capture_t" => obs_sys::obs_source_audio_capture_t, "void *" => *mut c_void);
    obs_sys::obs_source_create_private: "obs_source_t *" => *mut obs_sys::obs_source_t, ("const char *" => *const c_char, "const char *" => *const c_char, "obs_data_t *" => *mut obs_sys::obs_data_t);
    obs_sys::obs_source_get_height: "uint32_t" => u32, ("obs_source_t *" => *mut obs_sys::obs_source_t);
    obs_sys::obs_source_get_name: "const char *" => *const c_char, ("const obs_source_t *" => *const obs_sys::obs_source_t);
    obs_sys::obs_source_get_ref: "obs_source_t *" => *mut obs_sys::obs_source_t, ("obs_source_t *" => *mut obs_sys::obs_source_t);
    obs_sys::obs_source_get_settings: "obs_data_t *" => *mut obs_sys::obs_data_t, ("const obs_source_t *" => *const obs_sys::obs_source_t);
    obs_sys::obs_source_get_signal_handler: "signal_handler_t *" => *mut obs_sys::signal_handler_t, ("const obs_source_t *" => *const obs_sys::obs_source_t);
    obs_sys::obs_source_get_weak_source: "obs_weak_source_t *" => *mut obs_sys::obs_weak_source_t, ("obs_source_t *" => *mut obs_sys::obs_source_t);
    obs_sys::obs_source_get_width: "uint32_t" => u32, ("obs_source_t *" => *mut obs_sys::obs_source_t);
    obs_sys::obs_source_output_audio: "void" => (), ("obs_source_t *" => *mut obs_sys::obs_source_t, "const struct obs_source_audio *" => *const obs_sys::obs_source_audio);
    obs_sys::obs_source_release: "void" => (), ("obs_source_t *" => *mut obs_sys::obs_source_t);
    obs_sys::obs_source_remove_audio_capture_callback: "void" => (), ("obs_source_t *" => *mut obs_sys::obs_source_t, "obs_source_audio_capture_t" => obs_sys::obs_source_audio_capture_t, "void *" => *mut c_void);
    obs_sys::obs_source_update_properties: "void" => (), ("obs_source_t *" => *mut obs_sys::obs_source_t);
    obs_sys::obs_source_video_render: "void" => (), ("obs_source_t *" => *mut obs_sys::obs_source_t);
    ffi::obs_weak_object_expired: "bool" => bool, ("obs_weak_object_t *" => *mut ffi::ObsWeakObject);
    obs_sys::obs_weak_output_addref: "void" => (), ("obs_weak_output_t *" => *mut obs_sys::obs_weak_output_t);
    obs_sys::obs_weak_output_get_output: "obs_output_t *" => *mut obs_sys::obs_output_t, ("obs_weak_output_t *" => *mut obs_sys::obs_weak_output_t);
    obs_sys::obs_weak_output_release: "void" => (), ("obs_weak_output_t *" => *mut obs_sys::obs_weak_output_t);
    obs_sys::obs_weak_source_get_source: "obs_source_t *" => *mut obs_sys::obs_source_t, ("obs_weak_source_t *" => *mut obs_sys::obs_weak_source_t);
    obs_sys::obs_weak_source_release: "void" => (), ("obs_weak_source_t *" => *mut obs_sys::obs_weak_source_t);
    ffi::proc_handler_call: "bool" => bool, ("proc_handler_t *" => *mut obs_sys::proc_handler_t, "const char *" => *const c_char, "calldata_t *" => *mut ffi::calldata_t);
    obs_sys::signal_handler_connect: "void" => (), ("signal_handler_t *" => *mut obs_sys::signal_handler_t, "const char *" => *const c_char, "signal_callback_t" => obs_sys::signal_callback_t, "void *" => *mut c_void);
    obs_sys::signal_handler_disconnect: "void" => (), ("signal_handler_t *" => *mut obs_sys::signal_handler_t, "const char *" => *const c_char, "signal_callback_t" => obs_sys::signal_callback_t, "void *" => *mut c_void);
    obs_sys::text_lookup_destroy: "void" => (), ("lookup_t *" => *mut obs_sys::lookup_t);
    obs_sys::text_lookup_getstr: "bool" => bool, ("lookup_t *" => *mut obs_sys::lookup_t, "const char *" => *const c_char, "const char * *" => *mut *const c_char);
    ffi::obs_frontend_add_event_callback: "void" => (), ("obs_frontend_event_cb" => ffi::FrontendEventCallback, "void *" => *mut c_void);
    ffi::obs_frontend_add_tools_menu_item: "void" => (), ("const char *" => *const c_char, "obs_frontend_cb" => ffi::FrontendCallback, "void *" => *mut c_void);
    ffi::obs_frontend_get_streaming_service: "obs_service_t *" => *mut ffi::FrontendService, ();
    ffi::obs_frontend_open_source_properties: "void" => (), ("obs_source_t *" => *mut ffi::FrontendSource);
    ffi::obs_frontend_remove_event_callback: "void" => (), ("obs_frontend_event_cb" => ffi::FrontendEventCallback, "void *" => *mut c_void);
    ffi::obs_frontend_save_streaming_service: "void" => (), ();
    ffi::obs_frontend_set_streaming_service: "void" => (), ("obs_service_t *" => *mut ffi::FrontendService);
    ffi::obs_frontend_streaming_active: "bool" => bool, ();
    ffi::obs_frontend_streaming_start: "void" => (), ();
    ffi::obs_frontend_streaming_stop: "void" => (), ();
}

callbacks! {
    "signal_callback_t" = obs_sys::signal_callback_t: "void" => (), ("void *" => *mut c_void, "calldata_t *" => *mut obs_sys::calldata_t);
    "obs_property_modified_t" = obs_sys::obs_property_modified_t: "bool" => bool, ("obs_properties_t *" => *mut obs_sys::obs_properties_t, "obs_property_t *" => *mut obs_sys::obs_property_t, "obs_data_t *" => *mut obs_sys::obs_data_t);
    "obs_property_clicked_t" = obs_sys::obs_property_clicked_t: "bool" => bool, ("obs_properties_t *" => *mut obs_sys::obs_properties_t, "obs_property_t *" => *mut obs_sys::obs_property_t, "void *" => *mut c_void);
    "obs_source_audio_capture_t" = obs_sys::obs_source_audio_capture_t: "void" => (), ("void *" => *mut c_void, "obs_source_t *" => *mut obs_sys::obs_source_t, "const struct audio_data *" => *const obs_sys::audio_data, "bool" => bool);
    "obs_task_t" = obs_sys::obs_task_t: "void" => (), ("void *" => *mut c_void);
    "obs_frontend_cb" = ffi::FrontendCallback: "void" => (), ("void *" => *mut c_void);
    "obs_frontend_event_cb" = ffi::FrontendEventCallback: "void" => (), ("enum obs_frontend_event" => c_int, "void *" => *mut c_void);
}

structs! {
    service: "struct obs_service_info" = ffi::ObsServiceInfo, whole since 2901 {
        2900 id: "const char *" => *const c_char,
        2900 get_name: "const char *(*)(void *)" => Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
        2900 create: "void *(*)(obs_data_t *, obs_service_t *)" => Option<unsafe extern "C" fn(*mut obs_sys::obs_data_t, *mut ffi::obs_service_t) -> *mut c_void>,
        2900 destroy: "void (*)(void *)" => Option<unsafe extern "C" fn(*mut c_void)>,
        2900 activate: "void (*)(void *, obs_data_t *)" => Option<unsafe extern "C" fn(*mut c_void, *mut obs_sys::obs_data_t)>,
        2900 deactivate: "void (*)(void *)" => Option<unsafe extern "C" fn(*mut c_void)>,
        2900 update: "void (*)(void *, obs_data_t *)" => Option<unsafe extern "C" fn(*mut c_void, *mut obs_sys::obs_data_t)>,
        2900 get_defaults: "void (*)(obs_data_t *)" => Option<unsafe extern "C" fn(*mut obs_sys::obs_data_t)>,
        2900 get_properties: "obs_properties_t *(*)(void *)" => Option<unsafe extern "C" fn(*mut c_void) -> *mut obs_sys::obs_properties_t>,
        2900 initialize: "bool (*)(void *, obs_output_t *)" => Option<unsafe extern "C" fn(*mut c_void, *mut obs_sys::obs_output_t) -> bool>,
        2900 get_url: "const char *(*)(void *)" => Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
        2900 get_key: "const char *(*)(void *)" => Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
        2900 get_username: "const char *(*)(void *)" => Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
        2900 get_password: "const char *(*)(void *)" => Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
        2900 deprecated_1: "bool (*)()" => Option<unsafe extern "C" fn() -> bool>,
        2900 apply_encoder_settings: "void (*)(void *, obs_data_t *, obs_data_t *)" => Option<unsafe extern "C" fn(*mut c_void, *mut obs_sys::obs_data_t, *mut obs_sys::obs_data_t)>,
        2900 type_data: "void *" => *mut c_void,
        2900 free_type_data: "void (*)(void *)" => Option<unsafe extern "C" fn(*mut c_void)>,
        2900 get_output_type: "const char *(*)(void *)" => Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
        2900 get_supported_resolutions: "void (*)(void *, struct obs_service_resolution **, size_t *)" => Option<unsafe extern "C" fn(*mut c_void, *mut *mut c_void, *mut usize)>,
        2900 get_max_fps: "void (*)(void *, int *)" => Option<unsafe extern "C" fn(*mut c_void, *mut c_int)>,
        2900 get_max_bitrate: "void (*)(void *, int *, int *)" => Option<unsafe extern "C" fn(*mut c_void, *mut c_int, *mut c_int)>,
        2900 get_supported_video_codecs: "const char **(*)(void *)" => Option<unsafe extern "C" fn(*mut c_void) -> *mut *const c_char>,
        2901 get_protocol: "const char *(*)(void *)" => Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
        2901 get_supported_audio_codecs: "const char **(*)(void *)" => Option<unsafe extern "C" fn(*mut c_void) -> *mut *const c_char>,
        2901 get_connect_info: "const char *(*)(void *, uint32_t)" => Option<unsafe extern "C" fn(*mut c_void, u32) -> *const c_char>,
        2901 can_try_to_connect: "bool (*)(void *)" => Option<unsafe extern "C" fn(*mut c_void) -> bool>,
    }
    source: "struct obs_source_info" = obs_sys::obs_source_info, prefix since 0 {
        2900 id: "const char *" => *const c_char,
        2900 type_: "enum obs_source_type" => obs_sys::obs_source_type,
        2900 output_flags: "uint32_t" => u32,
        2900 get_name: "const char *(*)(void *)" => Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
        2900 create: "void *(*)(obs_data_t *, obs_source_t *)" => Option<unsafe extern "C" fn(*mut obs_sys::obs_data_t, *mut obs_sys::obs_source_t) -> *mut c_void>,
        2900 destroy: "void (*)(void *)" => Option<unsafe extern "C" fn(*mut c_void)>,
        2900 get_width: "uint32_t (*)(void *)" => Option<unsafe extern "C" fn(*mut c_void) -> u32>,
        2900 get_height: "uint32_t (*)(void *)" => Option<unsafe extern "C" fn(*mut c_void) -> u32>,
        2900 get_defaults: "void (*)(obs_data_t *)" => Option<unsafe extern "C" fn(*mut obs_sys::obs_data_t)>,
        2900 get_properties: "obs_properties_t *(*)(void *)" => Option<unsafe extern "C" fn(*mut c_void) -> *mut obs_sys::obs_properties_t>,
        2900 update: "void (*)(void *, obs_data_t *)" => Option<unsafe extern "C" fn(*mut c_void, *mut obs_sys::obs_data_t)>,
        2900 activate: "void (*)(void *)" => Option<unsafe extern "C" fn(*mut c_void)>,
        2900 deactivate: "void (*)(void *)" => Option<unsafe extern "C" fn(*mut c_void)>,
        2900 video_tick: "void (*)(void *, float)" => Option<unsafe extern "C" fn(*mut c_void, f32)>,
        2900 video_render: "void (*)(void *, gs_effect_t *)" => Option<unsafe extern "C" fn(*mut c_void, *mut obs_sys::gs_effect_t)>,
        2900 icon_type: "enum obs_icon_type" => obs_sys::obs_icon_type,
        untyped: show, hide, filter_video, filter_audio, enum_active_sources, save, load, mouse_click,
        mouse_move, mouse_wheel, focus, key_click, filter_remove, type_data, free_type_data,
        audio_render, enum_all_sources, transition_start, transition_stop, get_defaults2,
        get_properties2, audio_mix, media_play_pause, media_restart, media_stop, media_next,
        media_previous, media_get_duration, media_get_time, media_set_time, media_get_state,
        version, unversioned_id,
    }
    calldata: "calldata_t" = ffi::calldata_t, whole since 0 {
        2900 stack: "uint8_t *" => *mut u8,
        2900 size: "size_t" => usize,
        2900 capacity: "size_t" => usize,
        2900 fixed: "bool" => bool,
    }
    audio: "struct obs_source_audio" = obs_sys::obs_source_audio, whole since 0 {
        2900 data: "const uint8_t *[8]" => [*const u8; 8],
        2900 frames: "uint32_t" => u32,
        2900 speakers: "enum speaker_layout" => obs_sys::speaker_layout,
        2900 format: "enum audio_format" => obs_sys::audio_format,
        2900 samples_per_sec: "uint32_t" => u32,
        2900 timestamp: "uint64_t" => u64,
    }
    captured: "struct audio_data" = obs_sys::audio_data, whole since 0 {
        2900 data: "uint8_t *[8]" => [*mut u8; 8],
        2900 frames: "uint32_t" => u32,
        2900 timestamp: "uint64_t" => u64,
    }
    audio_info: "struct obs_audio_info" = obs_sys::obs_audio_info, whole since 0 {
        2900 samples_per_sec: "uint32_t" => u32,
        2900 speakers: "enum speaker_layout" => obs_sys::speaker_layout,
    }
}

/// `blog` is variadic: its own check.
#[allow(dead_code)]
fn rust_matches_the_tables() {
    rust_functions_match_the_table();
    rust_callbacks_match_the_table();
    let _: unsafe extern "C" fn(c_int, *const c_char, ...) = obs_sys::blog;
}

/// `obs-websocket-api.h` ships with obs-websocket, not libobs: checked where the headers have
/// it (Debian's libobs-dev from 32.x).
const WEBSOCKET_CALLBACK: &str = "struct obs_websocket_request_callback";

/// The probe: one `_Static_assert` per fact, so that compiling it is the check.
fn probe() -> String {
    let mut c = String::from(
        "#include <stddef.h>\n#include <stdint.h>\n#include <stdbool.h>\n\
         #include <obs/obs-module.h>\n#include <obs/obs-frontend-api.h>\n\
         #include <obs/util/text-lookup.h>\n#define VERSION (LIBOBS_API_MAJOR_VER * 100 + LIBOBS_API_MINOR_VER)\n",
    );
    let fn_type = |f: &Function| {
        let params = if f.params.is_empty() {
            "void".to_string()
        } else {
            f.params.iter().map(|p| p.0).collect::<Vec<_>>().join(", ")
        };
        format!("{} (*)({params})", f.ret.0)
    };
    let sizes = |f: &Function, c: &mut String| {
        if f.ret.0 != "void" {
            c.push_str(&format!(
                "_Static_assert(sizeof({}) == {}, \"{}: size of the return type\");\n",
                f.ret.0, f.ret.1, f.name
            ));
        }
        for (i, (ty, size)) in f.params.iter().enumerate() {
            c.push_str(&format!(
                "_Static_assert(sizeof({ty}) == {size}, \"{}: size of parameter {}\");\n",
                f.name,
                i + 1
            ));
        }
    };
    for f in functions() {
        c.push_str(&format!(
            "_Static_assert(__builtin_types_compatible_p(__typeof__(&{}), {}), \"{}: signature\");\n",
            f.name,
            fn_type(&f),
            f.name
        ));
        sizes(&f, &mut c);
    }
    c.push_str("_Static_assert(__builtin_types_compatible_p(__typeof__(&blog), void (*)(int, const char *, ...)), \"blog: signature\");\n");
    for f in callbacks() {
        c.push_str(&format!(
            "_Static_assert(__builtin_types_compatible_p({}, {}), \"{}: type\");\n",
            f.name,
            fn_type(&f),
            f.name
        ));
        sizes(&f, &mut c);
    }
    for s in structs() {
        for f in &s.fields {
            let c_field = f.name.trim_end_matches('_');
            let mut facts = format!(
                "_Static_assert(offsetof({}, {c_field}) == {}, \"{}.{c_field}: offset\");\n",
                s.c, f.offset, s.c
            );
            if let Some((ty, size)) = f.typed {
                facts.push_str(&format!(
                    "_Static_assert(__builtin_types_compatible_p(__typeof__((({} *)0)->{c_field}), {ty}), \"{}.{c_field}: type\");\n\
                     _Static_assert(sizeof({ty}) == {size}, \"{}.{c_field}: size\");\n",
                    s.c, s.c, s.c
                ));
            }
            if f.since > 2900 {
                facts = format!("#if VERSION >= {}\n{facts}#endif\n", f.since);
            }
            c.push_str(&facts);
        }
        let whole = format!(
            "_Static_assert(sizeof({}) {} {}, \"{}: size\");\n",
            s.c,
            if s.prefix { ">=" } else { "==" },
            s.size,
            s.c
        );
        if s.whole_since > 0 {
            // Older headers end where the first newer field begins.
            let end = s
                .fields
                .iter()
                .find(|f| f.since >= s.whole_since)
                .map_or(s.size, |f| f.offset);
            c.push_str(&format!(
                "#if VERSION >= {}\n{whole}#else\n_Static_assert(sizeof({}) == {end}, \"{}: size before {}\");\n#endif\n",
                s.whole_since, s.c, s.c, s.whole_since
            ));
        } else {
            c.push_str(&whole);
        }
    }
    let websocket = format!(
        "#if __has_include(<obs/obs-websocket-api.h>)\n#include <obs/obs-websocket-api.h>\n\
         _Static_assert(sizeof({WEBSOCKET_CALLBACK}) == {}, \"websocket callback: size\");\n\
         _Static_assert(offsetof({WEBSOCKET_CALLBACK}, callback) == {}, \"websocket callback: callback\");\n\
         _Static_assert(offsetof({WEBSOCKET_CALLBACK}, priv_data) == {}, \"websocket callback: priv_data\");\n\
         _Static_assert(__builtin_types_compatible_p(obs_websocket_request_callback_function, void (*)(obs_data_t *, obs_data_t *, void *)), \"websocket callback: function\");\n\
         #endif\n",
        size_of::<ffi::WebsocketRequestCallback>(),
        offset_of!(ffi::WebsocketRequestCallback, callback),
        offset_of!(ffi::WebsocketRequestCallback, priv_data),
    );
    let _: ffi::WebsocketRequestFunction = None::<
        unsafe extern "C" fn(*mut obs_sys::obs_data_t, *mut obs_sys::obs_data_t, *mut c_void),
    >;
    c.push_str(&websocket);
    c
}

/// The C compiler for this target (`RTC_GOLIVE_ABI_CC`; `cc` on Linux) and the include
/// directories holding `obs/obs-module.h` to check against (`RTC_GOLIVE_ABI_INCLUDE`, separated
/// by `;`; `/usr/include` on Linux).
fn compiler_and_headers() -> (String, Vec<String>) {
    let cc = std::env::var("RTC_GOLIVE_ABI_CC").ok();
    let include = std::env::var("RTC_GOLIVE_ABI_INCLUDE").ok();
    if cfg!(windows) {
        assert!(
            cc.is_some() && include.is_some(),
            "set RTC_GOLIVE_ABI_CC (a C compiler for this target) and RTC_GOLIVE_ABI_INCLUDE \
             (libobs header roots, ;-separated): build-scripts/windows.sh test does"
        );
    }
    let include = include.unwrap_or_else(|| "/usr/include".into());
    (
        cc.unwrap_or_else(|| "cc".into()),
        include
            .split(';')
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

/// Compiles `source` against the headers under `include`, through `sh`, which writes the
/// compiler's output and exit status to files beside the source. Under Wine the compiler is a
/// Linux program: Wine neither passes its output back through a pipe nor waits for it, so the
/// status file's appearance is its end. Paths are in Unix form (no drive letter, forward
/// slashes), which Windows code reads as paths on the current drive.
fn compiles(cc: &str, include: &str, source: &str, object: &str) -> Result<(), String> {
    let (log, status) = (format!("{object}.log"), format!("{object}.status"));
    let _ = std::fs::remove_file(&status);
    // Flags the target's compiler needs (e.g. where SIMDe is for libobs 29.0's headers).
    let flags = std::env::var("RTC_GOLIVE_ABI_CFLAGS").unwrap_or_default();
    // The frontend's header includes libobs's as <obs.h>.
    let script = format!(
        "{cc} -std=gnu11 {flags} -I'{include}' -I'{include}/obs' -c '{source}' -o '{object}' \
         >'{log}' 2>&1; echo $? >'{status}.part' && mv '{status}.part' '{status}'"
    );
    // Under Wine the wait for the Linux child fails ("invalid handle") once it has started:
    // the status file tells when it ends, and its absence that it never ran.
    let _ = Command::new("/bin/sh").arg("-c").arg(&script).status();
    let deadline = Instant::now() + COMPILE_TIMEOUT;
    let code = loop {
        if let Ok(code) = std::fs::read_to_string(&status) {
            break code;
        }
        assert!(
            Instant::now() < deadline,
            "/bin/sh -c {script:?} wrote no status within {COMPILE_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    if code.trim() == "0" {
        Ok(())
    } else {
        Err(std::fs::read_to_string(&log).unwrap_or_default())
    }
}

#[test]
fn every_shared_item_matches_the_libobs_headers() {
    let (cc, includes) = compiler_and_headers();
    // A Unix path (see `compiles`), the same for this test and the compiler.
    let dir = format!(
        "{}/obs-abi-{}",
        env!("CARGO_TARGET_TMPDIR"),
        std::process::id()
    );
    std::fs::create_dir_all(&dir).expect("temp dir");
    let source = format!("{dir}/abi.c");
    std::fs::write(&source, probe()).expect("write the probe");
    for include in &includes {
        assert!(
            Path::new(&format!("{include}/obs/obs-module.h")).is_file(),
            "no libobs headers under {include}"
        );
        let object = format!("{dir}/abi.o");
        if let Err(diagnostics) = compiles(&cc, include, &source, &object) {
            panic!(
                "the plugin's libobs declarations differ from the headers in {include} ({cc}); \
                 the probe is {source}:\n{diagnostics}"
            );
        }
        println!(
            "{} functions, {} callback types, {} structs checked against {include} with {cc}",
            functions().len() + 1,
            callbacks().len(),
            structs().len(),
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[cfg(target_pointer_width = "64")]
fn documented_sizes_on_x86_64() {
    assert_eq!(ffi::SERVICE_INFO_SIZE_29_0, 184);
    assert_eq!(size_of::<ffi::ObsServiceInfo>(), 216);
    assert_eq!(size_of::<ffi::calldata_t>(), 32);
}
