//! A go-live through the platform, against a stand-in broker that speaks the wire format of
//! `platform_api` (the real broker is exercised end to end in the workspace's
//! `tests/e2e_platform.rs`): the start opens a session, the heartbeat comes while live, the
//! stop ends it, resolving ahead opens none, and every call carries the token.

use rtc_golive_core::config::{ServiceKind, ServiceSettings};
use rtc_golive_core::golive::{Begin, GoLive};
use rtc_golive_core::host::StreamControl;
use rtc_golive_core::messages::Message;
use rtc_golive_core::pending::Waited;
use rtc_golive_core::platform_api::{GoLiveAnswer, GoLiveRequest, SessionRequest};
use rtc_golive_core::resolve::test_connection;
use rtc_golive_core::shared::Shared;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.STREAMER.sig";

/// One request the stand-in broker received.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    authorization: String,
    body: String,
}

/// Answers `/v1/golive` with `node`, a session for starts, and a 1 s heartbeat.
fn stand_in_broker(node: String) -> (String, Arc<Mutex<Vec<Seen>>>) {
    stand_in_broker_refusing(node, None)
}

/// [`stand_in_broker`] whose `/v1/live` answers `refusal` (status, wire code) when given.
/// A stand-in broker whose `/v1/live` answers `refusal`: `(status, code)` a refusal, `(200,
/// body)` that answer, `None` a plain lease.
fn stand_in_broker_refusing(
    node: String,
    refusal: Option<(u16, &'static str)>,
) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let log = log.clone();
            let node = node.clone();
            std::thread::spawn(move || serve(stream, &node, &log, refusal));
        }
    });
    (url, seen)
}

