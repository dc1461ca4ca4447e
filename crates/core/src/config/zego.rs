//! Validated settings of the `zego_rtmp_dispatch` service.

use super::{check_identifier, endpoint::Endpoint, fields, ConfigError, Secret, SettingsReader};
use crate::rtmp_target::{redacted_url, RtmpTarget};
use serde_json::Value;
use std::net::Ipv4Addr;
use std::time::Duration;

/// ZEGOCLOUD limits a StreamId to 256 characters.
pub const STREAM_ID_MAX: usize = 256;

/// Everything a ZEGOCLOUD go-live needs, checked before any request is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZegoConfig {
    /// The project's AppId.
    pub app_id: u32,
    /// The project's ServerSecret.
    pub server_secret: Secret,
    /// The StreamId to publish, already carrying the `zegotest-<AppId>-` prefix in test mode.
    pub stream_id: String,
    /// Whether to address ZEGOCLOUD's test environment (`IsTest=true`).
    pub is_test: bool,
    /// The API host.
    pub endpoint: Endpoint,
    /// The streamer's public IPv4 address, for node selection, when known.
    pub client_ip: Option<Ipv4Addr>,
    /// CDN URLs ZEGOCLOUD forwards the stream to while it is live. They usually embed a CDN
    /// stream key: log them only through [`redacted_url`].
    pub cdn_urls: Vec<String>,
    /// Whether go-live fails when a forward cannot be created.
    pub cdn_required: bool,
    /// Resolve nodes ahead in the background so Start Streaming needs no API call.
    pub prefetch: bool,
    /// A node resolved ahead is never handed out when older than this.
    pub node_max_age: Duration,
}

impl ZegoConfig {
    /// Reads and validates the service settings; the error names the first bad field.
    pub fn from_settings(settings: &Value) -> Result<Self, ConfigError> {
        let r = SettingsReader::new(settings, fields::ZEGO);

        let app_id_field = r.field("app_id");
        let app_id = match r.int("app_id") {
            Ok(0) => return Err(ConfigError::new(app_id_field, "Error.Config.Missing")),
            Ok(n) => u32::try_from(n)
                .map_err(|_| ConfigError::new(app_id_field, "Error.Config.NotPositive"))?,
            Err(_) => return Err(ConfigError::new(app_id_field, "Error.Config.NotPositive")),
        };

        let secret = r.string("server_secret");
        if secret.is_empty() {
            return Err(ConfigError::new(
                r.field("server_secret"),
                "Error.Config.Missing",
            ));
        }

        let is_test = r.bool("is_test");
        let raw_stream_id = r.string("stream_id");
        let stream_id = if is_test {
            let prefix = test_prefix(app_id);
            if raw_stream_id.starts_with(&prefix) || raw_stream_id.is_empty() {
                raw_stream_id
            } else {
                format!("{prefix}{raw_stream_id}")
            }
        } else {
            raw_stream_id
        };
        check_identifier(r.field("stream_id"), &stream_id, STREAM_ID_MAX)?;

        let endpoint = Endpoint::parse(r.field("endpoint"), &r.string("endpoint"))?;

        let raw_ip = r.string("client_ip");
        let client_ip = if raw_ip.is_empty() {
            None
        } else {
            Some(
                raw_ip
                    .parse::<Ipv4Addr>()
                    .map_err(|_| ConfigError::new(r.field("client_ip"), "Error.Config.NotIpv4"))?,
            )
        };

        let cdn_urls = r.list("cdn_urls");
        for (index, url) in cdn_urls.iter().enumerate() {
            if RtmpTarget::split(url).is_err() {
                return Err(ConfigError::new(r.field("cdn_urls"), "Error.Config.CdnUrl")
                    .with((index + 1).to_string())
                    .with(redacted_url(url)));
            }
        }

        Ok(ZegoConfig {
            app_id,
            server_secret: Secret::new(secret),
            stream_id,
            is_test,
            endpoint,
            client_ip,
            cdn_urls,
            cdn_required: r.bool("cdn_required"),
            prefetch: r.bool("prefetch"),
            node_max_age: match r.int("node_max_age") {
                Ok(secs) if (60..=7200).contains(&secs) => Duration::from_secs(secs as u64),
                _ => {
                    return Err(
                        ConfigError::new(r.field("node_max_age"), "Error.Config.Range")
                            .with("60")
                            .with("7200"),
                    )
                }
            },
        })
    }
}

