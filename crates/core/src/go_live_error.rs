//! Why a go-live was refused, and the text OBS's dialog shows for it.

use crate::cdn_forwarding::ForwardFailure;
use crate::config::ConfigError;
use crate::messages::Message;
use crate::providers::aliyun::AliyunError;
use crate::providers::platform::PlatformError;
use crate::providers::zego::ZegoError;

/// Why a go-live was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoLiveError {
    /// A setting is missing or invalid; no request was sent.
    Config(ConfigError),
    /// ZEGOCLOUD's call failed.
    Zego(ZegoError),
    /// Alibaba Cloud's call failed.
    Aliyun(AliyunError),
    /// The platform's broker refused or could not be reached.
    Platform(PlatformError),
    /// The vendor's nodes all refused a connection.
    NoReachableNode {
        /// `host:port` of each node.
        hosts: Vec<String>,
        /// The vendor's RequestId.
        request_id: String,
    },
    /// A CDN forward failed and `cdn_required` is on; the forwards created were deleted again.
    CdnRequired(ForwardFailure),
    /// The start was given up (OBS quitting, the output stopping, a newer start) before the
    /// target was known; nothing was published and any forward created was deleted.
    Cancelled,
}

crate::error_via_message!(GoLiveError);

impl GoLiveError {
    /// The text for OBS's "Failed to start streaming" dialog.
    pub fn message(&self) -> Message {
        match self {
            GoLiveError::Config(e) => e.message.clone(),
            GoLiveError::Zego(e) => e.message(),
            GoLiveError::Aliyun(e) => e.message(),
            GoLiveError::Platform(e) => e.message(),
            GoLiveError::NoReachableNode { hosts, request_id } => {
                Message::new("Error.NoReachableNode")
                    .text(hosts.join(", "))
                    .text(request_id)
            }
            GoLiveError::CdnRequired(failure) => Message::new("Error.CdnRequired")
                .message_arg(cdn_warning(failure))
                .key_arg("Zego.CdnRequired"),
            GoLiveError::Cancelled => Message::new("Error.Cancelled"),
        }
    }

    /// The vendor's RequestId, when a vendor answered.
    pub fn request_id(&self) -> &str {
        match self {
            GoLiveError::Zego(ZegoError::Api { request_id, .. })
            | GoLiveError::Zego(ZegoError::EmptyData { request_id })
            | GoLiveError::Zego(ZegoError::BadNodeUrl { request_id, .. })
            | GoLiveError::Aliyun(AliyunError::Api { request_id, .. })
            | GoLiveError::Aliyun(AliyunError::NoAddress { request_id })
            | GoLiveError::Aliyun(AliyunError::BadAddress { request_id })
            | GoLiveError::NoReachableNode { request_id, .. } => request_id,
            GoLiveError::CdnRequired(ForwardFailure {
                error: ZegoError::Api { request_id, .. },
                ..
            }) => request_id,
            _ => "",
        }
    }
}

/// A CDN forward that failed without stopping the go-live.
pub fn cdn_warning(f: &ForwardFailure) -> Message {
    Message::new("Warn.CdnForward")
        .text(f.index.to_string())
        .text(&f.url)
        .message_arg(f.error.message())
}
