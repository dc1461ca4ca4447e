//! Every way an API host can fail, against small servers started here, through
//! `test_connection` for both providers: no panic, the specific error, and a text in en-US that
//! names the host or the problem and carries no secret (ServerSecret, AccessKey secret or ID,
//! the request's signature, an ingest address's auth_key).

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use rtc_golive_core::api_client::ApiClient;
use rtc_golive_core::config::{ServiceKind, ServiceSettings};
use rtc_golive_core::messages::{LocaleFile, Translate};
use rtc_golive_core::report::GoLiveReport;
use rtc_golive_core::resolve::test_connection;
use rtc_golive_core::shared::Shared;
use rtc_golive_test_support::fixtures::{
    AliyunRoom, SettingsBuilder, ALIYUN_KEY_ID, ALIYUN_KEY_SECRET, ZEGO_SERVER_SECRET,
};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// The plugin's whole-call deadline (`api_client::DEFAULT_CALL_TIMEOUT`).
const CALL_TIMEOUT: Duration = Duration::from_secs(8);
/// A call refused or answered at once must not take longer than this (no retry, no wait).
const QUICK: Duration = Duration::from_secs(4);
/// A server takes at most this many connections (a call and its one clock-skew retry).
const MAX_CONNECTIONS: usize = 2;
/// A silent server holds a connection this long, past the client's deadline, then lets go.
const SILENCE: Duration = Duration::from_secs(12);

fn locale() -> &'static LocaleFile {
    static LOCALE: OnceLock<LocaleFile> = OnceLock::new();
    LOCALE.get_or_init(|| LocaleFile::parse(include_str!("../data/locale/en-US.ini")))
}

/// What a local server does with each connection.
#[derive(Clone)]
enum Behaviour {
    /// Reads the request, writes these bytes, closes.
    Reply(Vec<u8>),
    /// Reads the request, writes `head` at once, then `body` one byte every 100 ms.
    Drip { head: Vec<u8>, body: Vec<u8> },
    /// Reads the request and never answers.
    Silent,
    /// A plain HTTP server that an HTTPS client reached: answers its TLS hello with HTTP.
    NotTls,
}

/// A server on 127.0.0.1 for one test case; it records the request heads it read.
struct LocalServer {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

impl LocalServer {
    fn start(behaviour: Behaviour) -> LocalServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        thread::spawn(move || {
            for stream in listener.incoming().take(MAX_CONNECTIONS).flatten() {
                let (behaviour, seen) = (behaviour.clone(), seen.clone());
                thread::spawn(move || serve(stream, &behaviour, &seen));
            }
        });
        LocalServer { port, requests }
    }

    fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The signatures the requests carried (query `Signature=`, V3 `Authorization`).
    fn signatures(&self) -> Vec<String> {
        let requests = self.requests.lock().unwrap();
        requests
            .iter()
            .flat_map(|head| {
                head.match_indices("Signature=").map(|(at, name)| {
                    head[at + name.len()..]
                        .split(['&', ' ', ',', '\r', '\n'])
                        .next()
                        .unwrap_or_default()
                        .to_string()
                })
            })
            .filter(|signature| !signature.is_empty())
            .collect()
    }
}

