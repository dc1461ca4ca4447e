//! Validated settings of the `aliyun_artc_rtmp` service.

use super::{check_identifier, endpoint::Endpoint, fields, ConfigError, Secret, SettingsReader};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// AppId, ChannelId and UserId are limited to 64 characters.
const ID_MAX: usize = 64;
/// DisplayName is limited to 40 characters (of any script).
const DISPLAY_NAME_MAX: usize = 40;

/// How requests are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureVersion {
    /// RPC signature, HMAC-SHA1 (`SignatureVersion=1.0`, which Alibaba calls "V2"), as the
    /// official Live SDKs sign.
    V2,
    /// ACS3-HMAC-SHA256.
    V3,
}

/// Everything an ARTC ingest-address request needs, checked before any request is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliyunConfig {
    /// The AccessKey ID (shown masked in logs).
    pub access_key_id: String,
    /// The AccessKey secret.
    pub access_key_secret: Secret,
    /// The API endpoint.
    pub endpoint: Endpoint,
    /// The ARTC application.
    pub app_id: String,
    /// The channel to join.
    pub channel_id: String,
    /// The RTMP user's id in the channel.
    pub user_id: String,
    /// The name other participants see.
    pub display_name: String,
    /// Validity of the ingest address, in seconds.
    pub expire_time: u32,
    /// Request signing scheme.
    pub signature_version: SignatureVersion,
    /// Create the ingest address ahead in the background so Start Streaming needs no API call.
    pub prefetch: bool,
    /// Poll DescribeChannelParticipants while live.
    pub presence_check: bool,
    /// Seconds between presence polls.
    pub presence_interval: u32,
    /// Restart the ingest with a fresh address when the user left the channel.
    pub presence_restart: bool,
}

impl AliyunConfig {
    /// Reads and validates the service settings; the error names the first bad field.
    pub fn from_settings(settings: &Value) -> Result<Self, ConfigError> {
        let r = SettingsReader::new(settings, fields::ALIYUN);
        let required = |key: &str| -> Result<String, ConfigError> {
            let value = r.string(key);
            if value.is_empty() {
                Err(ConfigError::new(r.field(key), "Error.Config.Missing"))
            } else {
                Ok(value)
            }
        };

        let access_key_id = required("access_key_id")?;
        let access_key_secret = Secret::new(required("access_key_secret")?);
        let endpoint = Endpoint::parse(r.field("endpoint"), &r.string("endpoint"))?;

        let mut ids = ["app_id", "channel_id", "user_id"].into_iter().map(|key| {
            let value = r.string(key);
            check_identifier(r.field(key), &value, ID_MAX).map(|()| value)
        });
        let (app_id, channel_id, user_id) = (
            ids.next().expect("three ids")?,
            ids.next().expect("three ids")?,
            ids.next().expect("three ids")?,
        );

        let display_name = required("display_name")?;
        if display_name.chars().count() > DISPLAY_NAME_MAX {
            return Err(
                ConfigError::new(r.field("display_name"), "Error.Config.TooLong")
                    .with(DISPLAY_NAME_MAX.to_string()),
            );
        }

        let expire_field = r.field("expire_time");
        let expire_time = match r.int("expire_time") {
            Ok(n) if n > 0 => u32::try_from(n)
                .map_err(|_| ConfigError::new(expire_field, "Error.Config.NotPositive"))?,
            _ => return Err(ConfigError::new(expire_field, "Error.Config.NotPositive")),
        };

        let signature_version = match r.string("signature_version").to_ascii_lowercase().as_str() {
            "v2" | "" => SignatureVersion::V2,
            "v3" => SignatureVersion::V3,
            other => {
                return Err(ConfigError::new(
                    r.field("signature_version"),
                    "Error.Config.BadChoice",
                )
                .with(other))
            }
        };

        Ok(AliyunConfig {
            access_key_id,
            access_key_secret,
            endpoint,
            app_id,
            channel_id,
            user_id,
            display_name,
            expire_time,
            signature_version,
            prefetch: r.bool("prefetch"),
            presence_check: r.bool("presence_check"),
            presence_interval: match r.int("presence_interval") {
                Ok(n) if (1..=3600).contains(&n) => n as u32,
                _ => {
                    return Err(ConfigError::new(
                        r.field("presence_interval"),
                        "Error.Config.NotPositive",
                    ))
                }
            },
            presence_restart: r.bool("presence_restart"),
        })
    }

