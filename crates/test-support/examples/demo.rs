//! The demo behind `build-scripts/demo.sh`: a real, headless OBS goes live on the bundled
//! simulator, first through ZEGOCLOUD's RTMP dispatch, then into an Alibaba ARTC channel, then
//! through a platform's broker (`rtc-golive-broker`, started on the simulator) with nothing but
//! a streamer token in OBS, and the RTMP server's view of each stream is printed as proof.

use rtc_golive_test_support as common;

use common::broker::{Broker, BrokerOptions, TokenPin};
use common::fixtures::{sim, AliyunRoom, SettingsBuilder, ALIYUN_SERVICE, ZEGO_SERVICE};
use common::{Obs, ObsOptions, RtmpServer};
use serde_json::json;
use std::time::{Duration, Instant};

/// The platform service's type id.
const PLATFORM_SERVICE: &str = "rtc_platform_golive";

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
    println!("==> starting nginx-rtmp on loopback and the ZEGOCLOUD + Alibaba Cloud API simulator");
    let (rtmp, sim) = sim().latency(Duration::from_millis(50)).start_with_ingest();
    println!("    {}", rtmp.rtmp_url());
    println!("    {}", sim.base_url());

    println!("==> starting OBS Studio (headless, on Xvfb) with the freshly built plugin");
    let zego_settings = SettingsBuilder::zego(&sim.base_url(), "demo-zego").build();
    let mut obs = Obs::launch(ObsOptions::new(ZEGO_SERVICE, zego_settings).with_plugin());

    go_live(&obs, &rtmp, "ZEGOCLOUD (RTMP dispatch)", "demo-zego");

    let room = AliyunRoom {
        app_id: "demo-app",
        channel_id: "demo-room",
        user_id: "obs-demo",
        display_name: "OBS 演示",
    };
    let aliyun_settings = SettingsBuilder::aliyun(&sim.base_url(), room)
        .with("presence_check", false)
        .build();
    obs.set_stream_service(ALIYUN_SERVICE, &aliyun_settings)
        .expect("switch service");
    go_live(
        &obs,
        &rtmp,
        "Alibaba Cloud ARTC (RTMP ingest)",
        "demo-app.demo-room.obs-demo",
    );

    println!("==> starting rtc-golive-broker on the simulator (it holds the vendor secrets)");
    let broker = Broker::start(BrokerOptions::new().zego(&sim.base_url()));
    let token = broker.token("demo-streamer", &TokenPin::zego("demo-platform"));
    println!("    {}", broker.url());
    println!(
        "    streamer token minted with `rtc-golive-broker token` ({} characters, not shown)",
        token.len()
    );
    let platform_settings = json!({"platform_url": broker.url(), "platform_token": token});
    obs.set_stream_service(PLATFORM_SERVICE, &platform_settings)
        .expect("switch service");
    go_live(&obs, &rtmp, "RTC room (via your platform)", "demo-platform");
    let stopped = common::wait_until(Duration::from_secs(5), || {
        broker
            .output()
            .contains("stop sub=demo-streamer")
            .then_some(())
    })
    .is_some();
    println!(
        "    broker:      session {} by the plugin's /v1/stop",
        if stopped { "closed" } else { "NOT closed" }
    );
    assert!(stopped, "the broker saw no stop:\n{}", broker.log_tail(20));

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
