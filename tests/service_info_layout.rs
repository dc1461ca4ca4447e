//! Our `#[repr(C)]` `obs_service_info` must match the installed libobs headers byte for byte:
//! a C program compiled against them prints every field offset and the struct size.

use obs_rtc_golive::ffi::{obs_service_t, ObsServiceInfo, SERVICE_INFO_SIZE_29_0};
use obs_wrapper::obs_sys::{obs_data_t, obs_output_t, obs_properties_t};
use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};
use std::os::raw::{c_char, c_int, c_void};
use std::process::Command;

/// Every field of `struct obs_service_info` in header order: its C type as the headers spell
/// it, and the Rust type our struct must give it. The Rust side is checked by the compiler
/// ([`rust_types_match_the_table`]), the C side by the probe (`__builtin_types_compatible_p`).
macro_rules! service_info_fields {
    ($($version:literal $field:ident: $c:literal => $rust:ty,)*) => {
        /// `(first libobs version as major * 100 + minor, field, C type)`.
        const FIELDS: &[(usize, &str, &str)] = &[$(($version, stringify!($field), $c),)*];

        fn rust_offset(field: &str) -> usize {
            match field {
                $(stringify!($field) => offset_of!(ObsServiceInfo, $field),)*
                _ => panic!("unknown field {field}"),
            }
        }

        /// Compiles only if each field of ours has the type the table gives it.
        #[allow(dead_code)]
        fn rust_types_match_the_table(info: ObsServiceInfo) {
            $(let _: $rust = info.$field;)*
        }
    };
}

service_info_fields! {
    2900 id: "const char *" => *const c_char,
    2900 get_name: "const char *(*)(void *)" => Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    2900 create: "void *(*)(obs_data_t *, obs_service_t *)" => Option<unsafe extern "C" fn(*mut obs_data_t, *mut obs_service_t) -> *mut c_void>,
    2900 destroy: "void (*)(void *)" => Option<unsafe extern "C" fn(*mut c_void)>,
    2900 activate: "void (*)(void *, obs_data_t *)" => Option<unsafe extern "C" fn(*mut c_void, *mut obs_data_t)>,
    2900 deactivate: "void (*)(void *)" => Option<unsafe extern "C" fn(*mut c_void)>,
    2900 update: "void (*)(void *, obs_data_t *)" => Option<unsafe extern "C" fn(*mut c_void, *mut obs_data_t)>,
    2900 get_defaults: "void (*)(obs_data_t *)" => Option<unsafe extern "C" fn(*mut obs_data_t)>,
    2900 get_properties: "obs_properties_t *(*)(void *)" => Option<unsafe extern "C" fn(*mut c_void) -> *mut obs_properties_t>,
    2900 initialize: "bool (*)(void *, obs_output_t *)" => Option<unsafe extern "C" fn(*mut c_void, *mut obs_output_t) -> bool>,
    2900 get_url: "const char *(*)(void *)" => Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    2900 get_key: "const char *(*)(void *)" => Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    2900 get_username: "const char *(*)(void *)" => Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    2900 get_password: "const char *(*)(void *)" => Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    2900 deprecated_1: "bool (*)()" => Option<unsafe extern "C" fn() -> bool>,
    2900 apply_encoder_settings: "void (*)(void *, obs_data_t *, obs_data_t *)" => Option<unsafe extern "C" fn(*mut c_void, *mut obs_data_t, *mut obs_data_t)>,
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

/// Compiles and runs the probe; returns field -> offset, plus "sizeof" and "version".
fn c_layout() -> BTreeMap<String, usize> {
    let dir = std::env::temp_dir().join(format!("obs-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // Fields of 29.1+ are probed only where the headers have them.
    let probe = |since: usize| -> String {
        FIELDS
            .iter()
            .filter(|(version, _, _)| *version == since)
            .map(|(_, f, c)| {
                format!(
                    "_Static_assert(__builtin_types_compatible_p(__typeof__(((struct obs_service_info *)0)->{f}), {c}), \"type of {f}\");\n\
                     printf(\"{f} %zu\\n\", offsetof(struct obs_service_info, {f}));\n"
                )
            })
            .collect()
    };
    let program = format!(
        "#include <stdio.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <obs/obs-module.h>\n#include <obs/obs-service.h>\n\
         int main(void) {{\n{}\n#if LIBOBS_API_MAJOR_VER > 29 || (LIBOBS_API_MAJOR_VER == 29 && LIBOBS_API_MINOR_VER >= 1)\n{}\n#endif\n\
         printf(\"sizeof %zu\\n\", sizeof(struct obs_service_info));\n\
         printf(\"version %d\\n\", LIBOBS_API_MAJOR_VER * 100 + LIBOBS_API_MINOR_VER);\nreturn 0;\n}}\n",
        probe(2900),
        probe(2901)
    );
    let source = dir.join("layout.c");
    let binary = dir.join("layout");
    std::fs::write(&source, program).expect("write probe");
    let cc = Command::new("cc")
        .arg(&source)
        .arg("-o")
        .arg(&binary)
        .output()
        .expect("run cc (install gcc and libobs-dev)");
    assert!(
        cc.status.success(),
        "compiling against libobs headers failed:\n{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let out = Command::new(&binary).output().expect("run layout probe");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.parse().expect("number")))
        .collect()
}

/// Offsets and C types of every field against the libobs headers installed where the test runs:
/// the host's (29.0.2) and, through `build-scripts/obs-version.sh`, trixie's (30.2.3) and sid's
/// (32.2.2).
#[test]
fn service_info_matches_installed_headers() {
    let c = c_layout();
    let version = c["version"];
    println!("libobs headers {}.{}", version / 100, version % 100);
    for (since, field, _) in FIELDS.iter().filter(|(since, _, _)| *since <= version) {
        assert_eq!(
            rust_offset(field),
            c[*field],
            "offset of {field} (since {since})"
        );
    }
    if version >= 2901 {
        assert_eq!(
            c["sizeof"],
            size_of::<ObsServiceInfo>(),
            "the headers' struct and ours differ in size"
        );
    } else {
        // Headers before 29.1 end at get_supported_video_codecs: exactly our 29.0 size.
        assert_eq!(c["sizeof"], SERVICE_INFO_SIZE_29_0);
    }
}

#[test]
#[cfg(target_pointer_width = "64")]
fn documented_sizes_on_x86_64() {
    assert_eq!(SERVICE_INFO_SIZE_29_0, 184);
    assert_eq!(size_of::<ObsServiceInfo>(), 216);
}
