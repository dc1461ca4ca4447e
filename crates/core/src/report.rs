//! The outcome of one go-live (or test connection), as the streamer and scripts see it.

use crate::go_live_error::GoLiveError;
use crate::messages::Message;
use crate::rtmp_target::IngestPlan;
use std::time::{Duration, SystemTime};

/// The outcome of the last go-live, for the status shown to the streamer and to scripts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoLiveReport {
    /// When it finished.
    pub at: SystemTime,
    /// The refusal, if it failed.
    pub error: Option<Message>,
    /// The vendor's RequestId (empty when no call was made).
    pub request_id: String,
    /// `host:port` of the node (empty on failure).
    pub node: String,
    /// Time spent resolving.
    pub latency: Duration,
    /// Problems that did not stop the go-live (a CDN forward that failed).
    pub warnings: Vec<Message>,
}

impl GoLiveReport {
    /// The report of a resolution that ended with `result` after `latency`.
    pub fn new(
        result: Result<&IngestPlan, &GoLiveError>,
        latency: Duration,
        warnings: Vec<Message>,
    ) -> Self {
        let (error, request_id, node) = match result {
            Ok(plan) => (
                None,
                plan.request_id.clone(),
                plan.primary.authority().to_string(),
            ),
            Err(e) => (Some(e.message()), e.request_id().to_string(), String::new()),
        };
        GoLiveReport {
            at: SystemTime::now(),
            error,
            request_id,
            node,
            latency,
            warnings,
        }
    }
}
