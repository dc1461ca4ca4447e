//! The HTTP API (axum): the routes of each listener, split by resource ([`streamer`],
//! [`admin`], [`operations`]), the [`extract`]ors of the bearer token and JSON bodies, and the
//! refusals: every one a JSON body with a stable code and the status that goes with it.

pub mod admin;
pub mod extract;
pub mod operations;
pub mod streamer;

pub use admin::{RevokeRequest, REVOKE_PATH};
pub use operations::Operations;

use crate::api_error::ApiError;
use crate::broker::Broker;
use crate::connections::HttpSettings;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{middleware, BoxError, Extension, Json, Router};
use rtc_golive_core::platform_api::ErrorCode;
use std::sync::Arc;
use std::time::Duration;
use tower::timeout::TimeoutLayer;
use tower::ServiceBuilder;

/// How long a client is asked to wait after the broker could not answer in time.
const TIMEOUT_RETRY_SECONDS: u64 = 5;

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
    public_router(broker, Arc::default(), true, &HttpSettings::default())
}

/// The public listener: the streamer API, and the operations and admin API unless they have a
/// listener of their own (`admin_listen`).
pub fn public_router(
    broker: Arc<Broker>,
    operations: Arc<Operations>,
    with_operations: bool,
    settings: &HttpSettings,
) -> Router {
    let mut routes = streamer::routes();
    if with_operations {
        routes = routes.merge(operations::routes()).merge(admin::routes());
    }
    finish(routes, broker, operations, settings)
}

/// The `admin_listen` listener: operations and the admin API.
pub fn admin_router(
    broker: Arc<Broker>,
    operations: Arc<Operations>,
    settings: &HttpSettings,
) -> Router {
    finish(
        operations::routes().merge(admin::routes()),
        broker,
        operations,
        settings,
    )
}

/// The state, the refusals for unknown paths and methods, the body limit, the whole-request
/// timeout (answered with the broker's own 503), and outermost the access log and metrics.
fn finish(
    routes: Router<Arc<Broker>>,
    broker: Arc<Broker>,
    operations: Arc<Operations>,
    settings: &HttpSettings,
) -> Router {
    let limit = settings.request_timeout;
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT))
        .layer(Extension(operations.clone()))
        .with_state(broker.clone())
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(move |e: BoxError| async move {
                    timed_out(&e, limit)
                }))
                .layer(TimeoutLayer::new(limit)),
        )
        .layer(middleware::from_fn_with_state(
            (broker, operations),
            operations::observe,
        ))
}

async fn not_found() -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        "no such endpoint: the broker serves POST /v1/golive, /v1/live, /v1/stop, /v1/play",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "not with this method: the /v1/ endpoints take POST, /healthz and /metrics GET",
    )
}

fn timed_out(e: &BoxError, limit: Duration) -> ApiError {
    let message = if e.is::<tower::timeout::error::Elapsed>() {
        format!(
            "the broker could not answer within its request timeout ({} s, [http] request_timeout_seconds)",
            limit.as_secs()
        )
    } else {
        format!("the broker could not answer: {e}")
    };
    ApiError {
        retry_after: Some(TIMEOUT_RETRY_SECONDS),
        ..ApiError::new(ErrorCode::Unavailable, message)
    }
}
