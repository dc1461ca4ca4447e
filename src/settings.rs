//! The core's field tables as OBS settings defaults and properties.

use super::libobs::data::DataView;
use super::libobs::properties::{Properties, PropertiesView, Property, TextKind};
use super::locale::ObsLocale;
use rtc_golive_core::config::fields::{Default as FieldDefault, Field, Widget};
use rtc_golive_core::messages::Message;

fn translated(key: &'static str) -> String {
    Message::new(key).render(&ObsLocale)
}

/// OBS properties for `fields`, labelled in the user's language.
pub fn properties(fields: &[Field]) -> Properties {
    let props = Properties::default();
    for field in fields {
        add_field(props.view(), field, "");
    }
    props
}

/// Adds one field to `props` under the settings key `prefix` + `field.key` (an empty prefix
/// gives the service's own key), labelled in the user's language; returns the new property
/// (none when libobs refused it, e.g. a duplicate name).
pub fn add_field<'a>(
    props: PropertiesView<'a>,
    field: &Field,
    prefix: &str,
) -> Option<Property<'a>> {
    let key = format!("{prefix}{}", field.key);
    let label = translated(field.label);
    let prop = match field.widget {
        Widget::Int { min, max } => props.add_int(&key, &label, min, max),
        Widget::Text => props.add_text(&key, &label, TextKind::Plain),
        Widget::Password => props.add_text(&key, &label, TextKind::Password),
        Widget::Bool => props.add_bool(&key, &label),
        Widget::EditableList => props.add_string_list(&key, &label),
        Widget::EditableChoice(choices) => props.add_list(&key, &label, true).inspect(|list| {
            for choice in choices {
                list.add_choice(choice, choice);
            }
        }),
        Widget::Choice(choices) => props.add_list(&key, &label, false).inspect(|list| {
            for (choice_label, value) in choices {
                list.add_choice(&translated(choice_label), value);
            }
        }),
    };
    if let (Some(tooltip), Some(prop)) = (field.tooltip, prop) {
        prop.set_long_description(&translated(tooltip));
    }
    prop
}

/// Writes each field's default into `settings` under `prefix` + its key (see [`add_field`]).
pub fn set_defaults(settings: DataView<'_>, fields: &[Field], prefix: &str) {
    for field in fields {
        let key = format!("{prefix}{}", field.key);
        match field.default {
            FieldDefault::None => {}
            FieldDefault::Text(t) => settings.set_default_string(&key, t),
            FieldDefault::Int(i) => settings.set_default_int(&key, i),
            FieldDefault::Bool(b) => settings.set_default_bool(&key, b),
        }
    }
}
