//! The outcome of the last go-live and the last alert, for the status shown to the streamer
//! and to scripts (obs-websocket `GetStatus`).

use crate::config::ServiceKind;
use crate::lock::LockRecovered;
use crate::messages::Message;
use crate::report::GoLiveReport;
use std::sync::Mutex;
use std::time::SystemTime;

/// What the module's services last reported. Written by the core, read by the OBS layer.
#[derive(Debug, Default)]
pub struct StatusBoard {
    last_go_live: Mutex<Option<(ServiceKind, GoLiveReport)>>,
    last_alert: Mutex<Option<(SystemTime, Message)>>,
}

impl StatusBoard {
    /// Records how a go-live of a `kind` service ended.
    pub fn record_go_live(&self, kind: ServiceKind, report: GoLiveReport) {
        *self.last_go_live.lock_recovered() = Some((kind, report));
    }

    /// The last go-live of any service of the module.
    pub fn last_go_live(&self) -> Option<(ServiceKind, GoLiveReport)> {
        self.last_go_live.lock_recovered().clone()
    }

    /// Records a problem found while live, now.
    pub fn record_alert(&self, message: Message) {
        *self.last_alert.lock_recovered() = Some((SystemTime::now(), message));
    }

    /// The last problem found while live, and when.
    pub fn last_alert(&self) -> Option<(SystemTime, Message)> {
        self.last_alert.lock_recovered().clone()
    }
}
