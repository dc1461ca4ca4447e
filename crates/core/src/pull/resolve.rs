//! One pull dispatch: `RTMPDispatchV2` with `Type=pull` (signed here, or made by the platform's
//! broker for `/v1/play`), then the first node that answers the RTMP handshake, as for push. A
//! node that just failed goes to the back of the line, so a retry moves on to the next node
//! when the vendor still lists the dead one first.

use super::machine::{Failure, FailureKind};
use super::settings::PullConfig;
use crate::api_client::ApiClient;
use crate::messages::Message;
use crate::node_probe::{first_reachable, DEFAULT_PROBE_TIMEOUT};
use crate::platform_api::ErrorCode;
use crate::providers::platform::{self, PlatformError};
use crate::providers::zego::{dispatch_pull, Dispatch, ZegoError};
use crate::rtmp_target::RtmpTarget;
use crate::sequence::SequenceClock;

/// A node to play, chosen from a dispatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The URL to play.
    pub url: String,
    /// Its `host[:port]`, for the log and the properties (the URL itself is not secret, but
    /// the host is what tells one node from another).
    pub host: String,
    /// The dispatch's RequestId.
    pub request_id: String,
}

/// Dispatches and picks the first node that answers; `avoid` (the node that just failed, if
/// any) is tried last.
pub fn resolve(
    http: &ApiClient,
    sequence: &SequenceClock,
    config: &PullConfig,
    avoid: Option<&str>,
) -> Result<Node, Failure> {
    let stream_id = config.stream_id();
    let dispatch = match config {
        PullConfig::Zego(zego) => {
            dispatch_pull(http, zego, sequence).map_err(|e| vendor_failure(e, stream_id))?
        }
        PullConfig::Platform { platform, .. } => platform::play(http, platform, stream_id)
            .map(|answer| Dispatch {
                request_id: answer.request_id,
                urls: answer.urls,
            })
            .map_err(|e| platform_failure(&e, stream_id))?,
    };
    let mut nodes = Vec::new();
    for url in &dispatch.urls {
        match RtmpTarget::split(url) {
            Ok(target) => nodes.push((url.clone(), target)),
            Err(_) => log::warn!("pull: ignoring a playing node that is not an RTMP URL"),
        }
    }
    if nodes.is_empty() {
        return Err(vendor_failure(
            ZegoError::BadNodeUrl {
                url: dispatch.urls.first().cloned().unwrap_or_default(),
                request_id: dispatch.request_id,
            },
            stream_id,
        ));
    }
    put_last(&mut nodes, avoid);
    let targets: Vec<RtmpTarget> = nodes.iter().map(|(_, t)| t.clone()).collect();
    match first_reachable(&targets, DEFAULT_PROBE_TIMEOUT) {
        Some(index) => {
            let (url, target) = nodes.swap_remove(index);
            Ok(Node {
                url,
                host: target.authority().to_string(),
                request_id: dispatch.request_id,
            })
        }
        None => {
            let hosts: Vec<&str> = targets.iter().map(RtmpTarget::authority).collect();
            Err(Failure {
                kind: FailureKind::NoNode,
                message: Message::new("Pull.Error.NoNode")
                    .text(stream_id)
                    .text(hosts.join(", "))
                    .text(&dispatch.request_id),
            })
        }
    }
}

/// Moves the node whose URL is `avoid` to the end, keeping the vendor's order of the others.
fn put_last<T>(nodes: &mut Vec<(String, T)>, avoid: Option<&str>) {
    if let Some(index) = avoid.and_then(|a| nodes.iter().position(|(url, _)| url == a)) {
        let node = nodes.remove(index);
        nodes.push(node);
    }
}

/// A refused dispatch as a failure: "not published" when the vendor has nothing to play.
fn vendor_failure(error: ZegoError, stream_id: &str) -> Failure {
    if error.is_not_published() {
        return Failure {
            kind: FailureKind::NotPublished,
            message: Message::new("Pull.Error.NotPublished")
                .text(stream_id)
                .message_arg(error.message()),
        };
    }
    Failure {
        kind: if error.is_rate_limited() {
            FailureKind::RateLimited
        } else if error.is_refusal() {
            FailureKind::Refused
        } else {
            FailureKind::Vendor
        },
        message: error.message(),
    }
}

