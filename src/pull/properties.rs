//! The pull source's properties: what it is doing, the stream, and the credentials (hidden
//! while they come from the streaming service).

use crate::libobs::data::DataView;
use crate::libobs::properties::{InfoKind, Properties, PropertiesView};
use crate::libobs::service::Service;
use crate::locale::ObsLocale;
use crate::settings::{add_field, set_defaults as set_field_defaults};
use obs_wrapper::obs_sys::obs_property_modified_t;
use rtc_golive_core::config::ServiceKind;
use rtc_golive_core::messages::Message;
use rtc_golive_core::pull::settings::{
    fields, uses_service_credentials, CREDENTIAL_KEYS, USE_SERVICE_CREDENTIALS,
};
use serde_json::Value;

/// The info text's key (it stores nothing).
const KEY_STATUS: &str = "pull_status";

/// The properties: the status (when there is an instance), then the fields.
pub fn build(
    status: Option<(String, InfoKind)>,
    credentials_modified: obs_property_modified_t,
) -> Properties {
    let props = Properties::default();
    let view = props.view();
    if let Some((text, kind)) = status {
        if let Some(info) = view.add_info(KEY_STATUS) {
            info.set_description(&text);
            info.set_info_kind(kind);
        }
    }
    for field in fields() {
        let prop = add_field(view, &field, "");
        if field.key == USE_SERVICE_CREDENTIALS {
            if let Some(prop) = prop {
                prop.set_modified_callback(credentials_modified);
                // With the platform's service there is no AppID or secret to take: the
                // switch means the platform's token, and says so.
                if streaming_service_is_platform() {
                    prop.set_description(&text("Pull.UseServiceCredentials.Platform"));
                    prop.set_long_description(&text("Pull.UseServiceCredentials.Platform.Tooltip"));
                }
            }
        }
    }
    props
}

/// Whether OBS's streaming service is the plugin's `rtc_platform_golive`.
fn streaming_service_is_platform() -> bool {
    Service::streaming()
        .and_then(|service| service.type_id())
        .is_some_and(|id| id == ServiceKind::RtcPlatformGolive.id())
}

fn text(key: &'static str) -> String {
    Message::new(key).render(&ObsLocale)
}

/// Shows the credential fields only when the source has its own.
pub fn show_credentials(props: PropertiesView<'_>, settings: &Value) {
    let own = !uses_service_credentials(settings);
    for key in CREDENTIAL_KEYS {
        if let Some(prop) = props.get(key) {
            prop.set_visible(own);
        }
    }
}

/// The fields' defaults.
pub fn set_defaults(settings: DataView<'_>) {
    set_field_defaults(settings, &fields(), "");
}
