//! The HTTP API through axum's `Router` and `tower::ServiceExt::oneshot` (no process, no
//! socket): every refusal is the broker's JSON error with its stable code and status. Tests
//! that need a process (TLS, signals, limits) spawn the real binary instead.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use jsonwebtoken::{EncodingKey, Header};
use rtc_golive_broker::broker::Broker;
use rtc_golive_broker::config::BrokerConfig;
use rtc_golive_broker::connections::HttpSettings;
use rtc_golive_broker::http::{public_router, router, Operations};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use tower::ServiceExt;

const KEY: &str = "router-test-key-0123456789abcdef-0123456789";
const ADMIN_KEY: &str = "router-admin-key-0123456789";

/// A broker whose ZEGOCLOUD endpoint refuses connections (nothing listens on port 1).
fn config() -> BrokerConfig {
    config_with_vendor("http://127.0.0.1:1")
}

fn config_with_vendor(endpoint: &str) -> BrokerConfig {
    // A state file of its own for each broker (tests run in parallel).
    static BROKERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    // In the build's own temp folder (target/tmp), not the system's.
    let state = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "broker-router-{}-{}.db",
        std::process::id(),
        BROKERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    BrokerConfig::parse(
        &format!(
            r#"
listen = "127.0.0.1:0"
state_path = '{}'
admin_key = "{ADMIN_KEY}"
[tokens]
hs256_key = "{KEY}"
audience = "obs"
[zego]
app_id = 1234567
server_secret = "0123456789abcdef0123456789abcdef"
endpoint = "{endpoint}"
"#,
            state.display()
        ),
        Path::new("/"),
    )
    .unwrap()
}

fn token(jti: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    jsonwebtoken::encode(
        &Header::default(),
        &json!({"sub": "alice", "aud": "obs", "iat": now, "exp": now + 600, "jti": jti,
                "zego": {"stream_id": "alice-main"}}),
        &EncodingKey::from_secret(KEY.as_bytes()),
    )
    .unwrap()
}

struct App(Option<Router>);

impl App {
    fn new() -> App {
        App(Some(router(Broker::start(config()).unwrap())))
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Option<String>, Value) {
        let response = self.0.clone().unwrap().oneshot(request).await.unwrap();
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!("not JSON ({status}): {:?}", String::from_utf8_lossy(&bytes))
        });
        (status, retry_after, body)
    }

    async fn post(
        &self,
        path: &str,
        bearer: Option<&str>,
        body: impl Into<Body>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(Method::POST).uri(path);
        if let Some(bearer) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {bearer}"));
        }
        let (status, _, body) = self.send(request.body(body.into()).unwrap()).await;
        (status, body)
    }

    /// The broker's vendor client must be dropped off the runtime's threads.
    async fn close(mut self) {
        let app = self.0.take();
        tokio::task::spawn_blocking(move || drop(app))
            .await
            .unwrap();
    }
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn refusals_are_json_with_stable_codes() {
    let app = App::new();
    let alice = token("jti-alice");

    let (status, body) = app.post("/v1/golive", None, "{}").await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (401, "token_missing"),
        "{body}"
    );
    let (status, body) = app.post("/v1/live", Some("not.a.token"), "{}").await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (401, "token_invalid"),
        "{body}"
    );

    let (status, body) = app.post("/v1/golive", Some(&alice), "{not json").await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (400, "bad_request"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not JSON"),
        "{body}"
    );
    let (status, body) = app
        .post("/v1/live", Some(&alice), r#"{"sesion":"x"}"#)
        .await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (400, "bad_request"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not what this endpoint takes"),
        "{body}"
    );
    let (status, body) = app.post("/v1/stop", Some(&alice), "").await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (400, "bad_request"),
        "{body}"
    );

    let big = format!(r#"{{"session":"{}"}}"#, "x".repeat(64 * 1024));
    let (status, body) = app.post("/v1/live", Some(&alice), big).await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (413, "body_too_large"),
        "{body}"
    );

    let (status, body) = app.post("/v2/golive", Some(&alice), "{}").await;
    assert_eq!((status.as_u16(), code(&body)), (404, "not_found"), "{body}");
    let (status, _, body) = app
        .send(Request::get("/v1/golive").body(Body::empty()).unwrap())
        .await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (405, "method_not_allowed"),
        "{body}"
    );

    // A token that passes and an empty body (a start): the vendor cannot be reached.
    let (status, body) = app.post("/v1/golive", Some(&alice), "").await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (503, "unavailable"),
        "{body}"
    );
    let (status, body) = app
        .post("/v1/live", Some(&alice), r#"{"session":"nope"}"#)
        .await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (404, "session_unknown"),
        "{body}"
    );
    app.close().await;
}

#[tokio::test]
async fn the_admin_api_takes_the_admin_key_only() {
    let app = App::new();
    let bob = token("jti-bob");
    let (status, body) = app
        .post("/v1/admin/revoke", None, r#"{"jti":"jti-bob"}"#)
        .await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (401, "token_missing"),
        "{body}"
    );
    let (status, body) = app
        .post("/v1/admin/revoke", Some(&bob), r#"{"jti":"jti-bob"}"#)
        .await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (401, "token_invalid"),
        "{body}"
    );
    let (status, body) = app
        .post("/v1/admin/revoke", Some(ADMIN_KEY), r#"{"jti":" "}"#)
        .await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (400, "bad_request"),
        "{body}"
    );
    let (status, body) = app
        .post("/v1/admin/revoke", Some(ADMIN_KEY), r#"{"jti":"jti-bob"}"#)
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"revoked": "jti-bob"}))
    );
    let (status, body) = app.post("/v1/golive", Some(&bob), "{}").await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (401, "token_revoked"),
        "{body}"
    );
    app.close().await;
}

#[tokio::test]
async fn health_answers_json() {
    let app = App::new();
    let (status, _, body) = app
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["ok"], json!(true), "{body}");
    assert_eq!(body["status"], json!("ok"), "{body}");
    assert_eq!(body["redis"], json!("none"), "{body}");
    app.close().await;
}

#[tokio::test]
async fn health_is_503_while_the_broker_stops() {
    let operations = Arc::new(Operations::default());
    let app = App(Some(public_router(
        Broker::start(config()).unwrap(),
        operations.clone(),
        true,
        &HttpSettings::default(),
    )));
    operations.drain();
    let (status, retry_after, body) = app
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry_after, None);
    assert_eq!(
        (&body["status"], &body["ok"]),
        (&json!("unavailable"), &json!(false))
    );
    app.close().await;
}

#[tokio::test]
async fn a_request_over_its_time_is_refused_with_json() {
    // A vendor that takes the connection and answers nothing for 1.5 s.
    let vendor = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", vendor.local_addr().unwrap());
    std::thread::spawn(move || {
        if let Ok((socket, _)) = vendor.accept() {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            drop(socket);
        }
    });
    let settings = HttpSettings {
        request_timeout: std::time::Duration::from_millis(300),
        ..HttpSettings::default()
    };
    let app = App(Some(public_router(
        Broker::start(config_with_vendor(&endpoint)).unwrap(),
        Arc::default(),
        true,
        &settings,
    )));
    let started = std::time::Instant::now();
    let (status, body) = app.post("/v1/golive", Some(&token("jti-slow")), "{}").await;
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert_eq!(
        (status.as_u16(), code(&body)),
        (503, "unavailable"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("request_timeout_seconds"),
        "{body}"
    );
    assert_eq!(body["error"]["retry_after_seconds"], json!(5));
    app.close().await;
}