/// A failed `/v1/play` as a failure, classified as the vendor's own refusal would be.
fn platform_failure(error: &PlatformError, stream_id: &str) -> Failure {
    if error.is_not_published() {
        return Failure {
            kind: FailureKind::NotPublished,
            message: Message::new("Pull.Error.NotPublished")
                .text(stream_id)
                .message_arg(Message::new("Pull.Platform.NotPublished")),
        };
    }
    Failure {
        kind: if error.code() == Some(ErrorCode::RateLimited) {
            FailureKind::RateLimited
        } else if error.is_refusal() {
            FailureKind::Refused
        } else {
            FailureKind::Vendor
        },
        message: error.play_message(stream_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failed_node_is_tried_last() {
        let mut nodes = vec![
            ("a".to_string(), 1),
            ("b".to_string(), 2),
            ("c".to_string(), 3),
        ];
        put_last(&mut nodes, Some("a"));
        let order: Vec<_> = nodes.iter().map(|(u, _)| u.as_str()).collect();
        assert_eq!(order, ["b", "c", "a"]);
        put_last(&mut nodes, Some("gone"));
        put_last(&mut nodes, None);
        let order: Vec<_> = nodes.iter().map(|(u, _)| u.as_str()).collect();
        assert_eq!(order, ["b", "c", "a"]);
    }

    #[test]
    fn an_empty_playing_node_list_means_not_published() {
        let empty = ZegoError::Api {
            code: 1003,
            message: "Playing node is empty".into(),
            request_id: "R1".into(),
        };
        let failure = vendor_failure(empty, "guest");
        assert_eq!(failure.kind, FailureKind::NotPublished);
        assert!(failure.message.keys().contains(&"Zego.Code.PullNodeEmpty"));
        let limited = ZegoError::Api {
            code: 1010,
            message: "rate".into(),
            request_id: "R2".into(),
        };
        assert_eq!(vendor_failure(limited, "g").kind, FailureKind::RateLimited);
        let bad_app = ZegoError::Api {
            code: 30005,
            message: "app".into(),
            request_id: "R3".into(),
        };
        assert_eq!(vendor_failure(bad_app, "g").kind, FailureKind::Refused);
        let internal = ZegoError::Api {
            code: 30003,
            message: "internal".into(),
            request_id: "R4".into(),
        };
        assert_eq!(vendor_failure(internal, "g").kind, FailureKind::Vendor);
        let no_answer = ZegoError::HttpStatus { status: 502 };
        assert_eq!(vendor_failure(no_answer, "g").kind, FailureKind::Vendor);
    }

    #[test]
    fn the_broker_s_answers_are_classified_like_the_vendor_s() {
        let refused = |code, vendor_code: Option<&str>| PlatformError::Refused {
            code,
            message: "m".into(),
            vendor_code: vendor_code.map(str::to_string),
            retry_after_seconds: Some(1),
        };
        let failure = |e: PlatformError| platform_failure(&e, "guest");

        let not_published = failure(refused(ErrorCode::NotPublished, Some("1003")));
        assert_eq!(not_published.kind, FailureKind::NotPublished);
        assert_eq!(not_published.message.key, "Pull.Error.NotPublished");
        assert!(not_published
            .message
            .keys()
            .contains(&"Pull.Platform.NotPublished"));

        let limited = failure(refused(ErrorCode::RateLimited, None));
        assert_eq!(limited.kind, FailureKind::RateLimited);
        assert_eq!(limited.message.key, "Pull.Platform.Refused");
        assert!(limited
            .message
            .keys()
            .contains(&"Pull.Platform.RetriesItself"));

        let forbidden = failure(refused(ErrorCode::Forbidden, None));
        assert_eq!(forbidden.kind, FailureKind::Refused);
        assert!(forbidden
            .message
            .keys()
            .contains(&"Pull.Platform.Forbidden"));

        let revoked = failure(refused(ErrorCode::TokenRevoked, None));
        assert_eq!(revoked.kind, FailureKind::Refused);
        let keys = revoked.message.keys();
        assert!(
            keys.contains(&"Platform.Code.TokenRevoked")
                && keys.contains(&"Platform.Action.NewToken"),
            "{keys:?}"
        );

        let vendor = failure(refused(ErrorCode::VendorError, Some("30005")));
        assert_eq!(vendor.kind, FailureKind::Refused);
        assert_eq!(vendor.message.key, "Pull.Platform.Vendor");
        let vendor_fault = failure(refused(ErrorCode::VendorError, Some("30003")));
        assert_eq!(vendor_fault.kind, FailureKind::Vendor);
        let unavailable = failure(refused(ErrorCode::Unavailable, None));
        assert_eq!(unavailable.kind, FailureKind::Vendor);
    }
}
