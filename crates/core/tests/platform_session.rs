//! A go-live through the platform, against a stand-in broker that speaks the wire format of
//! `platform_api` (the real broker is exercised end to end in the workspace's
//! `tests/e2e_platform.rs`): the start opens a session, the heartbeat comes while live, the
//! stop ends it, resolving ahead opens none, and every call carries the token.

use rtc_golive_core::config::{ServiceKind, ServiceSettings};
use rtc_golive_core::golive::{Begin, GoLive};
use rtc_golive_core::host::StreamControl;
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
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let log = log.clone();
            let node = node.clone();
            std::thread::spawn(move || serve(stream, &node, &log));
        }
    });
    (url, seen)
}

fn serve(stream: std::net::TcpStream, node: &str, log: &Mutex<Vec<Seen>>) {
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
            "/v1/live" => r#"{"lease_seconds":60}"#.to_string(),
            _ => "{}".to_string(),
        };
        log.lock().unwrap().push(Seen {
            path,
            authorization,
            body,
        });
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
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
