//! OBS settings -> typed, validated configuration.
//!
//! Settings arrive as the JSON object OBS keeps for a service (`obs_data`). The field tables in
//! [`fields`] are the single source of each key, its label and its default: the OBS layer builds
//! the properties and defaults from them, and the readers here apply the same defaults.

pub mod aliyun;
pub mod endpoint;
pub mod fields;
pub mod platform;
mod provider;
mod service_kind;
pub mod zego;

pub use provider::{ProviderConfig, ServiceSettings};
pub use service_kind::ServiceKind;

use crate::messages::Message;
use fields::{Default as FieldDefault, Field};
use serde_json::Value;

/// A secret setting (ServerSecret, AccessKeySecret). Its `Debug` never shows the value, so a
/// config can be logged or put in an error without leaking it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for signing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A setting that cannot be used, with the field it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The settings key (`stream_id`, ...).
    pub key: &'static str,
    /// What is wrong, as a message whose first argument is the field's label.
    pub message: Message,
}

/// The settings key and the problem, in the untranslated form of [`Message`].
impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// An error for `field` with the locale key `problem` (whose `%1` is the field's label).
    pub fn new(field: &Field, problem: &'static str) -> Self {
        ConfigError {
            key: field.key,
            message: Message::new(problem).key_arg(field.label),
        }
    }

    /// Adds a literal argument (`%2`, `%3`, ...) to the message.
    pub fn with(mut self, value: impl Into<String>) -> Self {
        self.message = self.message.text(value);
        self
    }
}

/// Reads typed values from a settings object, falling back to each field's declared default.
pub struct SettingsReader<'a> {
    settings: &'a Value,
    fields: &'static [Field],
}

impl<'a> SettingsReader<'a> {
    /// A reader over `settings` for a service whose fields are `fields`.
    pub fn new(settings: &'a Value, fields: &'static [Field]) -> Self {
        SettingsReader { settings, fields }
    }

    /// The field description for `key`. Keys are compile-time constants of this crate, so an
    /// unknown key is a programming error caught by every test that reads settings.
    pub fn field(&self, key: &str) -> &'static Field {
        self.fields
            .iter()
            .find(|f| f.key == key)
            .unwrap_or_else(|| panic!("no settings field named {key}"))
    }

    /// A string setting, trimmed; a number is accepted as its decimal text (scripts send both).
    pub fn string(&self, key: &str) -> String {
        match self.settings.get(key) {
            Some(Value::String(s)) => s.trim().to_string(),
            Some(Value::Number(n)) => n.to_string(),
            _ => match self.field(key).default {
                FieldDefault::Text(t) => t.to_string(),
                _ => String::new(),
            },
        }
    }

    /// An integer setting; a string of digits is accepted too. `Err` holds the raw text when it
    /// is not an integer.
    pub fn int(&self, key: &str) -> Result<i64, String> {
        match self.settings.get(key) {
            Some(Value::Number(n)) => n.as_i64().ok_or_else(|| n.to_string()),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(self.int_default(key)),
            Some(Value::String(s)) => s.trim().parse().map_err(|_| s.clone()),
            Some(Value::Null) | None => Ok(self.int_default(key)),
            Some(other) => Err(other.to_string()),
        }
    }

    fn int_default(&self, key: &str) -> i64 {
        match self.field(key).default {
            FieldDefault::Int(i) => i,
            _ => 0,
        }
    }

    /// A boolean setting; `"true"`/`"false"` strings are accepted too.
    pub fn bool(&self, key: &str) -> bool {
        match self.settings.get(key) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
            Some(Value::Number(n)) => n.as_i64().is_some_and(|i| i != 0),
            _ => matches!(self.field(key).default, FieldDefault::Bool(true)),
        }
    }
}

impl SettingsReader<'_> {
    /// The `value` strings of an OBS editable list (an array of `{"value": ...}` objects),
    /// trimmed, empty entries dropped. A plain array of strings is accepted too (scripts).
    pub fn list(&self, key: &str) -> Vec<String> {
        let Some(Value::Array(items)) = self.settings.get(key) else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|item| match item {
                Value::String(s) => Some(s.trim().to_string()),
                Value::Object(o) => o
                    .get("value")
                    .and_then(Value::as_str)
                    .map(|s| s.trim().to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
            .collect()
    }
}

/// Checks an identifier the vendors restrict to 1..=`max` characters of `[A-Za-z0-9_-]`.
pub fn check_identifier(field: &Field, value: &str, max: usize) -> Result<(), ConfigError> {
    if value.is_empty() {
        return Err(ConfigError::new(field, "Error.Config.Missing"));
    }
    if value.chars().count() > max {
        return Err(ConfigError::new(field, "Error.Config.TooLong").with(max.to_string()));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(ConfigError::new(field, "Error.Config.BadChars"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_debug_hides_value() {
        let s = Secret::new("topsecret");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(s.expose(), "topsecret");
    }

    #[test]
    fn reader_applies_defaults_and_accepts_script_types() {
        let v = json!({"app_id": "123", "is_test": "true", "stream_id": "  abc  ",
                       "cdn_urls": [{"value": " rtmp://a/b "}, {"value": ""}, "rtmp://c/d", 5]});
        let r = SettingsReader::new(&v, fields::ZEGO);
        assert_eq!(r.int("app_id"), Ok(123));
        assert!(r.bool("is_test"));
        assert_eq!(r.string("stream_id"), "abc");
        assert_eq!(r.string("endpoint"), fields::ZEGO_DEFAULT_ENDPOINT);
        assert_eq!(r.list("cdn_urls"), vec!["rtmp://a/b", "rtmp://c/d"]);
        let bad = json!({"app_id": "12x"});
        assert_eq!(
            SettingsReader::new(&bad, fields::ZEGO).int("app_id"),
            Err("12x".into())
        );
    }

    #[test]
    fn identifier_rules() {
        let f = SettingsReader::new(&Value::Null, fields::ZEGO).field("stream_id");
        assert!(check_identifier(f, "a-Z_09", 256).is_ok());
        assert_eq!(
            check_identifier(f, "", 256).unwrap_err().message.key,
            "Error.Config.Missing"
        );
        assert_eq!(
            check_identifier(f, &"a".repeat(257), 256)
                .unwrap_err()
                .message
                .key,
            "Error.Config.TooLong"
        );
        assert_eq!(
            check_identifier(f, "a b", 256).unwrap_err().message.key,
            "Error.Config.BadChars"
        );
        assert_eq!(
            check_identifier(f, "流", 256).unwrap_err().message.key,
            "Error.Config.BadChars"
        );
    }
}
