//! OBS's streaming service: reading it, naming its type, and replacing it with one of ours.

use super::libobs::data::{json_or_empty, Data};
use super::libobs::frontend::UiThread;
use super::libobs::service::{display_name, Service};
use rtc_golive_core::config::ServiceKind;
use serde_json::Value;

/// OBS names the service it loads from `service.json` this way; a service made here replaces it.
const SERVICE_NAME: &std::ffi::CStr = c"default_service";

/// OBS's streaming service now: its type id and settings (secrets included, never logged).
///
/// Any thread, to the extent the frontend allows (see [`Service::streaming`]).
pub fn current() -> Option<(String, Value)> {
    let service = Service::streaming()?;
    let settings = service.settings();
    let json = json_or_empty(settings.as_ref().map(Data::view));
    Some((service.type_id()?, json))
}

/// How the window's status line names a service type: ours by name, others as "Name (id)".
pub fn type_name(id: &str) -> String {
    let Some(name) = display_name(id) else {
        return id.to_string();
    };
    if ServiceKind::from_id(id).is_some() {
        name
    } else {
        format!("{name} ({id})")
    }
}

/// Why a service could not be made.
#[derive(Debug)]
pub struct CannotCreate;

/// Makes a `kind` service with `settings` OBS's streaming service and saves it to the profile.
pub fn replace(ui: UiThread, kind: ServiceKind, settings: &Value) -> Result<(), CannotCreate> {
    let data = Data::from_json(settings).ok_or(CannotCreate)?;
    let Some(service) = Service::create(kind.id(), SERVICE_NAME, &data) else {
        log::error!("settings window: cannot create a {} service", kind.id());
        return Err(CannotCreate);
    };
    service.make_streaming(ui);
    Ok(())
}
