//! What every service instance of the module shares: the HTTP client, the vendor state kept
//! across starts, the background tasks, the status and the OBS layer's alerts.

use crate::address_cache::AddressCache;
use crate::api_client::{ApiClient, TransportError};
use crate::background::Background;
use crate::cdn_forwarding::CdnJournal;
use crate::host::{Alerts, StatusOnly};
use crate::lock::LockRecovered;
use crate::messages::Message;
use crate::sequence::SequenceClock;
use crate::status::StatusBoard;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// A start still resolving, as the shared state sees it: something to give up at once.
pub trait CancelStart: Send + Sync + std::fmt::Debug {
    /// Gives the start up; returns whether its vendor work was still running.
    fn cancel_start(&self) -> bool;
}

/// What every service instance of the module shares.
#[derive(Debug, Clone)]
pub struct Shared {
    /// The one HTTP client (connection reuse).
    pub http: ApiClient,
    /// Reusable Alibaba ingest addresses.
    pub addresses: Arc<Mutex<AddressCache>>,
    /// ZEGOCLOUD CDN rules that may exist.
    pub cdn_journal: Arc<Mutex<CdnJournal>>,
    /// ZEGOCLOUD's Sequence, shared by every call.
    pub sequence: Arc<SequenceClock>,
    /// Background tasks, joined at unload.
    pub background: Arc<Background>,
    /// The last go-live and the last alert, for status requests.
    pub status: Arc<StatusBoard>,
    /// Where alerts are shown (the OBS layer's window).
    pub alerts: Arc<dyn Alerts>,
    /// Starts still resolving, cancelled together when OBS begins to quit.
    pub starts: StartRegistry,
    /// Changes of the module's streaming services, which pull sources using the service's
    /// credentials follow.
    pub service_changes: Arc<ChangeCount>,
}

/// A count of changes that readers compare with the value they last saw: cheaper than a
/// subscription, and a reader that polls anyway (a pull session's loop) needs no more.
#[derive(Debug, Default)]
pub struct ChangeCount(AtomicU64);

impl ChangeCount {
    /// Something changed.
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    /// The count now.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The starts still resolving, held weakly (a finished start is dropped by its service).
#[derive(Debug, Clone, Default)]
pub struct StartRegistry(Arc<Mutex<Vec<Weak<dyn CancelStart>>>>);

impl StartRegistry {
    /// Remembers a start.
    pub fn track(&self, start: Arc<dyn CancelStart>) {
        let mut starts = self.0.lock_recovered();
        starts.retain(|s| s.strong_count() > 0);
        starts.push(Arc::downgrade(&start));
    }

    /// Cancels every start remembered; returns how many were still resolving.
    pub fn cancel_all(&self) -> usize {
        let starts = std::mem::take(&mut *self.0.lock_recovered());
        starts
            .iter()
            .filter_map(Weak::upgrade)
            .map(|start| usize::from(start.cancel_start()))
            .sum()
    }
}

impl Shared {
    /// State kept in `dir` (the plugin's config directory), or only in memory when `None`.
    /// Alerts go to the status only until [`with_alerts`](Self::with_alerts) names a window.
    pub fn new(dir: Option<&Path>) -> Result<Self, TransportError> {
        let file = |name: &str| dir.map(|d| d.join(name));
        Ok(Shared {
            http: ApiClient::with_defaults()?,
            addresses: Arc::new(Mutex::new(AddressCache::load(file("addresses.json")))),
            cdn_journal: Arc::new(Mutex::new(CdnJournal::load(file("cdn-rules.json")))),
            sequence: Arc::new(match file("zego-sequence") {
                Some(path) => SequenceClock::persistent(path),
                None => SequenceClock::new(),
            }),
            background: Background::new(),
            status: Arc::new(StatusBoard::default()),
            alerts: Arc::new(StatusOnly),
            starts: StartRegistry::default(),
            service_changes: Arc::default(),
        })
    }

    /// The same state, with alerts shown by `alerts`.
    pub fn with_alerts(self, alerts: Arc<dyn Alerts>) -> Self {
        Shared { alerts, ..self }
    }

    /// Tells the streamer about a problem found while live, and keeps it for status requests.
    pub fn alert(&self, message: Message) {
        self.status.record_alert(message.clone());
        self.alerts.alert(message);
    }

    /// OBS began to quit: every start still resolving is cancelled (its connect thread wakes
    /// and fails at once) and every call whose result nobody needs any more (resolving,
    /// resolving ahead) is cut. Deleting CDN forwards goes on.
    pub fn abandon(&self) {
        self.http.abandon_scoped();
        self.cancel_starts();
    }

    /// Gives up every start still waiting for its vendor (OBS's own Stop Streaming is disabled
    /// while the output connects): each connect thread wakes and fails at once, nothing is
    /// published, and a CDN forward already created is deleted. Returns how many there were.
    pub fn cancel_starts(&self) -> usize {
        self.starts.cancel_all()
    }

    /// The same shared state with a [scoped](ApiClient::scoped) HTTP client.
    pub fn scoped(&self) -> Shared {
        Shared {
            http: self.http.scoped(),
            ..self.clone()
        }
    }
}
