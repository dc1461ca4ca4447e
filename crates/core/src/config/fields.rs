//! The settings each service exposes: key, label, widget and default.
//!
//! Keys are a public interface (profiles' `service.json` and obs-websocket scripts use them), so
//! they are spelled exactly as the issues name them and never renamed.

/// How OBS shows a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Widget {
    /// An integer spin box.
    Int {
        /// Smallest accepted value.
        min: i32,
        /// Largest accepted value.
        max: i32,
    },
    /// A one-line text field.
    Text,
    /// A password field (OBS adds its "Show" button).
    Password,
    /// A check box.
    Bool,
    /// A combo box with suggested values that also accepts typed text.
    EditableChoice(&'static [&'static str]),
    /// An editable list of strings (stored as an array of `{"value": ...}` objects).
    EditableList,
    /// A fixed list of `(label locale key, value)` choices.
    Choice(&'static [(&'static str, &'static str)]),
}

/// A field's default value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    /// No default (empty text, 0, false).
    None,
    /// Default text.
    Text(&'static str),
    /// Default integer.
    Int(i64),
    /// Default boolean.
    Bool(bool),
}

/// One setting of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The settings key.
    pub key: &'static str,
    /// Locale key of the label.
    pub label: &'static str,
    /// Locale key of the tooltip, if any.
    pub tooltip: Option<&'static str>,
    /// How OBS shows it.
    pub widget: Widget,
    /// Its default.
    pub default: Default,
}

/// ZEGOCLOUD's unified API host, which routes to the nearest region.
pub const ZEGO_DEFAULT_ENDPOINT: &str = "https://rtc-api.zego.im";

/// ZEGOCLOUD's API hosts offered in the endpoint field.
pub const ZEGO_ENDPOINTS: &[&str] = &[
    ZEGO_DEFAULT_ENDPOINT,
    "https://rtc-api-sha.zego.im",
    "https://rtc-api-hkg.zego.im",
    "https://rtc-api-fra.zego.im",
    "https://rtc-api-lax.zego.im",
    "https://rtc-api-bom.zego.im",
    "https://rtc-api-sgp.zego.im",
];

/// Settings of the `zego_rtmp_dispatch` service.
pub const ZEGO: &[Field] = &[
    Field {
        key: "app_id",
        label: "Zego.AppId",
        tooltip: Some("Zego.AppId.Tooltip"),
        widget: Widget::Int {
            min: 0,
            max: i32::MAX,
        },
        default: Default::None,
    },
    Field {
        key: "server_secret",
        label: "Zego.ServerSecret",
        tooltip: Some("Zego.ServerSecret.Tooltip"),
        widget: Widget::Password,
        default: Default::None,
    },
    Field {
        key: "stream_id",
        label: "Zego.StreamId",
        tooltip: Some("Zego.StreamId.Tooltip"),
        widget: Widget::Text,
        default: Default::None,
    },
    Field {
        key: "is_test",
        label: "Zego.IsTest",
        tooltip: Some("Zego.IsTest.Tooltip"),
        widget: Widget::Bool,
        default: Default::Bool(false),
    },
    Field {
        key: "endpoint",
        label: "Common.Endpoint",
        tooltip: Some("Zego.Endpoint.Tooltip"),
        widget: Widget::EditableChoice(ZEGO_ENDPOINTS),
        default: Default::Text(ZEGO_DEFAULT_ENDPOINT),
    },
    Field {
        key: "client_ip",
        label: "Zego.ClientIp",
        tooltip: Some("Zego.ClientIp.Tooltip"),
        widget: Widget::Text,
        default: Default::None,
    },
    Field {
        key: "prefetch",
        label: "Common.Prefetch",
        tooltip: Some("Zego.Prefetch.Tooltip"),
        widget: Widget::Bool,
        default: Default::Bool(true),
    },
    Field {
        key: "node_max_age",
        label: "Zego.NodeMaxAge",
        tooltip: Some("Zego.NodeMaxAge.Tooltip"),
        widget: Widget::Int { min: 60, max: 7200 },
        default: Default::Int(600),
    },
    Field {
        key: "cdn_urls",
        label: "Zego.CdnUrls",
        tooltip: Some("Zego.CdnUrls.Tooltip"),
        widget: Widget::EditableList,
        default: Default::None,
    },
    Field {
        key: "cdn_required",
        label: "Zego.CdnRequired",
        tooltip: Some("Zego.CdnRequired.Tooltip"),
        widget: Widget::Bool,
        default: Default::Bool(false),
    },
];

/// Alibaba Cloud ApsaraVideo Live's default (China regions, Tokyo, Mumbai, Jakarta) endpoint.
pub const ALIYUN_DEFAULT_ENDPOINT: &str = "https://live.aliyuncs.com";

