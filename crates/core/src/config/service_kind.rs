//! The services this plugin registers with OBS.

use super::fields::{self, Field};

/// The services this plugin registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceKind {
    /// `zego_rtmp_dispatch`: ZEGOCLOUD RTMPDispatchV2.
    ZegoRtmpDispatch,
    /// `aliyun_artc_rtmp`: Alibaba Cloud CreateRoomRealTimeStreamAddress.
    AliyunArtcRtmp,
    /// `rtc_platform_golive`: the platform's broker, which holds the vendor's secrets.
    RtcPlatformGolive,
}

impl ServiceKind {
    /// Every service, in registration order.
    pub const ALL: &'static [ServiceKind] = &[
        ServiceKind::ZegoRtmpDispatch,
        ServiceKind::AliyunArtcRtmp,
        ServiceKind::RtcPlatformGolive,
    ];

    /// The service of OBS type id `id`, if it is one of ours.
    pub fn from_id(id: &str) -> Option<ServiceKind> {
        ServiceKind::ALL.iter().copied().find(|k| k.id() == id)
    }

    /// The OBS service type id.
    pub fn id(self) -> &'static str {
        match self {
            ServiceKind::ZegoRtmpDispatch => "zego_rtmp_dispatch",
            ServiceKind::AliyunArtcRtmp => "aliyun_artc_rtmp",
            ServiceKind::RtcPlatformGolive => "rtc_platform_golive",
        }
    }

    /// Locale key of the display name.
    pub fn name_key(self) -> &'static str {
        match self {
            ServiceKind::ZegoRtmpDispatch => "Zego.ServiceName",
            ServiceKind::AliyunArtcRtmp => "Aliyun.ServiceName",
            ServiceKind::RtcPlatformGolive => "Platform.ServiceName",
        }
    }

    /// The settings this service exposes.
    pub fn fields(self) -> &'static [Field] {
        match self {
            ServiceKind::ZegoRtmpDispatch => fields::ZEGO,
            ServiceKind::AliyunArtcRtmp => fields::ALIYUN,
            ServiceKind::RtcPlatformGolive => fields::PLATFORM,
        }
    }

    /// Short provider name for log lines.
    pub fn provider(self) -> &'static str {
        match self {
            ServiceKind::ZegoRtmpDispatch => "zegocloud",
            ServiceKind::AliyunArtcRtmp => "aliyun-artc",
            ServiceKind::RtcPlatformGolive => "platform",
        }
    }
}