/// The StreamId prefix ZEGOCLOUD's test environment requires.
pub fn test_prefix(app_id: u32) -> String {
    format!("zegotest-{app_id}-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({"app_id": 1234567, "server_secret": "s3cr3t", "stream_id": "obs_main-1"})
    }

    fn err_of(mut patch: Value) -> (&'static str, &'static str) {
        let mut v = valid();
        v.as_object_mut()
            .unwrap()
            .append(patch.as_object_mut().unwrap());
        let e = ZegoConfig::from_settings(&v).unwrap_err();
        (e.key, e.message.key)
    }

    #[test]
    fn valid_settings_with_defaults() {
        let c = ZegoConfig::from_settings(&valid()).unwrap();
        assert_eq!(c.app_id, 1234567);
        assert_eq!(c.stream_id, "obs_main-1");
        assert!(!c.is_test);
        assert_eq!(c.endpoint.root().as_str(), "https://rtc-api.zego.im/");
        assert_eq!(c.client_ip, None);
        assert!(c.prefetch);
        assert_eq!(c.node_max_age, Duration::from_secs(600));
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }

    #[test]
    fn test_mode_prefixes_once() {
        let mut v = valid();
        v["is_test"] = json!(true);
        assert_eq!(
            ZegoConfig::from_settings(&v).unwrap().stream_id,
            "zegotest-1234567-obs_main-1"
        );
        v["stream_id"] = json!("zegotest-1234567-x");
        assert_eq!(
            ZegoConfig::from_settings(&v).unwrap().stream_id,
            "zegotest-1234567-x"
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        assert_eq!(
            err_of(json!({"app_id": 0})),
            ("app_id", "Error.Config.Missing")
        );
        assert_eq!(
            err_of(json!({"app_id": -5})),
            ("app_id", "Error.Config.NotPositive")
        );
        assert_eq!(
            err_of(json!({"app_id": 5_000_000_000i64})),
            ("app_id", "Error.Config.NotPositive")
        );
        assert_eq!(
            err_of(json!({"app_id": "abc"})),
            ("app_id", "Error.Config.NotPositive")
        );
        assert_eq!(
            err_of(json!({"server_secret": ""})),
            ("server_secret", "Error.Config.Missing")
        );
        assert_eq!(
            err_of(json!({"stream_id": ""})),
            ("stream_id", "Error.Config.Missing")
        );
        assert_eq!(
            err_of(json!({"stream_id": "a/b"})),
            ("stream_id", "Error.Config.BadChars")
        );
        assert_eq!(
            err_of(json!({"stream_id": "x".repeat(257)})),
            ("stream_id", "Error.Config.TooLong")
        );
        assert_eq!(
            err_of(json!({"client_ip": "::1"})),
            ("client_ip", "Error.Config.NotIpv4")
        );
        assert_eq!(
            err_of(json!({"client_ip": "1.2.3"})),
            ("client_ip", "Error.Config.NotIpv4")
        );
        assert_eq!(
            err_of(json!({"endpoint": "http://example.com"})),
            ("endpoint", "Error.Config.EndpointScheme")
        );
        assert_eq!(
            err_of(json!({"node_max_age": 30})),
            ("node_max_age", "Error.Config.Range")
        );
    }

    #[test]
    fn test_prefix_counts_toward_the_length_limit() {
        let mut v = valid();
        v["is_test"] = json!(true);
        v["stream_id"] = json!("x".repeat(250));
        assert_eq!(
            ZegoConfig::from_settings(&v).unwrap_err().message.key,
            "Error.Config.TooLong"
        );
    }

    #[test]
    fn cdn_urls_are_checked_and_named_without_their_keys() {
        let mut v = valid();
        v["cdn_urls"] = json!([{"value": "rtmp://cdn.example.com/live/KEY1"}, {"value": "rtmps://x.example/app/k"}]);
        let c = ZegoConfig::from_settings(&v).unwrap();
        assert_eq!(c.cdn_urls.len(), 2);
        assert!(!c.cdn_required);
        v["cdn_urls"] = json!([{"value": "rtmp://ok.example/live/a"}, {"value": "http://bad.example/live/SECRETKEY"}]);
        let e = ZegoConfig::from_settings(&v).unwrap_err();
        assert_eq!((e.key, e.message.key), ("cdn_urls", "Error.Config.CdnUrl"));
        let text = format!("{:?}", e.message);
        assert!(
            text.contains("\"2\"") && text.contains("bad.example") && !text.contains("SECRETKEY"),
            "{text}"
        );
    }

    #[test]
    fn client_ip_accepted() {
        let mut v = valid();
        v["client_ip"] = json!("119.23.242.129");
        assert_eq!(
            ZegoConfig::from_settings(&v).unwrap().client_ip,
            Some(Ipv4Addr::new(119, 23, 242, 129))
        );
    }
}
