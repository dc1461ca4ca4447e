//! The demo behind `build-scripts/demo.sh`: a real, headless OBS goes live on the bundled
//! simulator, first through ZEGOCLOUD's RTMP dispatch, then into an Alibaba ARTC channel, and
//! the RTMP server's view of each stream is printed as proof.

use rtc_golive_test_support as common;

use common::{EventKind, Obs, ObsOptions, PublishEvent, RtmpServer};
use rtc_golive_simulator::{AliyunControl, AliyunKey, SimConfig, Simulator, ZegoApp, ZegoControl};
use serde_json::json;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const ZEGO_APP: u32 = 1_000_001;
const ZEGO_SECRET: &str = "demo-server-secret-0123456789abcd";
const ALIYUN_KEY: &str = "LTAI5tDEMOKEY00001";
const ALIYUN_SECRET: &str = "demo-access-key-secret";

fn main() {
    // The harness names artifacts after the running thread.
    let demo = std::thread::Builder::new()
        .name("demo".into())
        .spawn(run)
        .expect("demo thread");
    if demo.join().is_err() {
        eprintln!("demo failed; OBS and nginx logs are in target/e2e-artifacts/demo/");
        std::process::exit(1);
    }
}

fn run() {
    let zego: Arc<OnceLock<ZegoControl>> = Arc::default();
    let aliyun: Arc<OnceLock<AliyunControl>> = Arc::default();
    let (z, a) = (zego.clone(), aliyun.clone());
    println!("==> starting nginx-rtmp on loopback");
    let rtmp = RtmpServer::start_with_hook(move |event: &PublishEvent| {
        let live = event.kind == EventKind::Publish;
        if let Some(zego) = z.get() {
            zego.set_stream_live(&event.name, live);
        }
        let Some(aliyun) = a.get() else { return true };
        match event.fields.get("auth_key") {
            // Alibaba's addresses carry an auth_key: only one the simulator issued may publish.
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
    println!("    {}", rtmp.rtmp_url());

    println!("==> starting the ZEGOCLOUD + Alibaba Cloud API simulator");
    let sim = Simulator::start(SimConfig {
        zego_apps: vec![ZegoApp {
            app_id: ZEGO_APP,
            server_secret: ZEGO_SECRET.into(),
            test_env: false,
        }],
        zego_nodes: vec![rtmp.rtmp_url()],
        aliyun_keys: vec![AliyunKey {
            access_key_id: ALIYUN_KEY.into(),
            access_key_secret: ALIYUN_SECRET.into(),
        }],
        aliyun_rtmp_base: rtmp.rtmp_url(),
        latency: Duration::from_millis(50),
        ..SimConfig::default()
    })
    .expect("simulator");
    zego.set(sim.zego()).unwrap_or_else(|_| unreachable!());
    aliyun.set(sim.aliyun()).unwrap_or_else(|_| unreachable!());
    println!("    {}", sim.base_url());

    println!("==> starting OBS Studio (headless, on Xvfb) with the freshly built plugin");
    let zego_settings = json!({
        "app_id": ZEGO_APP, "server_secret": ZEGO_SECRET, "stream_id": "demo-zego",
        "endpoint": sim.base_url(),
    });
    let mut obs = Obs::launch(ObsOptions::new("zego_rtmp_dispatch", zego_settings).with_plugin());

    go_live(&obs, &rtmp, "ZEGOCLOUD (RTMP dispatch)", "demo-zego");

    let aliyun_settings = json!({
        "access_key_id": ALIYUN_KEY, "access_key_secret": ALIYUN_SECRET, "endpoint": sim.base_url(),
        "app_id": "demo-app", "channel_id": "demo-room", "user_id": "obs-demo",
        "display_name": "OBS 演示", "presence_check": false,
    });
    obs.set_stream_service("aliyun_artc_rtmp", &aliyun_settings)
        .expect("switch service");
    go_live(
        &obs,
        &rtmp,
        "Alibaba Cloud ARTC (RTMP ingest)",
        "demo-app.demo-room.obs-demo",
    );

    let status = obs.quit();
    println!("==> OBS quit cleanly: {status}");
    assert_eq!(status.code(), Some(0));
}

fn go_live(obs: &Obs, rtmp: &RtmpServer, service: &str, stream: &str) {
    println!("==> Start Streaming with \"{service}\"");
    let started = Instant::now();
    obs.start_stream().expect("go-live");
    let publish = rtmp
        .wait_for_publish(Some(stream), Duration::from_secs(20))
        .expect("publish arrives");
    let info = rtmp.probe_stream(stream).expect("ffprobe reads the stream");
    let line = obs
        .log_text()
        .lines()
        .rev()
        .find(|l| l.contains("go-live: provider="))
        .map(|l| {
            l.split_once("go-live: ")
                .map_or(l, |(_, rest)| rest)
                .to_string()
        })
        .unwrap_or_default();
    println!("    plugin:      {line}");
    println!(
        "    nginx-rtmp:  publish of '{}' in app '{}' after {:?}",
        publish.name,
        publish.app,
        publish.time - started
    );
    if publish.fields.contains_key("auth_key") {
        println!("    auth_key:    arrived with the publish and was accepted (value not shown)");
    }
    println!(
        "    ffprobe:     video {} {}x{}, audio {}",
        info.video_codec,
        info.width,
        info.height,
        info.audio_codec.as_deref().unwrap_or("none")
    );
    std::thread::sleep(Duration::from_secs(2));
    obs.stop_stream().expect("stop");
    rtmp.wait_for_publish_done(Some(stream), Duration::from_secs(10))
        .expect("publish ends");
    println!("    stopped");
}
