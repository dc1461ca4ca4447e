//! obs-rtc-golive: OBS Studio services that go live into real-time (RTC) rooms in one click.
//!
//! This crate is the plugin OBS loads, and only its OBS layer: the only code that touches
//! libobs, and the only `unsafe` in the project. What it does is in `rtc-golive-core`.
//!
//! [`libobs`] owns every libobs pointer and holds the `unsafe`; the rest is safe code over it,
//! apart from each callback's cast of the pointers OBS passes. Every callback only casts,
//! runs inside [`guard::guard`] (so a panic never unwinds into OBS) and forwards.

#![deny(clippy::undocumented_unsafe_blocks)]

// `guard` catches panics at every callback; with `panic = "abort"` it would catch nothing and
// a panic would take OBS down with the user's stream.
#[cfg(panic = "abort")]
compile_error!("obs-rtc-golive must be built with panic = \"unwind\": `guard` relies on it");

mod guard;
mod libobs;
mod locale;
mod module;
mod pull;
mod service;
mod settings;
mod streaming_service;
mod websocket;
mod window;

pub use libobs::ffi;

use rtc_golive_core::lock::LockRecovered;
use rtc_golive_core::shared::Shared;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

/// What the module's services share, created on first use and dropped at unload so the HTTP
/// client's worker thread is joined while the module's code is still loaded.
static SHARED: Mutex<Option<Shared>> = Mutex::new(None);

/// At unload, background work first gets this long to finish on its own: deleting CDN
/// forwards when OBS quits while live must complete.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// Then network calls still in flight are cancelled, and the tasks get this long to end; OBS
/// must still quit promptly.
const SHUTDOWN_CUT: Duration = Duration::from_secs(1);

fn shared() -> Option<Shared> {
    let mut slot = SHARED.lock_recovered();
    if slot.is_none() {
        match Shared::new(config_dir().as_deref()) {
            Ok(shared) => *slot = Some(shared.with_alerts(Arc::new(window::WindowAlerts))),
            Err(e) => log::error!("cannot create the HTTP client: {e}"),
        }
    }
    slot.clone()
}

/// One of the module's streaming services was created, changed or destroyed: pull sources
/// using the service's credentials read them again ([`Shared::service_changes`]). Never creates
/// the shared state: without it there is no pull session to tell.
fn service_changed() {
    if let Some(shared) = SHARED.lock_recovered().as_ref() {
        shared.service_changes.bump();
    }
}

/// Starts still resolving are given up and calls nobody needs are cut.
fn abandon_starts() {
    let shared = SHARED.lock_recovered().clone();
    if let Some(shared) = shared {
        shared.abandon();
    }
}

/// OBS began to quit (the frontend's scripting shutdown, before it clears its scenes): the
/// starts still waiting for the vendor are given up; their failures wait until OBS lets go of
/// their outputs (see [`service::quit`]).
fn quit_began() {
    service::quit::began();
    abandon_starts();
}

fn shutdown_shared() {
    let shared = SHARED.lock_recovered().take();
    if let Some(shared) = shared {
        shared.abandon();
        let http = shared.http.clone();
        let late = shared
            .background
            .shutdown(SHUTDOWN_GRACE, || http.cancel_all(), SHUTDOWN_CUT);
        if !late.is_empty() {
            log::warn!(
                "background tasks still running at unload: {}",
                late.join(", ")
            );
        }
    }
}

/// The plugin's own config directory (`.../plugin_config/obs-rtc-golive/`).
fn config_dir() -> Option<PathBuf> {
    let path = libobs::module::config_path("")?;
    if let Err(e) = std::fs::create_dir_all(&path) {
        log::warn!("cannot create {}: {e}", path.display());
        return None;
    }
    Some(path)
}
