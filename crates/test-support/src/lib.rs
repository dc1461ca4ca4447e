//! The end-to-end test harness: a real OBS Studio (headless, on Xvfb) streaming to a real nginx-rtmp
//! ingest on loopback, driven over obs-websocket.
//!
//! ```ignore
//! use rtc_golive_test_support::{Obs, ObsOptions, RtmpServer};
//!
//! let rtmp = RtmpServer::start();
//! let settings = serde_json::json!({"server": rtmp.rtmp_url(), "key": "demo"});
//! let obs = Obs::launch(ObsOptions::new("rtmp_custom", settings));
//! obs.start_stream().expect("stream should go live");
//! assert!(rtmp.wait_for_publish(Some("demo"), Duration::from_secs(20)).is_some());
//! ```
//!
//! Every resource (X display, ports, HOME, temp dirs) is private to one harness object, so tests
//! of one binary may run in parallel (checked with 4 at a time on 2 cores). Timings printed by
//! tests are only meaningful with `--test-threads=1`. Use plain `#[test]` functions: the harness
//! blocks and runs its own tokio runtime.
//!
//! Unix only: it runs Linux's OBS, Xvfb, nginx and Redis, and uses process groups, signals and
//! mount namespaces. On other systems the crate is empty, so the workspace still builds there.

#![cfg(unix)]

pub mod broker;
pub mod display;
pub mod fixtures;
pub mod obs;
pub mod proxy;
pub mod pull;
pub mod redis;
pub mod report;
pub mod rtmp;
pub mod tls;
pub mod ui_thread;
pub mod util;

use std::path::PathBuf;

// What most tests use, at the top.
pub use broker::{Broker, BrokerOptions, BrokerReply, Minted, TokenPin};
pub use display::Xvfb;
pub use obs::{Obs, ObsError, ObsOptions, PluginFiles};
pub use proxy::ForwardProxy;
pub use redis::RedisServer;
pub use rtmp::{EventKind, PublishEvent, RtmpOptions, RtmpServer, StreamInfo};
pub use tls::TestCa;
pub use util::wait_until;

/// The plugin `.so` that this `cargo test` run built: `target/<profile>/deps/libobs_rtc_golive.so`,
/// next to the test binary. Every `cargo test` (also `--test <name>`) compiles the library's
/// cdylib there together with the rlib the tests link, but only `cargo build` copies it up to
/// `target/<profile>/`, so that copy may be stale. Panics if the file is missing.
pub fn plugin_so() -> PathBuf {
    let so = util::profile_dir()
        .join("deps")
        .join("libobs_rtc_golive.so");
    assert!(
        so.is_file(),
        "the plugin {} does not exist; `cargo test` should have built the crate's cdylib there",
        so.display()
    );
    so
}

/// Set (to any value) when the plugin is installed system-wide from the project's Debian
/// package (`build-scripts/test.sh` does so in the OBS 30.2.3 and 32.2.2 root filesystems):
/// the harness then installs no per-user copy.
pub const SYSTEM_PLUGIN_ENV: &str = "RTC_GOLIVE_SYSTEM_PLUGIN";

/// Where Debian's OBS loads system-wide plugins from, and the package installs ours.
const SYSTEM_PLUGIN_SO: &str = "/usr/lib/x86_64-linux-gnu/obs-plugins/obs-rtc-golive.so";

/// The system-wide plugin when [`SYSTEM_PLUGIN_ENV`] says it is the one under test.
pub fn system_plugin() -> Option<PathBuf> {
    std::env::var_os(SYSTEM_PLUGIN_ENV).map(|_| PathBuf::from(SYSTEM_PLUGIN_SO))
}

/// The checkout's root (the workspace holding the plugin package).
pub fn workspace_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The repo's plugin data dir (`<workspace>/data`, holding `locale/en-US.ini`).
pub fn data_dir() -> PathBuf {
    workspace_dir().join("data")
}