    /// The AccessKey ID with all but its first and last 3 characters masked, for logs.
    pub fn masked_access_key_id(&self) -> String {
        mask(&self.access_key_id)
    }

    /// The address cache's key: a fingerprint of everything an ingest address depends on, so
    /// that any change means a new address.
    pub fn address_key(&self) -> String {
        fingerprint(&[
            self.endpoint.root().as_str(),
            &self.access_key_id,
            &self.app_id,
            &self.channel_id,
            &self.user_id,
            &self.display_name,
            &self.expire_time.to_string(),
        ])
    }
}

/// Hashed, so the address cache's file does not spell out the account's ids; each part's
/// length goes in first, so `["ab", "c"]` and `["a", "bc"]` differ.
fn fingerprint(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Masks an identifier for logs: `LTAI5tXXXXXXabc` -> `LTA*********abc`.
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let (head, tail) = (&chars[..3], &chars[chars.len() - 3..]);
    format!(
        "{}{}{}",
        head.iter().collect::<String>(),
        "*".repeat(chars.len() - 6),
        tail.iter().collect::<String>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fingerprint_separates_fields() {
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
        assert_eq!(fingerprint(&["a", "b"]), fingerprint(&["a", "b"]));
    }

    fn valid() -> Value {
        json!({"access_key_id": "LTAI5tTESTKEY123", "access_key_secret": "sekret",
               "app_id": "app-1", "channel_id": "room_9", "user_id": "obs-host",
               "display_name": "主播 Xiaoming 🎥"})
    }

    fn err_of(patch: Value) -> (&'static str, &'static str) {
        let mut v = valid();
        for (k, val) in patch.as_object().unwrap() {
            v[k] = val.clone();
        }
        let e = AliyunConfig::from_settings(&v).unwrap_err();
        (e.key, e.message.key)
    }

    #[test]
    fn valid_settings_with_defaults() {
        let c = AliyunConfig::from_settings(&valid()).unwrap();
        assert_eq!(c.endpoint.root().as_str(), "https://live.aliyuncs.com/");
        assert_eq!(c.expire_time, 36000);
        assert_eq!(c.signature_version, SignatureVersion::V2);
        assert!(c.presence_check);
        assert_eq!(c.presence_interval, 30);
        assert!(!c.presence_restart);
        assert!(!format!("{c:?}").contains("sekret"));
        assert_eq!(c.masked_access_key_id(), "LTA**********123");
    }

    #[test]
    fn each_bad_field_is_named() {
        assert_eq!(
            err_of(json!({"access_key_id": ""})),
            ("access_key_id", "Error.Config.Missing")
        );
        assert_eq!(
            err_of(json!({"access_key_secret": " "})),
            ("access_key_secret", "Error.Config.Missing")
        );
        assert_eq!(
            err_of(json!({"app_id": ""})),
            ("app_id", "Error.Config.Missing")
        );
        assert_eq!(
            err_of(json!({"channel_id": "a".repeat(65)})),
            ("channel_id", "Error.Config.TooLong")
        );
        assert_eq!(
            err_of(json!({"user_id": "a.b"})),
            ("user_id", "Error.Config.BadChars")
        );
        assert_eq!(
            err_of(json!({"display_name": ""})),
            ("display_name", "Error.Config.Missing")
        );
        assert_eq!(
            err_of(json!({"display_name": "名".repeat(41)})),
            ("display_name", "Error.Config.TooLong")
        );
        assert_eq!(
            err_of(json!({"expire_time": 0})),
            ("expire_time", "Error.Config.NotPositive")
        );
        assert_eq!(
            err_of(json!({"expire_time": -1})),
            ("expire_time", "Error.Config.NotPositive")
        );
        assert_eq!(
            err_of(json!({"signature_version": "v9"})),
            ("signature_version", "Error.Config.BadChoice")
        );
        assert_eq!(
            err_of(json!({"endpoint": "http://live.aliyuncs.com"})),
            ("endpoint", "Error.Config.EndpointScheme")
        );
    }

    #[test]
    fn forty_characters_of_any_script_are_fine() {
        let mut v = valid();
        v["display_name"] = json!("名".repeat(40));
        v["signature_version"] = json!("V3");
        let c = AliyunConfig::from_settings(&v).unwrap();
        assert_eq!(c.signature_version, SignatureVersion::V3);
    }

    #[test]
    fn masking() {
        assert_eq!(mask("short"), "*****");
        assert_eq!(mask("abcdefghij"), "abc****hij");
    }
}
