//! Which provider a service type is, and whether settings are complete enough for it: what the
//! settings window and the obs-websocket requests both ask, with no libobs.

use rtc_golive_core::config::aliyun::AliyunConfig;
use rtc_golive_core::config::zego::ZegoConfig;
use rtc_golive_core::config::ConfigError;
use rtc_golive_core::golive::ServiceKind;
use serde_json::Value;

/// The service of type `id`, if it is one of ours.
pub fn kind_of(id: &str) -> Option<ServiceKind> {
    ServiceKind::ALL.iter().copied().find(|k| k.id() == id)
}

/// The configuration error `settings` has for `kind`, checked without any network call.
pub fn config_error(kind: ServiceKind, settings: &Value) -> Option<ConfigError> {
    match kind {
        ServiceKind::ZegoRtmpDispatch => ZegoConfig::from_settings(settings).err(),
        ServiceKind::AliyunArtcRtmp => AliyunConfig::from_settings(settings).err(),
    }
}
