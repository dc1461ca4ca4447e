//! The `zego_rtmp_pull` source's settings, and the config they make ([`PullConfig`]).
//!
//! The keys are those of the push service (`stream_id`, `app_id`, `server_secret`, `is_test`,
//! `endpoint`, `client_ip`), validated by the same code ([`ZegoConfig::from_settings`]), plus
//! `use_service_credentials`: take the AppID, ServerSecret, environment and endpoint from the
//! plugin's ZEGOCLOUD streaming service, so the secret is entered once; or, when OBS's
//! streaming service is the platform's (`rtc_platform_golive`), its URL and token, so the
//! platform's broker plays the stream and no vendor secret is on the streamer's computer.

use crate::config::fields::{self, Default as FieldDefault, Field, Widget};
use crate::config::platform::PlatformConfig;
use crate::config::zego::{ZegoConfig, STREAM_ID_MAX};
use crate::config::{check_identifier, ServiceKind};
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

/// Where a source's playing nodes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullConfig {
    /// A signed `RTMPDispatchV2` with the source's (or the ZEGOCLOUD service's) credentials.
    Zego(ZegoConfig),
    /// `/v1/play` at the platform's broker, with the `rtc_platform_golive` service's token.
    Platform {
        /// The broker and the token.
        platform: PlatformConfig,
        /// The stream to play, as the token lists it.
        stream_id: String,
    },
}

impl PullConfig {
    /// The stream the source plays (for the log and the status texts).
    pub fn stream_id(&self) -> &str {
        match self {
            PullConfig::Zego(config) => &config.stream_id,
            PullConfig::Platform { stream_id, .. } => stream_id,
        }
    }
}

/// The config of a source: `source` is the source's settings; `service` the kind and settings
/// of OBS's streaming service when it is one of the plugin's. With
/// [`USE_SERVICE_CREDENTIALS`] on and the platform service, the broker plays the stream; else
/// the source dispatches itself. The error is the text the source's properties show.
pub fn config(
    source: &Value,
    service: Option<(ServiceKind, &Value)>,
) -> Result<PullConfig, Message> {
    if uses_service_credentials(source) {
        if let Some((ServiceKind::RtcPlatformGolive, platform)) = service {
            let platform = PlatformConfig::from_settings(platform).map_err(|e| e.message)?;
            let stream_id = source
                .get("stream_id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .trim()
                .to_string();
            check_identifier(&STREAM_ID, &stream_id, STREAM_ID_MAX).map_err(|e| e.message)?;
            return Ok(PullConfig::Platform {
                platform,
                stream_id,
            });
        }
    }
    let zego_service = match service {
        Some((ServiceKind::ZegoRtmpDispatch, settings)) => Some(settings),
        _ => None,
    };
    zego_config(source, zego_service).map(PullConfig::Zego)
}

/// The ZEGOCLOUD config of a source that dispatches itself; `service` is the settings of the
/// plugin's `zego_rtmp_dispatch` service when it is OBS's streaming service.
fn zego_config(source: &Value, service: Option<&Value>) -> Result<ZegoConfig, Message> {
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
        let config = zego_config(&json!({"stream_id": "guest"}), Some(&service())).unwrap();
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
        let config = zego_config(&own, Some(&service())).unwrap();
        assert_eq!(config.app_id, 7);
        assert_eq!(config.stream_id, "zegotest-7-guest");
        let bad = json!({"stream_id": "a b", "use_service_credentials": false, "app_id": 7,
                         "server_secret": "s"});
        let err = zego_config(&bad, None).unwrap_err();
        assert!(err.keys().contains(&"Zego.StreamId"), "{err}");
        let no_secret = json!({"stream_id": "g", "use_service_credentials": false, "app_id": 7});
        assert!(zego_config(&no_secret, None)
            .unwrap_err()
            .keys()
            .contains(&"Zego.ServerSecret"));
    }

    #[test]
    fn the_platform_service_plays_through_the_broker() {
        let platform = json!({"platform_url": "http://127.0.0.1:9", "platform_token": "t0k",
                              "node_max_age": 600});
        let source = json!({"stream_id": " guest "});
        let via = |s: &Value| config(s, Some((ServiceKind::RtcPlatformGolive, &platform)));
        match via(&source).unwrap() {
            PullConfig::Platform {
                platform,
                stream_id,
            } => {
                assert_eq!(stream_id, "guest");
                assert_eq!(platform.token.expose(), "t0k");
            }
            other => panic!("not the platform: {other:?}"),
        }
        assert!(via(&json!({"stream_id": "a b"}))
            .unwrap_err()
            .keys()
            .contains(&"Pull.StreamId"));
        let own = json!({"stream_id": "guest", "use_service_credentials": false, "app_id": 7,
                         "server_secret": "s"});
        assert!(matches!(via(&own).unwrap(), PullConfig::Zego(_)));
        let zego = config(&source, Some((ServiceKind::ZegoRtmpDispatch, &service()))).unwrap();
        assert_eq!(zego.stream_id(), "guest");
        let no_token = json!({"platform_url": "http://127.0.0.1:9"});
        let err = config(&source, Some((ServiceKind::RtcPlatformGolive, &no_token))).unwrap_err();
        assert!(err.keys().contains(&"Platform.Token"), "{err}");
        assert_eq!(
            config(&source, None).unwrap_err().key,
            "Pull.Error.NoService"
        );
        assert_eq!(
            config(&source, Some((ServiceKind::AliyunArtcRtmp, &platform)))
                .unwrap_err()
                .key,
            "Pull.Error.NoService"
        );
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
