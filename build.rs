//! Links the OBS frontend API (Tools menu, streaming control), which obs-sys does not link.
//!
//! For Windows there is no OBS SDK to link against: the import libraries of `obs.dll` and
//! `obs-frontend-api.dll` are made here by MinGW's dlltool from the `.def` files in
//! `build-scripts/windows/`, which list what OBS 29.0 exports. A function missing from them
//! fails the link, so the DLL never imports what an older OBS lacks (it would not load at all).

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rustc-link-lib=dylib=obs-frontend-api");
    println!("cargo:rerun-if-changed=build.rs");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("windows") {
        import_libraries();
    }
}

fn import_libraries() {
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-env-changed=DLLTOOL");
    let dlltool = env::var("DLLTOOL").unwrap_or_else(|_| "x86_64-w64-mingw32-dlltool".into());
    for dll in ["obs", "obs-frontend-api"] {
        let def = format!("build-scripts/windows/{dll}.def");
        println!("cargo:rerun-if-changed={def}");
        let library = out.join(format!("lib{dll}.dll.a"));
        let status = Command::new(&dlltool)
            .args(["-d", &def, "-D", &format!("{dll}.dll"), "-l"])
            .arg(&library)
            .status()
            .unwrap_or_else(|e| panic!("cannot run {dlltool} (MinGW-w64's binutils): {e}"));
        assert!(status.success(), "{dlltool} failed on {def}");
    }
    println!("cargo:rustc-link-search=native={}", out.display());
}
