//! What the pull source's tests need: two RTMP nodes wired to one simulator (a stream's pull
//! dispatch answers the node it is published to), an ffmpeg publisher of a test pattern with a
//! tone, source screenshots decoded to pixels, and OBS's volume meters.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use obws::events::Event;
use obws::requests::inputs::Create;
use obws::requests::scenes::SceneId;
use obws::requests::sources::{SourceId, TakeScreenshot};
use obws::requests::EventSubscription;
use rtc_golive_simulator::{Simulator, ZegoControl};
use serde_json::Value;

use super::fixtures::sim;
use super::obs::{Obs, ObsError};
use super::rtmp::{EventKind, PublishEvent, RtmpServer};
use super::util::{die_with_parent, stop_child};

/// The scene the harness's scene collection holds.
pub const SCENE: &str = "Scene";
/// The pull source type.
pub const PULL_SOURCE: &str = "zego_rtmp_pull";
/// The test pattern's size.
pub const PATTERN_WIDTH: u32 = 640;
/// The test pattern's size.
pub const PATTERN_HEIGHT: u32 = 360;

/// Two nginx-rtmp nodes and the simulator, wired as ZEGOCLOUD's media servers are to its API:
/// a publish on either node makes the stream live there for pull dispatch.
pub struct PullRig {
    /// The simulator (push dispatch answers the first node).
    pub sim: Simulator,
    /// The first node.
    pub first: RtmpServer,
    /// The second node (for republishing after the first dies).
    pub second: RtmpServer,
}

impl PullRig {
    /// Starts both nodes and the simulator. Panics when any cannot start.
    #[must_use]
    pub fn start() -> PullRig {
        let zego: Arc<OnceLock<ZegoControl>> = Arc::default();
        let hook = |zego: Arc<OnceLock<ZegoControl>>| {
            move |event: &PublishEvent| {
                if let Some(zego) = zego.get() {
                    report_publish(zego, event);
                }
                true
            }
        };
        let first = RtmpServer::start_with_hook(hook(zego.clone()));
        let second = RtmpServer::start_with_hook(hook(zego.clone()));
        let sim = sim().zego(vec![first.rtmp_url()]).start();
        zego.set(sim.zego())
            .unwrap_or_else(|_| unreachable!("set once"));
        PullRig { sim, first, second }
    }

    /// Another node wired to the same simulator (to move a stream to after a node died).
    #[must_use]
    pub fn start_node(&self) -> RtmpServer {
        let zego = self.sim.zego();
        RtmpServer::start_with_hook(move |event: &PublishEvent| {
            report_publish(&zego, event);
            true
        })
    }
}

/// Tells the simulator where a stream is published (the publisher's `tcUrl`), or that it ended.
fn report_publish(zego: &ZegoControl, event: &PublishEvent) {
    zego.set_stream_live_at(
        &event.name,
        event.kind == EventKind::Publish,
        event.fields.get("tcurl").map(String::as_str),
    );
}

/// Shows or hides the scene item of source `name` (SetSceneItemEnabled): hiding it in the
/// program scene deactivates the source, showing it activates it again.
pub fn set_item_enabled(obs: &Obs, name: &str, enabled: bool) -> Result<(), ObsError> {
    use obws::requests::scene_items::{Id, SetEnabled};
    obs.request("SetSceneItemEnabled", |c| async move {
        let item_id = c
            .scene_items()
            .id(Id {
                scene: SceneId::Name(SCENE),
                source: name,
                search_offset: None,
            })
            .await?;
        c.scene_items()
            .set_enabled(SetEnabled {
                scene: SceneId::Name(SCENE),
                item_id,
                enabled,
            })
            .await
    })
}

/// Removes the input `name` (over obs-websocket's RemoveInput).
pub fn remove_input(obs: &Obs, name: &str) -> Result<(), ObsError> {
    obs.request("RemoveInput", |c| async move {
        c.inputs()
            .remove(obws::requests::inputs::InputId::Name(name))
            .await
    })
}

/// ffmpeg publishing SMPTE colour bars with a 440 Hz tone (in real time, H.264 + AAC, a key
/// frame every half second) until dropped.
pub struct Publisher {
    child: Child,
}

