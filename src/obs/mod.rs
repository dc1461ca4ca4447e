//! The OBS layer: the only code that touches libobs, and the only `unsafe` in the crate.
//!
//! Every callback is a thin adapter over the safe core and runs inside [`guard::guard`], so a
//! panic never unwinds into OBS.

pub mod ffi;
mod guard;
mod locale;
mod module;
mod service;
mod settings;

use crate::api_client::ApiClient;
use std::sync::Mutex;

/// The one HTTP client of the module, shared by every service instance (connection reuse),
/// created on first use and dropped at unload so its worker thread is joined while the
/// module's code is still loaded.
static HTTP: Mutex<Option<ApiClient>> = Mutex::new(None);

fn shared_http() -> Option<ApiClient> {
    let mut slot = HTTP.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if slot.is_none() {
        match ApiClient::with_defaults() {
            Ok(client) => *slot = Some(client),
            Err(e) => log::error!("cannot create the HTTP client: {e:?}"),
        }
    }
    slot.clone()
}

fn shutdown_http() {
    let client = HTTP
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take();
    drop(client);
}
