//! Validated settings of the `rtc_platform_golive` service: where the platform's broker is,
//! and the streamer's personal token. No vendor secret is ever part of them.

use super::{endpoint::Endpoint, fields, ConfigError, Secret, SettingsReader};
use serde_json::Value;
use std::time::Duration;

/// Everything a go-live through the platform needs, checked before any request is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformConfig {
    /// The broker's base URL (HTTPS, or plain HTTP to a loopback host).
    pub url: Endpoint,
    /// The streamer's token, sent as `Authorization: Bearer`; never logged.
    pub token: Secret,
    /// Resolve the ingest ahead in the background so Start Streaming needs one quick call.
    pub prefetch: bool,
    /// A node resolved ahead is never handed out when older than this.
    pub node_max_age: Duration,
}

impl PlatformConfig {
    /// Reads and validates the service settings; the error names the first bad field.
    pub fn from_settings(settings: &Value) -> Result<Self, ConfigError> {
        let r = SettingsReader::new(settings, fields::PLATFORM);
        let url = Endpoint::parse(r.field("platform_url"), &r.string("platform_url"))?;
        let token = r.string("platform_token");
        let token_field = r.field("platform_token");
        if token.is_empty() {
            return Err(ConfigError::new(token_field, "Error.Config.Missing"));
        }
        // A header value cannot hold a line break or a control character, and a pasted token
        // with a space in it is a broken copy: say so before the broker does.
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::new(token_field, "Platform.Config.BadToken"));
        }
        let node_max_age = match r.int("node_max_age") {
            Ok(secs) if (60..=7200).contains(&secs) => Duration::from_secs(secs as u64),
            _ => {
                return Err(
                    ConfigError::new(r.field("node_max_age"), "Error.Config.Range")
                        .with("60")
                        .with("7200"),
                )
            }
        };
        Ok(PlatformConfig {
            url,
            token: Secret::new(token),
            prefetch: r.bool("prefetch"),
            node_max_age,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({"platform_url": "https://live.example.com/broker", "platform_token": "eyJ.TOKEN.sig"})
    }

    fn err_of(patch: Value) -> (&'static str, &'static str) {
        let mut v = valid();
        for (k, val) in patch.as_object().unwrap() {
            v[k] = val.clone();
        }
        let e = PlatformConfig::from_settings(&v).unwrap_err();
        (e.key, e.message.key)
    }

    #[test]
    fn valid_settings_with_defaults() {
        let c = PlatformConfig::from_settings(&valid()).unwrap();
        assert_eq!(
            c.url.join("/v1/golive").as_str(),
            "https://live.example.com/broker/v1/golive"
        );
        assert_eq!(c.token.expose(), "eyJ.TOKEN.sig");
        assert!(c.prefetch);
        assert_eq!(c.node_max_age, Duration::from_secs(600));
        assert!(!format!("{c:?}").contains("TOKEN"), "{c:?}");
    }

    #[test]
    fn plain_http_only_for_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://[::1]:1",
            "http://localhost:9",
        ] {
            let mut v = valid();
            v["platform_url"] = json!(ok);
            assert!(PlatformConfig::from_settings(&v).is_ok(), "{ok}");
        }
        assert_eq!(
            err_of(json!({"platform_url": "http://live.example.com"})),
            ("platform_url", "Error.Config.EndpointScheme")
        );
        assert_eq!(
            err_of(json!({"platform_url": "http://10.1.2.3"})),
            ("platform_url", "Error.Config.EndpointScheme")
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        assert_eq!(
            err_of(json!({"platform_url": ""})),
            ("platform_url", "Error.Config.Missing")
        );
        assert_eq!(
            err_of(json!({"platform_token": "  "})),
            ("platform_token", "Error.Config.Missing")
        );
        assert_eq!(
            err_of(json!({"platform_token": "half a token"})),
            ("platform_token", "Platform.Config.BadToken")
        );
        assert_eq!(
            err_of(json!({"node_max_age": 10})),
            ("node_max_age", "Error.Config.Range")
        );
    }

    #[test]
    fn a_config_error_never_shows_the_token() {
        let v = json!({"platform_url": "ftp://x", "platform_token": "SECRETTOKEN"});
        let e = PlatformConfig::from_settings(&v).unwrap_err();
        assert!(!format!("{e:?} {e}").contains("SECRETTOKEN"));
    }
}
