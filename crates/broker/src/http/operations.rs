//! Operations: `/healthz`, `/metrics`, and what every request passes through on its way: the
//! access log line (target `access`) and the per-endpoint metrics.

use super::admin::REVOKE_PATH;
use crate::broker::Broker;
use crate::client_address::client_address;
use crate::metrics::HttpMetrics;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use rtc_golive_core::platform_api::{GOLIVE_PATH, LIVE_PATH, PLAY_PATH, STOP_PATH};
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// `/healthz`.
pub const HEALTH_PATH: &str = "/healthz";
/// `/metrics`.
pub const METRICS_PATH: &str = "/metrics";
/// Every path the broker serves: the access log and the metrics name these and nothing else
/// (any other path is `unmatched`), so that no client-chosen text reaches either.
const ENDPOINTS: [&str; 7] = [
    GOLIVE_PATH,
    LIVE_PATH,
    STOP_PATH,
    PLAY_PATH,
    REVOKE_PATH,
    HEALTH_PATH,
    METRICS_PATH,
];

/// What the listeners share besides the broker: the HTTP metrics, and whether the broker is
/// stopping (then `/healthz` answers 503, so that load balancers stop sending it requests).
#[derive(Debug, Default)]
pub struct Operations {
    /// Requests by endpoint and status, and their latency.
    pub metrics: HttpMetrics,
    draining: AtomicBool,
}

impl Operations {
    /// The broker is stopping: it finishes the requests in flight and takes no new ones.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }
}

/// The operations routes.
pub fn routes() -> Router<Arc<Broker>> {
    Router::new()
        .route(HEALTH_PATH, get(healthz))
        .route(METRICS_PATH, get(metrics))
}

/// `/healthz`: `status` is `ok`, `degraded` (Redis is away: the limiter runs on its local
/// fallback and sessions stay with this instance) or `unavailable` (503: the broker cannot
/// serve, e.g. it is stopping).
#[derive(Debug, Serialize)]
struct HealthAnswer {
    status: &'static str,
    #[serde(flatten)]
    health: crate::broker::Health,
}

async fn healthz(
    State(broker): State<Arc<Broker>>,
    Extension(operations): Extension<Arc<Operations>>,
) -> Response {
    let mut health = broker.health();
    let draining = operations.draining.load(Ordering::Relaxed);
    let (status, code) = if draining || !health.ok {
        health.ok = false;
        ("unavailable", StatusCode::SERVICE_UNAVAILABLE)
    } else if health.redis == "down" || health.limiter == "local fallback" {
        ("degraded", StatusCode::OK)
    } else {
        ("ok", StatusCode::OK)
    };
    (code, Json(HealthAnswer { status, health })).into_response()
}

async fn metrics(
    State(broker): State<Arc<Broker>>,
    Extension(operations): Extension<Arc<Operations>>,
) -> Response {
    let mut text = broker.metrics_text().await;
    text.push_str(&operations.metrics.render());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        text,
    )
        .into_response()
}

/// One access log line (target `access`) per request, as JSON: method, path (a known
/// endpoint or `unmatched`; never the query string), status, duration, the client's address
/// (the peer, or the config's `client_ip_header` behind a proxy) and the peer. No header, no
/// token, no body. And the request's count and latency in the metrics.
pub async fn observe(
    State((broker, operations)): State<(Arc<Broker>, Arc<Operations>)>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let endpoint = ENDPOINTS
        .iter()
        .find(|path| **path == request.uri().path())
        .copied()
        .unwrap_or("unmatched");
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| *peer);
    let source = peer.and_then(|peer| {
        client_address(
            peer.ip(),
            request.headers(),
            broker.config().client_ip_header.as_ref(),
        )
    });
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    operations
        .metrics
        .request(endpoint, status, elapsed.as_secs_f64());
    log::info!(
        target: "access",
        "{}",
        serde_json::json!({
            "method": method.as_str(),
            "path": endpoint,
            "status": status,
            "duration_ms": (elapsed.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
            "source": source.map(|a| a.to_string()),
            "peer": peer.map(|p| p.to_string()),
        })
    );
    response
}
