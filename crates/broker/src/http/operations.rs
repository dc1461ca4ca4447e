//! Operations: `/healthz` and `/metrics`.

use crate::broker::Broker;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;

/// The operations routes.
pub fn routes() -> Router<Arc<Broker>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
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
