//! The HTTP API (axum): routes, bearer tokens, JSON bodies and refusals with their status.

use crate::api_error::ApiError;
use crate::broker::Broker;
use crate::client_address::streamer_ipv4;
use crate::config::TokenKey;
use crate::connections::HttpSettings;
use axum::body::Bytes;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::BoxError;
use axum::{Json, Router};
use rtc_golive_core::platform_api::{
    ErrorCode, GoLiveRequest, PlayRequest, SessionRequest, GOLIVE_PATH, LIVE_PATH, PLAY_PATH,
    STOP_PATH,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tower::timeout::TimeoutLayer;
use tower::ServiceBuilder;

/// `POST /v1/admin/revoke` path (`Authorization: Bearer <admin_key>`, body `{"jti": "..."}`).
pub const REVOKE_PATH: &str = "/v1/admin/revoke";

/// The body of `POST /v1/admin/revoke`.
#[derive(Debug, Deserialize)]
pub struct RevokeRequest {
    /// The token id to revoke.
    pub jti: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(self.body())).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Every route on one listener, with the default `[http]` settings (tests; `serve` uses
/// [`public_router`] and [`admin_router`]).
pub fn router(broker: Arc<Broker>) -> Router {
    public_router(broker, true, &HttpSettings::default())
}

/// The public listener: the streamer API, and the operations and admin API unless they have a
/// listener of their own (`admin_listen`).
pub fn public_router(
    broker: Arc<Broker>,
    with_operations: bool,
    settings: &HttpSettings,
) -> Router {
    let mut routes = streamer_routes();
    if with_operations {
        routes = routes.merge(operations_routes()).merge(admin_routes());
    }
    finish(routes, broker, settings)
}

/// The `admin_listen` listener: operations and the admin API.
pub fn admin_router(broker: Arc<Broker>, settings: &HttpSettings) -> Router {
    finish(operations_routes().merge(admin_routes()), broker, settings)
}

fn streamer_routes() -> Router<Arc<Broker>> {
    Router::new()
        .route(GOLIVE_PATH, post(golive))
        .route(LIVE_PATH, post(live))
        .route(STOP_PATH, post(stop))
        .route(PLAY_PATH, post(play))
}

fn operations_routes() -> Router<Arc<Broker>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

fn admin_routes() -> Router<Arc<Broker>> {
    Router::new().route(REVOKE_PATH, post(revoke))
}

/// The state and the layers every listener has: the whole-request timeout, answered with the
/// broker's own 503 refusal.
fn finish(routes: Router<Arc<Broker>>, broker: Arc<Broker>, settings: &HttpSettings) -> Router {
    let limit = settings.request_timeout;
    routes.with_state(broker).layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(move |e: BoxError| async move {
                if e.is::<tower::timeout::error::Elapsed>() {
                    ApiError {
                        retry_after: Some(5),
                        ..ApiError::new(
                            ErrorCode::Unavailable,
                            format!(
                                "the broker could not answer within its request timeout ({} s, [http] request_timeout_seconds)",
                                limit.as_secs()
                            ),
                        )
                    }
                } else {
                    ApiError::new(ErrorCode::Unavailable, format!("the broker failed: {e}"))
                }
            }))
            .layer(TimeoutLayer::new(limit)),
    )
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// A JSON body; an empty one is the type's default where it has one.
fn body<T: DeserializeOwned>(bytes: &Bytes, empty: Option<T>) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        if let Some(default) = empty {
            return Ok(default);
        }
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            ErrorCode::BadRequest,
            format!("the body is not what this endpoint takes: {e}"),
        )
    })
}

/// The streamer's public IPv4 address, for the dispatch's `ClientIP`.
fn streamer(broker: &Broker, peer: SocketAddr, headers: &HeaderMap) -> Option<Ipv4Addr> {
    streamer_ipv4(
        peer.ip(),
        headers,
        broker.config().client_ip_header.as_ref(),
    )
}

async fn golive(
    State(broker): State<Arc<Broker>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let checked = match broker.authenticate(bearer(&headers)).await {
        Ok(claims) => body(&bytes, Some(GoLiveRequest::default())).map(|r| (claims, r)),
        Err(e) => Err(e),
    };
    let (claims, request) = checked.inspect_err(|e| broker.golive_refused(e))?;
    let client_ip = streamer(&broker, peer, &headers);
    Ok(Json(broker.golive(&claims, &request, client_ip).await?).into_response())
}

async fn live(
    State(broker): State<Arc<Broker>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let claims = broker.authenticate(bearer(&headers)).await?;
    let request: SessionRequest = body(&bytes, None)?;
    Ok(Json(broker.live(&claims, &request).await?).into_response())
}

async fn stop(
    State(broker): State<Arc<Broker>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let claims = broker.authenticate(bearer(&headers)).await?;
    let request: SessionRequest = body(&bytes, None)?;
    broker.stop(&claims, &request).await?;
    Ok(Json(serde_json::json!({})).into_response())
}

async fn play(
    State(broker): State<Arc<Broker>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let claims = broker.authenticate(bearer(&headers)).await?;
    let request: PlayRequest = body(&bytes, None)?;
    let client_ip = streamer(&broker, peer, &headers);
    Ok(Json(broker.play(&claims, &request, client_ip).await?).into_response())
}

async fn revoke(
    State(broker): State<Arc<Broker>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let Some(admin) = &broker.config().admin_key else {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "no admin_key in the broker's config: the admin API is off",
        ));
    };
    let given = bearer(&headers).ok_or_else(|| {
        ApiError::new(
            ErrorCode::TokenMissing,
            "no Authorization: Bearer admin key",
        )
    })?;
    if !same_key(admin, given) {
        return Err(ApiError::new(
            ErrorCode::TokenInvalid,
            "not the broker's admin key",
        ));
    }
    let request: RevokeRequest = body(&bytes, None)?;
    if request.jti.trim().is_empty() {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "jti must not be empty",
        ));
    }
    match broker.revoke(request.jti.trim()).await {
        Ok(()) => Ok(Json(serde_json::json!({"revoked": request.jti.trim()})).into_response()),
        Err(e) => Err(ApiError {
            retry_after: Some(5),
            ..ApiError::new(ErrorCode::Unavailable, e)
        }),
    }
}

/// Compares in time independent of where the keys differ.
fn same_key(key: &TokenKey, given: &str) -> bool {
    let given = given.as_bytes();
    key.0.len() == given.len()
        && key
            .0
            .iter()
            .zip(given)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

async fn healthz(State(broker): State<Arc<Broker>>) -> Response {
    Json(broker.health()).into_response()
}

async fn metrics(State(broker): State<Arc<Broker>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        broker.metrics_text().await,
    )
        .into_response()
}