fn serve(mut stream: TcpStream, behaviour: &Behaviour, seen: &Mutex<Vec<String>>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    match behaviour {
        Behaviour::NotTls => {
            // The TLS hello has no blank line to wait for: answer the first bytes.
            let mut hello = [0u8; 4096];
            let _ = stream.read(&mut hello);
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
        Behaviour::Reply(bytes) => {
            record_request(&mut stream, seen);
            let _ = stream.write_all(bytes);
        }
        Behaviour::Drip { head, body } => {
            record_request(&mut stream, seen);
            let _ = stream.write_all(head);
            for b in body {
                if stream.write_all(&[*b]).is_err() {
                    return;
                }
                thread::sleep(Duration::from_millis(100));
            }
        }
        Behaviour::Silent => {
            record_request(&mut stream, seen);
            thread::sleep(SILENCE);
        }
    }
}

/// Reads the request head (to its blank line) into `seen`.
fn record_request(stream: &mut TcpStream, seen: &Mutex<Vec<String>>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    seen.lock()
        .unwrap()
        .push(String::from_utf8_lossy(&head).into_owned());
}

/// An HTTP/1.1 answer with a JSON content type.
fn http(status: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn ok(body: &str) -> Behaviour {
    Behaviour::Reply(http("200 OK", body.as_bytes()))
}

fn zego_settings(endpoint: &str) -> Value {
    SettingsBuilder::zego(endpoint, "fault-matrix").build()
}

fn aliyun_settings(endpoint: &str, signature_version: &str) -> Value {
    let room = AliyunRoom {
        app_id: "artc-app",
        channel_id: "room-1",
        user_id: "obs-faults",
        display_name: "Fault matrix",
    };
    SettingsBuilder::aliyun(endpoint, room)
        .with("signature_version", signature_version)
        .build()
}

/// One provider's call against `endpoint`.
#[derive(Clone, Copy, Debug)]
enum Provider {
    Zego,
    AliyunV2,
    AliyunV3,
}

impl Provider {
    fn run(self, endpoint: &str, shared: &Shared) -> GoLiveReport {
        match self {
            Provider::Zego => test_connection(
                &ServiceSettings::parse(ServiceKind::ZegoRtmpDispatch, &zego_settings(endpoint)),
                shared,
            ),
            Provider::AliyunV2 => test_connection(
                &ServiceSettings::parse(
                    ServiceKind::AliyunArtcRtmp,
                    &aliyun_settings(endpoint, "v2"),
                ),
                shared,
            ),
            Provider::AliyunV3 => test_connection(
                &ServiceSettings::parse(
                    ServiceKind::AliyunArtcRtmp,
                    &aliyun_settings(endpoint, "v3"),
                ),
                shared,
            ),
        }
    }
}

/// A failed report: its message key, its en-US text with every `expected` part, no secret.
fn check(
    case: &str,
    report: &GoLiveReport,
    key: &str,
    expected: &[&str],
    signatures: &[String],
) -> String {
    let error = report
        .error
        .as_ref()
        .unwrap_or_else(|| panic!("{case}: succeeded: {report:?}"));
    assert_eq!(error.key, key, "{case}: {error:?}");
    assert!(report.node.is_empty(), "{case}: {report:?}");
    for used in error.keys() {
        assert!(locale().lookup(used).is_some(), "{case}: no en-US {used}");
    }
    let text = error.render(locale());
    for part in expected {
        assert!(
            text.contains(part),
            "{case}: {text:?} does not say {part:?}"
        );
    }
    let secrets = [
        ZEGO_SERVER_SECRET,
        ALIYUN_KEY_SECRET,
        ALIYUN_KEY_ID,
        "auth_key",
    ];
    for secret in secrets
        .iter()
        .copied()
        .chain(signatures.iter().map(String::as_str))
    {
        assert!(!text.contains(secret), "{case}: {text:?} shows {secret:?}");
    }
    println!("{case}: {text}");
    text
}

/// One call of a provider against a fresh local server.
struct Call {
    server: LocalServer,
    report: GoLiveReport,
    elapsed: Duration,
    /// The signatures of the requests the server read.
    signatures: Vec<String>,
}

impl Call {
    /// Runs `provider` once against a fresh server with `behaviour`, timed.
    fn run(provider: Provider, behaviour: Behaviour) -> Call {
        let server = LocalServer::start(behaviour);
        let shared = Shared::new(None).unwrap();
        let started = Instant::now();
        let report = provider.run(&server.url("http"), &shared);
        let elapsed = started.elapsed();
        let signatures = server.signatures();
        Call {
            server,
            report,
            elapsed,
            signatures,
        }
    }
}

/// Runs `provider` against a fresh server with `behaviour` and checks the report.
fn case(
    name: &str,
    provider: Provider,
    behaviour: Behaviour,
    key: &str,
    expected: &[&str],
) -> GoLiveReport {
    let Call {
        server,
        report,
        elapsed,
        signatures,
    } = Call::run(provider, behaviour);
    assert_eq!(
        server.requests.lock().unwrap().len(),
        1,
        "{name} {provider:?}: one request, no retry"
    );
    assert!(!signatures.is_empty(), "{name}: the request was signed");
    check(
        &format!("{name} {provider:?}"),
        &report,
        key,
        expected,
        &signatures,
    );
    assert!(elapsed < QUICK, "{name} {provider:?} took {elapsed:?}");
    report
}

#[test]
fn refused_connection_names_the_host() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for provider in [Provider::Zego, Provider::AliyunV2, Provider::AliyunV3] {
        let report = provider.run(
            &format!("http://127.0.0.1:{port}"),
            &Shared::new(None).unwrap(),
        );
        check(
            &format!("refused {provider:?}"),
            &report,
            "Error.Net.Connect",
            &["Could not connect", "127.0.0.1"],
            &[],
        );
        assert!(report.latency < QUICK, "{:?}", report.latency);
    }
}

#[test]
fn unresolvable_host_is_a_dns_error() {
    for provider in [Provider::Zego, Provider::AliyunV2] {
        let report = provider.run("https://no-such-host.invalid", &Shared::new(None).unwrap());
        check(
            &format!("dns {provider:?}"),
            &report,
            "Error.Net.Dns",
            &["no-such-host.invalid", "DNS lookup failed"],
            &[],
        );
    }
}

#[test]
fn https_to_a_plain_server_is_a_tls_error() {
    for provider in [Provider::Zego, Provider::AliyunV2, Provider::AliyunV3] {
        let server = LocalServer::start(Behaviour::NotTls);
        let report = provider.run(&server.url("https"), &Shared::new(None).unwrap());
        check(
            &format!("tls {provider:?}"),
            &report,
            "Error.Net.Tls",
            &["Secure connection", "127.0.0.1", "TLS"],
            &[],
        );
        assert!(report.latency < QUICK, "{:?}", report.latency);
    }
}

/// The whole-call deadline holds against a server that never answers and one that drips its
/// body: both providers, at once, with the plugin's default client (8 s).
#[test]
fn whole_call_deadline_holds_against_silent_and_dripping_servers() {
    let drip = Behaviour::Drip {
        head: b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n"
            .to_vec(),
        body: format!(
            "{{\"Code\":0,\"Data\":[],\"Message\":\"{}\"}}",
            "x".repeat(360)
        )
        .into_bytes(),
    };
    let calls: Vec<_> = [
        ("silent", Provider::Zego, Behaviour::Silent),
        ("silent", Provider::AliyunV2, Behaviour::Silent),
        ("drip", Provider::Zego, drip.clone()),
        ("drip", Provider::AliyunV3, drip),
    ]
    .into_iter()
    .map(|(name, provider, behaviour)| {
        thread::spawn(move || {
            let call = Call::run(provider, behaviour);
            (name, provider, call.report, call.elapsed, call.signatures)
        })
    })
    .collect();
    for call in calls {
        let (name, provider, report, elapsed, signatures) = call.join().unwrap();
        let case = format!("{name} {provider:?}");
        check(
            &case,
            &report,
            "Error.Net.Timeout",
            &["127.0.0.1", "did not answer within 8."],
            &signatures,
        );
        assert!(
            elapsed >= CALL_TIMEOUT - Duration::from_millis(100)
                && elapsed < Duration::from_secs(10),
            "{case}: {elapsed:?}"
        );
    }
}

#[test]
fn deadline_is_the_clients_own() {
    // A shorter client proves the deadline comes from ApiClient, not from the server giving up.
    let server = LocalServer::start(Behaviour::Silent);
    let shared = Shared {
        http: ApiClient::new(Duration::from_secs(1), Duration::from_millis(600)).unwrap(),
        ..Shared::new(None).unwrap()
    };
    let report = Provider::Zego.run(&server.url("http"), &shared);
    check(
        "short deadline",
        &report,
        "Error.Net.Timeout",
        &["127.0.0.1", "within 0."],
        &server.signatures(),
    );
    assert!(
        report.latency < Duration::from_secs(2),
        "{:?}",
        report.latency
    );
}

#[test]
fn http_500() {
    case(
        "500",
        Provider::Zego,
        Behaviour::Reply(http(
            "500 Internal Server Error",
            b"<html>Internal Server Error</html>",
        )),
        "Error.Zego.HttpStatus",
        &["HTTP status 500"],
    );
    let server_error = json!({
        "RequestId": "5C1D4F1E-0000-4000-8000-500500500500",
        "HostId": "live.aliyuncs.com",
        "Code": "ServerError",
        "Message": "The request processing has failed due to some unknown error.",
    });
    for provider in [Provider::AliyunV2, Provider::AliyunV3] {
        let report = case(
            "500 ServerError",
            provider,
            Behaviour::Reply(http(
                "500 Internal Server Error",
                server_error.to_string().as_bytes(),
            )),
            "Error.Aliyun.Api",
            &[
                "ServerError",
                "internal error",
                "5C1D4F1E-0000-4000-8000-500500500500",
            ],
        );
        assert_eq!(report.request_id, "5C1D4F1E-0000-4000-8000-500500500500");
    }
    case(
        "500 html",
        Provider::AliyunV2,
        Behaviour::Reply(http("500 Internal Server Error", b"<html>oops</html>")),
        "Error.Aliyun.BadResponse",
        &["HTTP 500", "expected value"],
    );
}

#[test]
fn truncated_and_garbage_bodies() {
    case(
        "truncated",
        Provider::Zego,
        ok(r#"{"Code":0,"Message":"ok","RequestId":"1","Data":["rtmp://81.69"#),
        "Error.Zego.BadResponse",
        &["cannot be read", "EOF while parsing"],
    );
    case(
        "truncated",
        Provider::AliyunV2,
        ok(r#"{"RequestId":"R","RtmpAddress":"rtmp://h/live/s?auth_k"#),
        "Error.Aliyun.BadResponse",
        &["cannot be read", "HTTP 200", "EOF while parsing"],
    );
    for provider in [Provider::Zego, Provider::AliyunV3] {
        let key = match provider {
            Provider::Zego => "Error.Zego.BadResponse",
            _ => "Error.Aliyun.BadResponse",
        };
        case(
            "garbage",
            provider,
            ok("<html><body>502 Bad Gateway</body></html>"),
            key,
            &["cannot be read", "expected value at line 1 column 1"],
        );
    }
}

#[test]
fn wrong_field_types() {
    for (name, body, detail) in [
        (
            "Code as string",
            r#"{"Code":"0","Message":"ok","RequestId":"1","Data":["rtmp://h/a/s"]}"#,
            r#"invalid type: string "0", expected i64"#,
        ),
        (
            "Data as object",
            r#"{"Code":0,"Message":"ok","RequestId":"1","Data":{"url":"rtmp://h/a/s"}}"#,
            "Data is an object instead of an array of URLs",
        ),
        (
            "Data of numbers",
            r#"{"Code":0,"Message":"ok","RequestId":"1","Data":[1935]}"#,
            "Data holds a number instead of a URL",
        ),
    ] {
        case(
            name,
            Provider::Zego,
            ok(body),
            "Error.Zego.BadResponse",
            &[detail],
        );
    }
    case(
        "RtmpAddress as number",
        Provider::AliyunV2,
        ok(r#"{"RequestId":"R1","RtmpAddress":1935}"#),
        "Error.Aliyun.BadResponse",
        &["RtmpAddress is not a string"],
    );
    case(
        "Code as number",
        Provider::AliyunV3,
        Behaviour::Reply(http(
            "400 Bad Request",
            br#"{"RequestId":"R2","Code":400,"Message":"bad"}"#,
        )),
        "Error.Aliyun.BadResponse",
        &["HTTP 400", "invalid type: integer `400`, expected a string"],
    );
}

#[test]
fn empty_answers() {
    for data in ["[]", "null"] {
        let report = case(
            &format!("Data {data}"),
            Provider::Zego,
            ok(&format!(
                r#"{{"Code":0,"Message":"ok","RequestId":"9090","Data":{data}}}"#
            )),
            "Error.Zego.EmptyData",
            &["no publish node", "RequestId: 9090"],
        );
        assert_eq!(report.request_id, "9090");
    }
    for provider in [Provider::AliyunV2, Provider::AliyunV3] {
        case(
            "no RtmpAddress",
            provider,
            ok(r#"{"RequestId":"E3B0C442-98FC-1C14-9AFB-F4C8996FB924"}"#),
            "Error.Aliyun.NoAddress",
            &["no ingest address", "E3B0C442-98FC-1C14-9AFB-F4C8996FB924"],
        );
    }
}

#[test]
fn unusable_urls_in_the_answer() {
    // ZEGOCLOUD's English page shows Data as "host:port": not a URL OBS can publish to.
    case(
        "host:port node",
        Provider::Zego,
        ok(
            r#"{"Code":0,"Message":"ok","RequestId":"5094436160208407316","Data":["81.69.49.115:1935"]}"#,
        ),
        "Error.Zego.BadNodeUrl",
        &["not an RTMP URL: 81.69.49.115:1935", "5094436160208407316"],
    );
    // An ingest address carries its auth_key: never shown, even when unusable.
    case(
        "http ingest address",
        Provider::AliyunV2,
        ok(
            r#"{"RequestId":"R7","RtmpAddress":"http://h/live/s?auth_key=1700000000-0-0-SECRETHASH"}"#,
        ),
        "Error.Aliyun.BadAddress",
        &["not an RTMP URL", "RequestId: R7"],
    );
}

#[test]
fn huge_bodies_are_refused() {
    let huge = format!(
        r#"{{"Code":0,"Message":"{}","RequestId":"1","Data":[]}}"#,
        "x".repeat(300 * 1024)
    );
    for provider in [Provider::Zego, Provider::AliyunV2] {
        case(
            "huge",
            provider,
            ok(&huge),
            "Error.Net.TooLarge",
            &["127.0.0.1", "far too large"],
        );
    }
}