/// ApsaraVideo Live endpoints offered in the endpoint field.
pub const ALIYUN_ENDPOINTS: &[&str] = &[
    ALIYUN_DEFAULT_ENDPOINT,
    "https://live.ap-southeast-1.aliyuncs.com",
    "https://live.eu-central-1.aliyuncs.com",
];

/// Settings of the `aliyun_artc_rtmp` service.
pub const ALIYUN: &[Field] = &[
    Field {
        key: "access_key_id",
        label: "Aliyun.AccessKeyId",
        tooltip: Some("Aliyun.AccessKeyId.Tooltip"),
        widget: Widget::Text,
        default: Default::None,
    },
    Field {
        key: "access_key_secret",
        label: "Aliyun.AccessKeySecret",
        tooltip: Some("Aliyun.AccessKeySecret.Tooltip"),
        widget: Widget::Password,
        default: Default::None,
    },
    Field {
        key: "app_id",
        label: "Aliyun.AppId",
        tooltip: Some("Aliyun.AppId.Tooltip"),
        widget: Widget::Text,
        default: Default::None,
    },
    Field {
        key: "channel_id",
        label: "Aliyun.ChannelId",
        tooltip: Some("Aliyun.ChannelId.Tooltip"),
        widget: Widget::Text,
        default: Default::None,
    },
    Field {
        key: "user_id",
        label: "Aliyun.UserId",
        tooltip: Some("Aliyun.UserId.Tooltip"),
        widget: Widget::Text,
        default: Default::None,
    },
    Field {
        key: "display_name",
        label: "Aliyun.DisplayName",
        tooltip: Some("Aliyun.DisplayName.Tooltip"),
        widget: Widget::Text,
        default: Default::None,
    },
    Field {
        key: "endpoint",
        label: "Common.Endpoint",
        tooltip: Some("Aliyun.Endpoint.Tooltip"),
        widget: Widget::EditableChoice(ALIYUN_ENDPOINTS),
        default: Default::Text(ALIYUN_DEFAULT_ENDPOINT),
    },
    Field {
        key: "expire_time",
        label: "Aliyun.ExpireTime",
        tooltip: Some("Aliyun.ExpireTime.Tooltip"),
        widget: Widget::Int {
            min: 1,
            max: i32::MAX,
        },
        default: Default::Int(36000),
    },
    Field {
        key: "signature_version",
        label: "Aliyun.SignatureVersion",
        tooltip: Some("Aliyun.SignatureVersion.Tooltip"),
        widget: Widget::Choice(&[
            ("Aliyun.SignatureVersion.V2", "v2"),
            ("Aliyun.SignatureVersion.V3", "v3"),
        ]),
        default: Default::Text("v2"),
    },
    Field {
        key: "prefetch",
        label: "Common.Prefetch",
        tooltip: Some("Aliyun.Prefetch.Tooltip"),
        widget: Widget::Bool,
        default: Default::Bool(true),
    },
    Field {
        key: "presence_check",
        label: "Aliyun.PresenceCheck",
        tooltip: Some("Aliyun.PresenceCheck.Tooltip"),
        widget: Widget::Bool,
        default: Default::Bool(true),
    },
    Field {
        key: "presence_interval",
        label: "Aliyun.PresenceInterval",
        tooltip: Some("Aliyun.PresenceInterval.Tooltip"),
        widget: Widget::Int { min: 1, max: 3600 },
        default: Default::Int(30),
    },
    Field {
        key: "presence_restart",
        label: "Aliyun.PresenceRestart",
        tooltip: Some("Aliyun.PresenceRestart.Tooltip"),
        widget: Widget::Bool,
        default: Default::Bool(false),
    },
];

/// Settings of the `rtc_platform_golive` service.
pub const PLATFORM: &[Field] = &[
    Field {
        key: "platform_url",
        label: "Platform.Url",
        tooltip: Some("Platform.Url.Tooltip"),
        widget: Widget::Text,
        default: Default::None,
    },
    Field {
        key: "platform_token",
        label: "Platform.Token",
        tooltip: Some("Platform.Token.Tooltip"),
        widget: Widget::Password,
        default: Default::None,
    },
    Field {
        key: "prefetch",
        label: "Common.Prefetch",
        tooltip: Some("Platform.Prefetch.Tooltip"),
        widget: Widget::Bool,
        default: Default::Bool(true),
    },
    Field {
        key: "node_max_age",
        label: "Zego.NodeMaxAge",
        tooltip: Some("Platform.NodeMaxAge.Tooltip"),
        widget: Widget::Int { min: 60, max: 7200 },
        default: Default::Int(600),
    },
];
