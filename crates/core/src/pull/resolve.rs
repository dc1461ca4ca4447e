//! One pull dispatch: `RTMPDispatchV2` with `Type=pull`, then the first node that answers the
//! RTMP handshake, as for push. A node that just failed goes to the back of the line, so a
//! retry moves on to the next node when the vendor still lists the dead one first.

use super::machine::{Failure, FailureKind};
use crate::api_client::ApiClient;
use crate::config::zego::ZegoConfig;
use crate::messages::Message;
use crate::node_probe::{first_reachable, DEFAULT_PROBE_TIMEOUT};
use crate::providers::zego::{dispatch_pull, ZegoError};
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
    config: &ZegoConfig,
    avoid: Option<&str>,
) -> Result<Node, Failure> {
    let dispatch =
        dispatch_pull(http, config, sequence).map_err(|e| vendor_failure(e, &config.stream_id))?;
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
            &config.stream_id,
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
                    .text(&config.stream_id)
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
        } else {
            FailureKind::Vendor
        },
        message: error.message(),
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
        assert_eq!(vendor_failure(bad_app, "g").kind, FailureKind::Vendor);
    }
}
