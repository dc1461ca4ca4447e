//! What the tests, the demo and the benchmarks share: the credentials the simulator's accounts
//! accept, a builder for the simulator, and the plugin's service settings built from them.
//!
//! ```ignore
//! use rtc_golive_test_support::fixtures::{sim, SettingsBuilder};
//!
//! let rtmp = RtmpServer::start();
//! let sim = sim().zego(vec![rtmp.rtmp_url()]).start();
//! let settings = SettingsBuilder::zego(&sim.base_url(), "demo").cold().build();
//! let obs = Obs::launch(ObsOptions::new(ZEGO_SERVICE, settings).with_plugin());
//! ```

use rtc_golive_simulator::{
    AliyunControl, AliyunKey, SimConfig, Simulator, TlsIdentity, ZegoApp, ZegoControl,
};
use serde_json::{json, Map, Value};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::rtmp::{EventKind, PublishEvent, RtmpServer};

/// The `zego_rtmp_dispatch` service's type id.
pub const ZEGO_SERVICE: &str = "zego_rtmp_dispatch";
/// The `aliyun_artc_rtmp` service's type id.
pub const ALIYUN_SERVICE: &str = "aliyun_artc_rtmp";

/// The ZEGOCLOUD AppId the simulator knows (see [`zego_app`]).
pub const ZEGO_APP_ID: u32 = 1_234_567;
/// The ServerSecret of [`ZEGO_APP_ID`]: 32 hex digits, as ZEGOCLOUD issues them.
pub const ZEGO_SERVER_SECRET: &str = "0123456789abcdef0123456789abcdef";
/// The Alibaba Cloud AccessKey ID the simulator knows (see [`aliyun_key`]).
pub const ALIYUN_KEY_ID: &str = "LTAI5tE2EKEYID0001";
/// The AccessKey secret of [`ALIYUN_KEY_ID`].
pub const ALIYUN_KEY_SECRET: &str = "e2e-access-key-secret-XYZ";

/// The test ZEGOCLOUD app: [`ZEGO_APP_ID`] with [`ZEGO_SERVER_SECRET`], production environment.
#[must_use]
pub fn zego_app() -> ZegoApp {
    ZegoApp {
        app_id: ZEGO_APP_ID,
        server_secret: ZEGO_SERVER_SECRET.to_owned(),
        test_env: false,
    }
}

/// The test Alibaba Cloud AccessKey: [`ALIYUN_KEY_ID`] with [`ALIYUN_KEY_SECRET`].
#[must_use]
pub fn aliyun_key() -> AliyunKey {
    AliyunKey {
        access_key_id: ALIYUN_KEY_ID.to_owned(),
        access_key_secret: ALIYUN_KEY_SECRET.to_owned(),
    }
}

/// A simulator to build: knows no account until [`SimBuilder::zego`] or [`SimBuilder::aliyun`].
#[must_use]
pub fn sim() -> SimBuilder {
    SimBuilder {
        config: SimConfig::default(),
    }
}

/// A [`SimConfig`] under construction, from [`SimConfig::default`]; see [`sim`].
#[derive(Clone, Debug)]
pub struct SimBuilder {
    config: SimConfig,
}

impl SimBuilder {
    /// Knows the test ZEGOCLOUD app ([`zego_app`]) and dispatches `nodes` to it.
    #[must_use]
    pub fn zego(mut self, nodes: Vec<String>) -> SimBuilder {
        self.config.zego_apps = vec![zego_app()];
        self.config.zego_nodes = nodes;
        self
    }

    /// Knows the test AccessKey ([`aliyun_key`]) and points its ingest addresses at `rtmp_base`.
    #[must_use]
    pub fn aliyun(mut self, rtmp_base: impl Into<String>) -> SimBuilder {
        self.config.aliyun_keys = vec![aliyun_key()];
        self.config.aliyun_rtmp_base = rtmp_base.into();
        self
    }

    /// Binds `listen` instead of `127.0.0.1:0`.
    #[must_use]
    pub fn listen(mut self, listen: &str) -> SimBuilder {
        listen.clone_into(&mut self.config.listen);
        self
    }

    /// Serves HTTPS with `identity` when it is given.
    #[must_use]
    pub fn tls(mut self, identity: Option<TlsIdentity>) -> SimBuilder {
        self.config.tls = identity;
        self
    }

    /// Delays every API answer by `latency`.
    #[must_use]
    pub fn latency(mut self, latency: Duration) -> SimBuilder {
        self.config.latency = latency;
        self
    }

    /// Runs the simulator's clock `secs` ahead of the real one (behind when negative).
    #[must_use]
    pub fn clock_offset_secs(mut self, secs: i64) -> SimBuilder {
        self.config.clock_offset_secs = secs;
        self
    }