impl Publisher {
    /// Starts publishing `stream` to `node` and waits until the node reports the publish.
    /// Panics when it does not within 20 s.
    pub fn start(node: &RtmpServer, stream: &str) -> Publisher {
        let url = format!("{}/{stream}", node.rtmp_url());
        let pattern = format!("smptebars=size={PATTERN_WIDTH}x{PATTERN_HEIGHT}:rate=30");
        let child = die_with_parent(
            Command::new("ffmpeg")
                .args(["-hide_banner", "-loglevel", "error", "-re"])
                .args(["-f", "lavfi", "-i", &pattern])
                .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
                .args([
                    "-c:v",
                    "libx264",
                    "-preset",
                    "ultrafast",
                    "-tune",
                    "zerolatency",
                ])
                .args(["-g", "15", "-pix_fmt", "yuv420p"])
                .args(["-c:a", "aac", "-b:a", "96k", "-ar", "48000"])
                .args(["-f", "flv", &url])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .spawn()
        .expect("cannot run ffmpeg (Debian package `ffmpeg`)");
        let publisher = Publisher { child };
        node.wait_for_publish(Some(stream), Duration::from_secs(20))
            .unwrap_or_else(|| panic!("ffmpeg did not publish {stream} to {url}"));
        publisher
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        stop_child(&mut self.child, libc::SIGKILL, Duration::ZERO);
    }
}

/// An RGB picture.
#[derive(Clone, Debug)]
pub struct Picture {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height` RGB triples, row by row.
    pub rgb: Vec<u8>,
}

impl Picture {
    /// The pixel at `(x, y)`.
    #[must_use]
    pub fn at(&self, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * self.width + x) * 3) as usize;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// The brightest channel value anywhere: 0 for an all-black (or all-transparent) picture.
    #[must_use]
    pub fn max_level(&self) -> u8 {
        self.rgb.iter().copied().max().unwrap_or(0)
    }

    /// Whether the pixel at the fraction `(fx, fy)` of the picture is within `tolerance` of
    /// `rgb` in every channel.
    #[must_use]
    pub fn matches_at(&self, fx: f64, fy: f64, rgb: [u8; 3], tolerance: u8) -> bool {
        let x = ((f64::from(self.width) * fx) as u32).min(self.width - 1);
        let y = ((f64::from(self.height) * fy) as u32).min(self.height - 1);
        self.at(x, y)
            .iter()
            .zip(rgb)
            .all(|(&got, want)| got.abs_diff(want) <= tolerance)
    }
}

/// SMPTE colour bars at 75 %: the seven bars of the top two thirds, left to right.
pub const SMPTE_BARS: [[u8; 3]; 7] = [
    [191, 191, 191],
    [191, 191, 0],
    [0, 191, 191],
    [0, 191, 0],
    [191, 0, 191],
    [191, 0, 0],
    [0, 0, 191],
];

/// Whether `picture` shows the colour bars: each bar's colour at the middle of the bar, a
/// quarter of the way down, within `tolerance` (H.264 and the YUV round trips move them a bit).
#[must_use]
pub fn shows_smpte_bars(picture: &Picture, tolerance: u8) -> bool {
    SMPTE_BARS.iter().enumerate().all(|(i, &rgb)| {
        let fx = (i as f64 + 0.5) / SMPTE_BARS.len() as f64;
        picture.matches_at(fx, 0.25, rgb, tolerance)
    })
}

/// Adds a `zego_rtmp_pull` source named `name` playing `stream_id` to the scene (over
/// obs-websocket's CreateInput).
pub fn add_pull_source(obs: &Obs, name: &str, settings: &Value) -> Result<(), ObsError> {
    add_input(obs, name, PULL_SOURCE, settings)
}

/// Adds an input of `kind` with `settings` to the scene.
pub fn add_input(obs: &Obs, name: &str, kind: &str, settings: &Value) -> Result<(), ObsError> {
    obs.request("CreateInput", |c| async move {
        c.inputs()
            .create(Create {
                scene: SceneId::Name(SCENE),
                input: name,
                kind,
                settings: Some(settings),
                enabled: Some(true),
            })
            .await
    })
    .map(|_| ())
    .or_else(|e| match e {
        // obs-websocket before 5.3 (OBS 29.0) answers without the new input's UUID, which obws
        // expects; the input is created all the same.
        ObsError::Request(obws::error::Error::DeserializeResponse(_)) => Ok(()),
        other => Err(other),
    })
}

/// GetSourceScreenshot of `source` at `width` x `height`, decoded. PPM (Qt writes it, and it
/// needs no image decoder): transparency reads as black.
pub fn screenshot(obs: &Obs, source: &str, width: u32, height: u32) -> Result<Picture, ObsError> {
    let data_url = screenshot_as(obs, source, "ppm", width, height)?;
    Ok(parse_ppm(&decode_data_url(&data_url)).expect("GetSourceScreenshot answers a PPM"))
}

/// GetSourceScreenshot of `source` as a PNG file's bytes (for the documentation).
pub fn screenshot_png(
    obs: &Obs,
    source: &str,
    width: u32,
    height: u32,
) -> Result<Vec<u8>, ObsError> {
    screenshot_as(obs, source, "png", width, height).map(|url| decode_data_url(&url))
}

fn screenshot_as(
    obs: &Obs,
    source: &str,
    format: &'static str,
    width: u32,
    height: u32,
) -> Result<String, ObsError> {
    obs.request("GetSourceScreenshot", |c| async move {
        c.sources()
            .take_screenshot(TakeScreenshot {
                source: SourceId::Name(source),
                format,
                width: Some(width),
                height: Some(height),
                compression_quality: None,
            })
            .await
    })
}

/// Polls screenshots of `source` until `shows` accepts one; the picture and how long it took.
pub fn wait_for_picture(
    obs: &Obs,
    source: &str,
    timeout: Duration,
    shows: impl Fn(&Picture) -> bool,
) -> Option<(Picture, Duration)> {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if let Ok(picture) = screenshot(obs, source, PATTERN_WIDTH / 2, PATTERN_HEIGHT / 2) {
            if shows(&picture) {
                return Some((picture, started.elapsed()));
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

fn decode_data_url(data_url: &str) -> Vec<u8> {
    let base64 = data_url.split_once(',').map_or(data_url, |(_, b)| b);
    base64::engine::general_purpose::STANDARD
        .decode(base64)
        .expect("the screenshot is base64")
}

/// A binary PPM (`P6`, 8 bits per channel).
fn parse_ppm(bytes: &[u8]) -> Option<Picture> {
    let mut fields = Vec::new();
    let mut pos = 0;
    while fields.len() < 4 {
        while bytes.get(pos)?.is_ascii_whitespace() {
            pos += 1;
        }
        if bytes[pos] == b'#' {
            while *bytes.get(pos)? != b'\n' {
                pos += 1;
            }
            continue;
        }
        let start = pos;
        while !bytes.get(pos)?.is_ascii_whitespace() {
            pos += 1;
        }
        fields.push(std::str::from_utf8(&bytes[start..pos]).ok()?.to_owned());
    }
    // One whitespace byte separates the header from the samples.
    pos += 1;
    if fields[0] != "P6" || fields[3] != "255" {
        return None;
    }
    let (width, height): (u32, u32) = (fields[1].parse().ok()?, fields[2].parse().ok()?);
    let rgb = bytes
        .get(pos..pos + (width * height * 3) as usize)?
        .to_vec();
    Some(Picture { width, height, rgb })
}

/// The loudest level (multiplier, 0..1) OBS's volume meter shows for `input` over `window`
/// (obs-websocket's InputVolumeMeters events, on a client of its own subscribed to them).
pub fn loudest_level(obs: &Obs, input: &str, window: Duration) -> f32 {
    use tokio_stream::StreamExt as _;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("cannot build a tokio runtime");
    runtime.block_on(async {
        let config = obws::client::ConnectConfig {
            host: "127.0.0.1",
            port: obs.ws_port(),
            password: None::<&str>,
            event_subscriptions: Some(EventSubscription::INPUT_VOLUME_METERS),
            broadcast_capacity: obws::client::DEFAULT_BROADCAST_CAPACITY,
            connect_timeout: Duration::from_secs(2),
            dangerous: Some(obws::client::DangerousConnectConfig {
                skip_studio_version_check: true,
                skip_websocket_version_check: true,
            }),
        };
        let client = obws::Client::connect_with_config(config)
            .await
            .expect("a second obs-websocket client connects");
        let mut events = client.events().expect("an event stream");
        let mut loudest = 0.0f32;
        let deadline = tokio::time::Instant::now() + window;
        while let Ok(Some(event)) = tokio::time::timeout_at(deadline, events.next()).await {
            if let Event::InputVolumeMeters { inputs } = event {
                for meter in inputs.iter().filter(|m| m.name == input) {
                    for channel in &meter.levels {
                        loudest = loudest.max(channel[0]);
                    }
                }
            }
        }
        loudest
    })
}

/// The RTMP URL a plain Media Source would be given for `stream` on `node`.
#[must_use]
pub fn play_url(node: &RtmpServer, stream: &str) -> String {
    format!("{}/{stream}", node.rtmp_url())
}
