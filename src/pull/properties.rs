//! The pull source's properties: what it is doing, the stream, and the credentials (hidden
//! while they come from the streaming service).

use crate::libobs::data::DataView;
use crate::libobs::properties::{InfoKind, Properties, PropertiesView};
use crate::settings::{add_field, set_defaults as set_field_defaults};
use obs_wrapper::obs_sys::obs_property_modified_t;
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
            }
        }
    }
    props
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
