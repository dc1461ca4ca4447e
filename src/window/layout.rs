//! The window's widgets: built once per properties request, and the parts that change while
//! it is open.

use super::super::libobs::properties::{InfoKind, Properties, PropertiesView};
use super::super::locale::ObsLocale;
use super::super::settings::add_field;
use super::super::streaming_service;
use super::state::{state, Tone, WindowState};
use super::values::{group_key, group_label, is_main, prefix, KEY_PROVIDER};
use obs_wrapper::obs_sys::{obs_property_clicked_t, obs_property_modified_t};
use rtc_golive_core::config::ServiceKind;
use rtc_golive_core::messages::Message;

const KEY_STATUS: &str = "status";
const KEY_RESULT: &str = "result";
const KEY_TEST: &str = "test";
const KEY_APPLY: &str = "apply";
const KEY_ADVANCED: &str = "group.advanced";

/// The callbacks the widgets call.
pub struct Callbacks {
    /// The provider list changed.
    pub provider_modified: obs_property_modified_t,
    /// Test connection was clicked.
    pub test_clicked: obs_property_clicked_t,
    /// Apply was clicked.
    pub apply_clicked: obs_property_clicked_t,
}

fn tr(key: &'static str) -> String {
    Message::new(key).render(&ObsLocale)
}

/// The window's properties, showing the window's state.
pub fn build(callbacks: &Callbacks) -> Properties {
    let props = Properties::default();
    let view = props.view();
    view.add_info(KEY_STATUS);

    if let Some(provider) = view.add_list(KEY_PROVIDER, &tr("Ui.Provider"), false) {
        for &kind in ServiceKind::ALL {
            provider.add_choice(&tr(kind.name_key()), kind.id());
        }
        provider.set_modified_callback(callbacks.provider_modified);
    }

    for &kind in ServiceKind::ALL {
        let group = Properties::default();
        for field in kind.fields().iter().filter(|f| is_main(kind, f)) {
            add_field(group.view(), field, prefix(kind));
        }
        view.add_group(group_key(kind), &tr(group_label(kind)), group);
    }

    view.add_button(KEY_TEST, &tr("Ui.Test"), callbacks.test_clicked);
    view.add_button(KEY_APPLY, &tr("Ui.Apply"), callbacks.apply_clicked);
    view.add_info(KEY_RESULT);

    let advanced = Properties::default();
    for &kind in ServiceKind::ALL {
        for field in kind.fields().iter().filter(|f| !is_main(kind, f)) {
            add_field(advanced.view(), field, prefix(kind));
        }
    }
    view.add_group(KEY_ADVANCED, &tr("Ui.Group.Advanced"), advanced);

    show_dynamic(view, &state());
    props
}

/// Sets the texts that change while the window is open: the streaming service and the last
/// outcome; Test connection is disabled while a test runs.
pub fn show_dynamic(props: PropertiesView<'_>, state: &WindowState) {
    if let Some(status) = props.get(KEY_STATUS) {
        status.set_description(&status_message().render(&ObsLocale));
    }
    if let Some(result) = props.get(KEY_RESULT) {
        match state.result_line() {
            Some((message, tone)) => {
                result.set_description(&message.render(&ObsLocale));
                result.set_info_kind(match tone {
                    Tone::Normal => InfoKind::Normal,
                    Tone::Warning => InfoKind::Warning,
                    Tone::Error => InfoKind::Error,
                });
                result.set_visible(true);
            }
            None => result.set_visible(false),
        }
    }
    if let Some(test) = props.get(KEY_TEST) {
        test.set_enabled(state.testing.is_none());
    }
}

fn status_message() -> Message {
    let current = streaming_service::current().map_or_else(
        || "-".to_string(),
        |(id, _)| streaming_service::type_name(&id),
    );
    Message::new("Ui.Status").text(current)
}

/// Shows only `chosen`'s fields.
pub fn show_provider(props: PropertiesView<'_>, chosen: ServiceKind) {
    for &kind in ServiceKind::ALL {
        let visible = kind == chosen;
        if let Some(group) = props.get(group_key(kind)) {
            group.set_visible(visible);
        }
        for field in kind.fields().iter().filter(|f| !is_main(kind, f)) {
            if let Some(property) = props.get(&format!("{}{}", prefix(kind), field.key)) {
                property.set_visible(visible);
            }
        }
    }
}
