//! A service's settings, parsed once (when OBS hands them over) into the typed config of its
//! provider, or the error that refuses every start until they change.

use super::aliyun::AliyunConfig;
use super::platform::PlatformConfig;
use super::service_kind::ServiceKind;
use super::zego::ZegoConfig;
use super::ConfigError;
use serde_json::Value;

/// The validated configuration of one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderConfig {
    /// A ZEGOCLOUD service.
    Zego(ZegoConfig),
    /// An Alibaba Cloud ARTC service.
    Aliyun(AliyunConfig),
    /// A go-live through the platform's broker.
    Platform(PlatformConfig),
}

impl ProviderConfig {
    /// The service this configures.
    pub fn kind(&self) -> ServiceKind {
        match self {
            ProviderConfig::Zego(_) => ServiceKind::ZegoRtmpDispatch,
            ProviderConfig::Aliyun(_) => ServiceKind::AliyunArtcRtmp,
            ProviderConfig::Platform(_) => ServiceKind::RtcPlatformGolive,
        }
    }

    /// Whether the target is resolved ahead in the background.
    pub fn prefetch(&self) -> bool {
        match self {
            ProviderConfig::Zego(c) => c.prefetch,
            ProviderConfig::Aliyun(c) => c.prefetch,
            ProviderConfig::Platform(c) => c.prefetch,
        }
    }
}

/// The settings of a `kind` service as the core keeps them: parsed, or why they cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSettings {
    kind: ServiceKind,
    parsed: Result<ProviderConfig, ConfigError>,
}

impl ServiceSettings {
    /// Reads and validates OBS's settings object for a `kind` service.
    pub fn parse(kind: ServiceKind, settings: &Value) -> Self {
        let parsed = match kind {
            ServiceKind::ZegoRtmpDispatch => {
                ZegoConfig::from_settings(settings).map(ProviderConfig::Zego)
            }
            ServiceKind::AliyunArtcRtmp => {
                AliyunConfig::from_settings(settings).map(ProviderConfig::Aliyun)
            }
            ServiceKind::RtcPlatformGolive => {
                PlatformConfig::from_settings(settings).map(ProviderConfig::Platform)
            }
        };
        ServiceSettings { kind, parsed }
    }

    /// The service these settings are for.
    pub fn kind(&self) -> ServiceKind {
        self.kind
    }

    /// The config, or the first bad field.
    pub fn config(&self) -> Result<&ProviderConfig, &ConfigError> {
        self.parsed.as_ref()
    }

    /// The first bad field of `settings` for a `kind` service, found without any network call.
    pub fn config_error(kind: ServiceKind, settings: &Value) -> Option<ConfigError> {
        ServiceSettings::parse(kind, settings).parsed.err()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_to_the_provider_of_the_kind_or_names_the_field() {
        let zego = json!({"app_id": 1, "server_secret": "x", "stream_id": "s"});
        let parsed = ServiceSettings::parse(ServiceKind::ZegoRtmpDispatch, &zego);
        assert_eq!(
            parsed.config().unwrap().kind(),
            ServiceKind::ZegoRtmpDispatch
        );
        let bad = json!({"app_id": 1, "server_secret": "x", "stream_id": "bad id"});
        let refused = ServiceSettings::parse(ServiceKind::ZegoRtmpDispatch, &bad);
        assert_eq!(refused.config().unwrap_err().key, "stream_id");
        assert_eq!(refused.kind(), ServiceKind::ZegoRtmpDispatch);
    }

    #[test]
    fn no_secret_in_debug_or_in_a_config_error() {
        let zego = json!({"app_id": 1, "server_secret": "ZEGOSECRET", "stream_id": "s"});
        let aliyun = json!({"access_key_id": "LTAI5tTESTKEY123", "access_key_secret": "ALISECRET",
                            "app_id": "app-1", "channel_id": "room_9", "user_id": "obs-host"});
        let bad_aliyun = json!({"access_key_id": "LTAI5tTESTKEY123",
                                "access_key_secret": "ALISECRET", "app_id": "bad id"});
        let platform =
            json!({"platform_url": "http://127.0.0.1:1", "platform_token": "TOKENSECRET"});
        for (kind, settings) in [
            (ServiceKind::ZegoRtmpDispatch, zego),
            (ServiceKind::AliyunArtcRtmp, aliyun),
            (ServiceKind::AliyunArtcRtmp, bad_aliyun),
            (ServiceKind::RtcPlatformGolive, platform),
        ] {
            let parsed = ServiceSettings::parse(kind, &settings);
            let texts = [
                format!("{parsed:?}"),
                parsed
                    .config()
                    .err()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ];
            for text in texts {
                assert!(!text.contains("SECRET"), "{text}");
            }
        }
    }
}
