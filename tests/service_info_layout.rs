//! Our `#[repr(C)]` `obs_service_info` must match the installed libobs headers byte for byte:
//! a C program compiled against them prints every field offset and the struct size.

use obs_rtc_golive::obs::ffi::{ObsServiceInfo, SERVICE_INFO_SIZE_29_0};
use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};
use std::process::Command;

const FIELDS_29_0: &[&str] = &[
    "id",
    "get_name",
    "create",
    "destroy",
    "activate",
    "deactivate",
    "update",
    "get_defaults",
    "get_properties",
    "initialize",
    "get_url",
    "get_key",
    "get_username",
    "get_password",
    "deprecated_1",
    "apply_encoder_settings",
    "type_data",
    "free_type_data",
    "get_output_type",
    "get_supported_resolutions",
    "get_max_fps",
    "get_max_bitrate",
    "get_supported_video_codecs",
];
const FIELDS_29_1: &[&str] = &[
    "get_protocol",
    "get_supported_audio_codecs",
    "get_connect_info",
    "can_try_to_connect",
];

fn rust_offset(field: &str) -> usize {
    macro_rules! table {
        ($($f:ident),*) => { match field { $(stringify!($f) => offset_of!(ObsServiceInfo, $f),)* _ => panic!("unknown field {field}") } };
    }
    table!(
        id,
        get_name,
        create,
        destroy,
        activate,
        deactivate,
        update,
        get_defaults,
        get_properties,
        initialize,
        get_url,
        get_key,
        get_username,
        get_password,
        deprecated_1,
        apply_encoder_settings,
        type_data,
        free_type_data,
        get_output_type,
        get_supported_resolutions,
        get_max_fps,
        get_max_bitrate,
        get_supported_video_codecs,
        get_protocol,
        get_supported_audio_codecs,
        get_connect_info,
        can_try_to_connect
    )
}

/// Compiles and runs the probe; returns field -> offset, plus "sizeof" and "version".
fn c_layout() -> BTreeMap<String, usize> {
    let dir = std::env::temp_dir().join(format!("obs-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let print = |fields: &[&str]| -> String {
        fields
            .iter()
            .map(|f| format!("printf(\"{f} %zu\\n\", offsetof(struct obs_service_info, {f}));\n"))
            .collect()
    };
    let program = format!(
        "#include <stdio.h>\n#include <stddef.h>\n#include <obs/obs-module.h>\n#include <obs/obs-service.h>\n\
         int main(void) {{\n{}\n#if LIBOBS_API_MAJOR_VER > 29 || (LIBOBS_API_MAJOR_VER == 29 && LIBOBS_API_MINOR_VER >= 1)\n{}\n#endif\n\
         printf(\"sizeof %zu\\n\", sizeof(struct obs_service_info));\n\
         printf(\"version %d\\n\", LIBOBS_API_MAJOR_VER * 100 + LIBOBS_API_MINOR_VER);\nreturn 0;\n}}\n",
        print(FIELDS_29_0),
        print(FIELDS_29_1)
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

#[test]
fn service_info_matches_installed_headers() {
    let c = c_layout();
    let version = c["version"];
    for field in FIELDS_29_0 {
        assert_eq!(rust_offset(field), c[*field], "offset of {field}");
    }
    if version >= 2901 {
        for field in FIELDS_29_1 {
            assert_eq!(rust_offset(field), c[*field], "offset of {field}");
        }
        assert!(
            c["sizeof"] >= size_of::<ObsServiceInfo>(),
            "headers' struct is smaller than ours"
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
