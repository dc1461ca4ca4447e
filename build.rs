//! Links the OBS frontend API (Tools menu, streaming control), which obs-sys does not link.

fn main() {
    println!("cargo:rustc-link-lib=dylib=obs-frontend-api");
}
