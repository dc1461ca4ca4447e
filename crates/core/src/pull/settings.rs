//! The `zego_rtmp_pull` source's settings, and the ZEGOCLOUD config they make.
//!
//! The keys are those of the push service (`stream_id`, `app_id`, `server_secret`, `is_test`,
//! `endpoint`, `client_ip`), validated by the same code ([`ZegoConfig::from_settings`]), plus
//! `use_service_credentials`: take the AppID, ServerSecret, environment and endpoint from the
//! plugin's ZEGOCLOUD streaming service, so the secret is entered once.

use crate::config::fields::{self, Default as FieldDefault, Field, Widget};
use crate::config::zego::ZegoConfig;
use crate::messages::Message;
use serde_json::{Map, Value};

/// The settings key of the credentials switch.
pub const USE_SERVICE_CREDENTIALS: &str = "use_service_credentials";

/// The settings the streaming service provides when [`USE_SERVICE_CREDENTIALS`] is on.
pub const CREDENTIAL_KEYS: &[&str] = &["app_id", "server_secret", "is_test", "endpoint"];

/// The stream to play: the push service's key and rule, with a label that says "play".
const STREAM_ID: Field = Field {
    key: "stream_id",
    label: "Pull.StreamId",
    tooltip: Some("Pull.StreamId.Tooltip"),
    widget: Widget::Text,
    default: FieldDefault::None,
};

const USE_SERVICE: Field = Field {
    key: USE_SERVICE_CREDENTIALS,
    label: "Pull.UseServiceCredentials",
    tooltip: Some("Pull.UseServiceCredentials.Tooltip"),
    widget: Widget::Bool,
    default: FieldDefault::Bool(true),
};

/// The source's fields in the order its properties show them: the stream, the switch, then the
/// push service's own credential fields and `client_ip`.
pub fn fields() -> Vec<Field> {
    let zego = |key: &str| {
        *fields::ZEGO
            .iter()
            .find(|f| f.key == key)
            .unwrap_or_else(|| unreachable!("{key} is a field of zego_rtmp_dispatch"))
    };
    let mut out = vec![STREAM_ID, USE_SERVICE];
    out.extend(CREDENTIAL_KEYS.iter().map(|key| zego(key)));
    out.push(zego("client_ip"));
    out
}

/// Whether the source takes its credentials from the streaming service (`source` is its
/// settings as set, so a missing key is the default: on).
pub fn uses_service_credentials(source: &Value) -> bool {
    source
        .get(USE_SERVICE_CREDENTIALS)
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

/// The ZEGOCLOUD config of a source: `source` is the source's settings; `service` the settings
/// of OBS's streaming service when it is the plugin's `zego_rtmp_dispatch`. The error is the
/// text the source's properties show.
pub fn config(source: &Value, service: Option<&Value>) -> Result<ZegoConfig, Message> {
    let mut merged = Map::new();
    let credentials_from = if uses_service_credentials(source) {
        service.ok_or_else(|| Message::new("Pull.Error.NoService"))?
    } else {
        source
    };
    for key in CREDENTIAL_KEYS {
        if let Some(value) = credentials_from.get(*key) {
            merged.insert((*key).to_string(), value.clone());
        }
    }
    for key in ["stream_id", "client_ip"] {
        if let Some(value) = source.get(key) {
            merged.insert(key.to_string(), value.clone());
        }
    }
    ZegoConfig::from_settings(&Value::Object(merged)).map_err(|e| e.message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service() -> Value {
        json!({"app_id": 1234, "server_secret": "0123456789abcdef0123456789abcdef",
               "endpoint": "http://127.0.0.1:9", "stream_id": "pushed", "cdn_urls": [{"value": "x"}]})
    }

    #[test]
    fn credentials_come_from_the_service_by_default() {
        let config = config(&json!({"stream_id": "guest"}), Some(&service())).unwrap();
        assert_eq!(config.app_id, 1234);
        assert_eq!(
            config.stream_id, "guest",
            "the source's stream, not the pushed one"
        );
        assert!(
            config.cdn_urls.is_empty(),
            "the service's forwards are not the source's"
        );
        assert_eq!(
            super::config(&json!({"stream_id": "guest"}), None)
                .unwrap_err()
                .key,
            "Pull.Error.NoService"
        );
    }

    #[test]
    fn own_credentials_are_validated_like_the_push_service() {
        let own = json!({"stream_id": "guest", "use_service_credentials": false, "app_id": 7,
                         "server_secret": "s", "is_test": true});
        let config = config(&own, Some(&service())).unwrap();
        assert_eq!(config.app_id, 7);
        assert_eq!(config.stream_id, "zegotest-7-guest");
        let bad = json!({"stream_id": "a b", "use_service_credentials": false, "app_id": 7,
                         "server_secret": "s"});
        let err = super::config(&bad, None).unwrap_err();
        assert!(err.keys().contains(&"Zego.StreamId"), "{err}");
        let no_secret = json!({"stream_id": "g", "use_service_credentials": false, "app_id": 7});
        assert!(super::config(&no_secret, None)
            .unwrap_err()
            .keys()
            .contains(&"Zego.ServerSecret"));
    }

    #[test]
    fn fields_keep_the_push_service_keys() {
        let keys: Vec<_> = fields().iter().map(|f| f.key).collect();
        assert_eq!(
            keys,
            [
                "stream_id",
                "use_service_credentials",
                "app_id",
                "server_secret",
                "is_test",
                "endpoint",
                "client_ip"
            ]
        );
        assert_eq!(fields()[3].widget, Widget::Password);
    }
}