    /// Limits `RTMPDispatchV2` to `per_second` calls per AppId per second.
    #[must_use]
    pub fn zego_dispatch_qps(mut self, per_second: u32) -> SimBuilder {
        self.config.zego_dispatch_qps = per_second;
        self
    }

    /// Starts the simulator. Panics when it cannot.
    #[must_use]
    pub fn start(self) -> Simulator {
        Simulator::start(self.config).expect("the simulator starts")
    }

    /// Starts nginx-rtmp, then the simulator knowing both test accounts with every node and
    /// ingest address on that nginx, wired to it as a vendor's ingest is to its API: a publish
    /// (and its end) tells ZEGOCLOUD whether the stream is live, and a publish with an
    /// `auth_key` (an Alibaba address) is accepted only when the simulator issued that key,
    /// which also puts the user in the ARTC channel. Panics when either cannot start.
    #[must_use]
    pub fn start_with_ingest(self) -> (RtmpServer, Simulator) {
        let zego: Arc<OnceLock<ZegoControl>> = Arc::default();
        let aliyun: Arc<OnceLock<AliyunControl>> = Arc::default();
        let (hook_zego, hook_aliyun) = (zego.clone(), aliyun.clone());
        let rtmp = RtmpServer::start_with_hook(move |event: &PublishEvent| {
            let live = event.kind == EventKind::Publish;
            if let Some(zego) = hook_zego.get() {
                zego.set_stream_live(&event.name, live);
            }
            let Some(aliyun) = hook_aliyun.get() else {
                return true;
            };
            match event.fields.get("auth_key") {
                Some(key) if live => {
                    let ok = aliyun.check_publish(&event.name, key);
                    aliyun.set_publishing(&event.name, ok);
                    ok
                }
                _ => {
                    aliyun.set_publishing(&event.name, false);
                    true
                }
            }
        });
        let sim = self
            .zego(vec![rtmp.rtmp_url()])
            .aliyun(rtmp.rtmp_url())
            .start();
        zego.set(sim.zego())
            .unwrap_or_else(|_| unreachable!("set once"));
        aliyun
            .set(sim.aliyun())
            .unwrap_or_else(|_| unreachable!("set once"));
        (rtmp, sim)
    }
}

/// Where an Alibaba Cloud ARTC service publishes: the room and the user in it.
#[derive(Clone, Copy, Debug)]
pub struct AliyunRoom<'a> {
    /// The ARTC AppID.
    pub app_id: &'a str,
    /// The channel (room) id.
    pub channel_id: &'a str,
    /// The user id OBS publishes as.
    pub user_id: &'a str,
    /// The name the room shows for that user.
    pub display_name: &'a str,
}

/// A service's settings under construction, with the test credentials; see
/// [`SettingsBuilder::zego`] and [`SettingsBuilder::aliyun`].
#[derive(Clone, Debug)]
pub struct SettingsBuilder {
    fields: Map<String, Value>,
}

impl SettingsBuilder {
    /// `zego_rtmp_dispatch` settings: the test app's credentials, `stream_id` and `endpoint`.
    #[must_use]
    pub fn zego(endpoint: &str, stream_id: &str) -> SettingsBuilder {
        SettingsBuilder::from_json(json!({
            "app_id": ZEGO_APP_ID,
            "server_secret": ZEGO_SERVER_SECRET,
            "stream_id": stream_id,
            "endpoint": endpoint,
        }))
    }

    /// `aliyun_artc_rtmp` settings: the test AccessKey, `endpoint` and `room`.
    #[must_use]
    pub fn aliyun(endpoint: &str, room: AliyunRoom<'_>) -> SettingsBuilder {
        SettingsBuilder::from_json(json!({
            "access_key_id": ALIYUN_KEY_ID,
            "access_key_secret": ALIYUN_KEY_SECRET,
            "endpoint": endpoint,
            "app_id": room.app_id,
            "channel_id": room.channel_id,
            "user_id": room.user_id,
            "display_name": room.display_name,
        }))
    }

    fn from_json(value: Value) -> SettingsBuilder {
        match value {
            Value::Object(fields) => SettingsBuilder { fields },
            _ => unreachable!("settings are an object"),
        }
    }

    /// Cold: nothing resolved ahead (`"prefetch": false`), so Start Streaming calls the vendor.
    #[must_use]
    pub fn cold(self) -> SettingsBuilder {
        self.with("prefetch", false)
    }

    /// Sets `key` to `value` (replacing what the constructor set).
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> SettingsBuilder {
        self.fields.insert(key.to_owned(), value.into());
        self
    }

    /// The settings as OBS takes them.
    #[must_use]
    pub fn build(self) -> Value {
        Value::Object(self.fields)
    }
}
