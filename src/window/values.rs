//! The window's settings and how they map to a service's: each provider's values under
//! `zego.` / `aliyun.` / `platform.` + the service's own key, so Apply copies them 1:1. Plain JSON, no libobs.

use rtc_golive_core::config::fields::Field;
use rtc_golive_core::config::ServiceKind;
use serde_json::{Map, Value};

/// The settings key of the chosen provider.
pub const KEY_PROVIDER: &str = "provider";

/// The settings prefix of `kind`'s values in the window.
pub fn prefix(kind: ServiceKind) -> &'static str {
    match kind {
        ServiceKind::ZegoRtmpDispatch => "zego.",
        ServiceKind::AliyunArtcRtmp => "aliyun.",
        ServiceKind::RtcPlatformGolive => "platform.",
    }
}

/// The group holding `kind`'s account fields.
pub fn group_key(kind: ServiceKind) -> &'static str {
    match kind {
        ServiceKind::ZegoRtmpDispatch => "group.zego",
        ServiceKind::AliyunArtcRtmp => "group.aliyun",
        ServiceKind::RtcPlatformGolive => "group.platform",
    }
}

/// The locale key of that group's label.
pub fn group_label(kind: ServiceKind) -> &'static str {
    match kind {
        ServiceKind::ZegoRtmpDispatch => "Ui.Group.Zego",
        ServiceKind::AliyunArtcRtmp => "Ui.Group.Aliyun",
        ServiceKind::RtcPlatformGolive => "Platform.Group",
    }
}

/// Whether a field belongs in the provider's main group; the rest go under Advanced.
pub fn is_main(kind: ServiceKind, field: &Field) -> bool {
    match kind {
        ServiceKind::ZegoRtmpDispatch => {
            matches!(field.key, "app_id" | "server_secret" | "stream_id")
        }
        ServiceKind::AliyunArtcRtmp => matches!(
            field.key,
            "access_key_id"
                | "access_key_secret"
                | "app_id"
                | "channel_id"
                | "user_id"
                | "display_name"
        ),
        ServiceKind::RtcPlatformGolive => matches!(field.key, "platform_url" | "platform_token"),
    }
}

/// The provider of type `id`, ZEGOCLOUD when the id is none of ours.
pub fn kind_or_default(id: &str) -> ServiceKind {
    ServiceKind::from_id(id).unwrap_or(ServiceKind::ZegoRtmpDispatch)
}

/// The provider chosen in the window's settings.
pub fn chosen_kind(window: &Value) -> ServiceKind {
    kind_or_default(
        window
            .get(KEY_PROVIDER)
            .and_then(Value::as_str)
            .unwrap_or_default(),
    )
}

/// `kind`'s service settings from the window's settings: its prefixed keys, prefix removed.
pub fn service_settings(window: &Value, kind: ServiceKind) -> Value {
    let mut out = Map::new();
    for field in kind.fields() {
        if let Some(value) = window.get(format!("{}{}", prefix(kind), field.key)) {
            out.insert(field.key.to_string(), value.clone());
        }
    }
    Value::Object(out)
}

/// The window's settings with `kind`'s values replaced by `service` (a service's settings) and
/// `kind` chosen; the other provider's values stay.
pub fn seeded(window: &Value, kind: ServiceKind, service: &Value) -> Value {
    let mut out: Map<String, Value> = window
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| !k.starts_with(prefix(kind)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    for field in kind.fields() {
        if let Some(value) = service.get(field.key) {
            out.insert(format!("{}{}", prefix(kind), field.key), value.clone());
        }
    }
    out.insert(
        KEY_PROVIDER.to_string(),
        Value::String(kind.id().to_string()),
    );
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_round_trip_between_window_and_service() {
        let service = json!({"app_id": 7, "server_secret": "s", "stream_id": "a", "endpoint": "http://127.0.0.1:1",
                             "unknown": 1});
        let window = json!({"provider": "aliyun_artc_rtmp", "zego.stream_id": "old", "zego.client_ip": "1.2.3.4",
                            "aliyun.app_id": "x"});
        let seeded = seeded(&window, ServiceKind::ZegoRtmpDispatch, &service);
        assert_eq!(seeded["provider"], "zego_rtmp_dispatch");
        assert_eq!(seeded["zego.stream_id"], "a");
        assert!(
            seeded.get("zego.client_ip").is_none(),
            "values of the old service are dropped"
        );
        assert!(seeded.get("zego.unknown").is_none());
        assert_eq!(seeded["aliyun.app_id"], "x");
        assert_eq!(chosen_kind(&seeded), ServiceKind::ZegoRtmpDispatch);
        let mut expected = service.clone();
        expected.as_object_mut().unwrap().remove("unknown");
        assert_eq!(
            service_settings(&seeded, ServiceKind::ZegoRtmpDispatch),
            expected
        );
        assert_eq!(
            service_settings(&seeded, ServiceKind::AliyunArtcRtmp),
            json!({"app_id": "x"})
        );
    }

    #[test]
    fn every_field_is_shown_once() {
        for &kind in ServiceKind::ALL {
            let main = kind.fields().iter().filter(|f| is_main(kind, f)).count();
            assert!(main >= 2 && main < kind.fields().len(), "{kind:?}");
        }
    }
}