fn serve(
    stream: std::net::TcpStream,
    node: &str,
    log: &Mutex<Vec<Seen>>,
    refusal: Option<(u16, &'static str)>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string();
        let (mut length, mut authorization) = (0, String::new());
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap(),
                "authorization" => authorization = value.trim().to_string(),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let body = String::from_utf8(body).unwrap();
        let mut status = "200 OK".to_string();
        let answer = match path.as_str() {
            "/v1/golive" => {
                let request: GoLiveRequest = serde_json::from_str(&body).unwrap();
                serde_json::to_string(&GoLiveAnswer {
                    provider: "zego".into(),
                    server: format!("{node}/live"),
                    key: "s1".into(),
                    alternates: Vec::new(),
                    valid_until: 4_000_000_000,
                    request_id: "R-broker".into(),
                    session: (!request.ahead).then(|| "S-1".to_string()),
                    heartbeat_seconds: 1,
                    warnings: Vec::new(),
                })
                .unwrap()
            }
            "/v1/live" => match refusal {
                Some((200, body)) => body.to_string(),
                Some((code, name)) => {
                    status = format!("{code} Refused");
                    serde_json::json!({"error": {"code": name, "message": "refused"}}).to_string()
                }
                None => r#"{"lease_seconds":60}"#.to_string(),
            },
            _ => "{}".to_string(),
        };
        log.lock().unwrap().push(Seen {
            path,
            authorization,
            body,
        });
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

struct NoRestart;

impl StreamControl for NoRestart {
    fn restart(&self) {}
    fn stop(&self) {}
}

/// Counts the stops the core asked for.
#[derive(Default)]
struct CountStops(std::sync::atomic::AtomicUsize);

impl StreamControl for CountStops {
    fn restart(&self) {}
    fn stop(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn wait_for(seen: &Mutex<Vec<Seen>>, path: &str, timeout: Duration) -> Option<Seen> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(s) = seen.lock().unwrap().iter().find(|s| s.path == path) {
            return Some(s.clone());
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_start_opens_a_session_heartbeats_while_live_and_stops_it() {
    let node = rtc_golive_simulator::HandshakeNode::start("127.0.0.1:0").unwrap();
    let (url, seen) = stand_in_broker(format!("rtmp://127.0.0.1:{}", node.port()));
    let settings = serde_json::json!({"platform_url": url, "platform_token": TOKEN,
                                      "prefetch": false});
    let shared = Shared::new(None).unwrap();
    let mut golive = GoLive::new(
        ServiceSettings::parse(ServiceKind::RtcPlatformGolive, &settings),
        shared.clone(),
    );

    let resolving = match golive.start().expect("the settings are valid") {
        Begin::Resolving(r) => r,
        Begin::Ready(_) => panic!("a platform start always opens a session first"),
    };
    let outcome = resolving.wait(Duration::from_secs(20));
    assert!(matches!(outcome, Waited::Ready(Ok(_))), "{outcome:?}");
    let plan = golive.adopt(&resolving, outcome).expect("go-live");
    assert_eq!(
        plan.primary.server,
        format!("rtmp://127.0.0.1:{}/live", node.port())
    );
    assert_eq!(plan.primary.key, "s1");
    assert_eq!(plan.request_id, "R-broker");

    let start = wait_for(&seen, "/v1/golive", Duration::ZERO).unwrap();
    assert_eq!(start.authorization, format!("Bearer {TOKEN}"));
    let request: GoLiveRequest = serde_json::from_str(&start.body).unwrap();
    assert_eq!(
        request,
        GoLiveRequest {
            ahead: false,
            fresh: false
        }
    );

    golive.on_live(Arc::new(NoRestart));
    let beat = wait_for(&seen, "/v1/live", Duration::from_secs(5)).expect("a heartbeat");
    let beat: SessionRequest = serde_json::from_str(&beat.body).unwrap();
    assert_eq!(beat.session, "S-1");

    golive.on_stopped();
    let stop = wait_for(&seen, "/v1/stop", Duration::from_secs(5)).expect("the stop");
    assert_eq!(stop.authorization, format!("Bearer {TOKEN}"));
    let stop: SessionRequest = serde_json::from_str(&stop.body).unwrap();
    assert_eq!(stop.session, "S-1");
    // The heartbeat ended with the stream.
    std::thread::sleep(Duration::from_millis(1500));
    let beats_after_stop = {
        let seen = seen.lock().unwrap();
        let stop_at = seen.iter().position(|s| s.path == "/v1/stop").unwrap();
        seen[stop_at..]
            .iter()
            .filter(|s| s.path == "/v1/live")
            .count()
    };
    assert_eq!(beats_after_stop, 0);
}

#[test]
fn test_connection_resolves_ahead_without_a_session() {
    let node = rtc_golive_simulator::HandshakeNode::start("127.0.0.1:0").unwrap();
    let (url, seen) = stand_in_broker(format!("rtmp://127.0.0.1:{}", node.port()));
    let settings = serde_json::json!({"platform_url": url, "platform_token": TOKEN});
    let shared = Shared::new(None).unwrap();
    let report = test_connection(
        &ServiceSettings::parse(ServiceKind::RtcPlatformGolive, &settings),
        &shared,
    );
    assert_eq!(report.error, None);
    assert_eq!(report.node, format!("127.0.0.1:{}", node.port()));
    assert_eq!(report.request_id, "R-broker");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let request: GoLiveRequest = serde_json::from_str(&seen[0].body).unwrap();
    assert!(request.ahead && !request.fresh);
}

/// A live stream whose heartbeat the broker refuses for good (the token expired, was revoked
/// or retired, or the session lapsed), or whose required CDN forward failed, is stopped, with
/// the reason and what to do; one refused for a while (the broker unavailable) goes on.
#[test]
fn a_heartbeat_refused_for_good_stops_the_stream_with_the_reason() {
    let node = rtc_golive_simulator::HandshakeNode::start("127.0.0.1:0").unwrap();
    let token = |name, meaning, action| {
        Some(
            Message::new("Platform.Stopped.Token")
                .text(name)
                .key_arg(meaning)
                .key_arg(action),
        )
    };
    for (refusal, expected) in [
        (
            (401, "token_revoked"),
            token(
                "token_revoked",
                "Platform.Code.TokenRevoked",
                "Platform.Action.NewToken",
            ),
        ),
        (
            (401, "token_expired"),
            token(
                "token_expired",
                "Platform.Code.TokenExpired",
                "Platform.Action.NewToken",
            ),
        ),
        (
            (401, "token_invalid"),
            token(
                "token_invalid",
                "Platform.Code.TokenInvalid",
                "Platform.Action.RecopyToken",
            ),
        ),
        (
            (404, "session_unknown"),
            Some(Message::new("Platform.Stopped.SessionLost")),
        ),
        ((503, "unavailable"), None),
        // The token requires its CDN forwards, and the broker could not create one.
        (
            (
                200,
                r#"{"lease_seconds":60,"cdn_required":true,"forwards":[{"index":1,
                   "cdn":"rtmp://cdn.example.com/…","state":"failed","warning":"refused: 5002"}]}"#,
            ),
            Some(Message::new("Platform.Stopped.CdnRequired").text("refused: 5002")),
        ),
    ] {
        let (url, seen) =
            stand_in_broker_refusing(format!("rtmp://127.0.0.1:{}", node.port()), Some(refusal));
        let settings = serde_json::json!({"platform_url": url, "platform_token": TOKEN,
                                          "prefetch": false});
        let shared = Shared::new(None).unwrap();
        let mut golive = GoLive::new(
            ServiceSettings::parse(ServiceKind::RtcPlatformGolive, &settings),
            shared.clone(),
        );
        let Ok(Begin::Resolving(resolving)) = golive.start() else {
            panic!("a platform start resolves");
        };
        let outcome = resolving.wait(Duration::from_secs(20));
        golive.adopt(&resolving, outcome).expect("go-live");
        let control = Arc::new(CountStops::default());
        golive.on_live(control.clone());
        let stops = || control.0.load(std::sync::atomic::Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(5);
        while stops() == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let alert = shared.status.last_alert().map(|(_, message)| message);
        if expected.is_some() {
            assert_eq!(stops(), 1, "{refusal:?}");
            assert_eq!(alert, expected, "{refusal:?}");
            // The heartbeat ended: it asks once.
            std::thread::sleep(Duration::from_millis(1500));
            let beats = seen
                .lock()
                .unwrap()
                .iter()
                .filter(|s| s.path == "/v1/live")
                .count();
            assert_eq!(beats, 1, "{refusal:?}");
        } else {
            assert_eq!(stops(), 0, "{refusal:?}");
            assert_eq!(alert, None, "{refusal:?}");
            let beats = seen
                .lock()
                .unwrap()
                .iter()
                .filter(|s| s.path == "/v1/live")
                .count();
            assert!(beats >= 3, "the heartbeat goes on: {beats}");
        }
        golive.on_stopped();
    }
}
