//! The streamer API: `/v1/golive`, `/v1/live`, `/v1/stop`, `/v1/play`, each with the
//! streamer's bearer token and a JSON body.

use super::extract::{ApiJson, Ending, Streamer, StreamerAddress};
use crate::api_error::ApiError;
use crate::broker::Broker;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use rtc_golive_core::platform_api::{
    GoLiveAnswer, GoLiveRequest, LiveAnswer, PlayAnswer, PlayRequest, SessionRequest, StopAnswer,
    GOLIVE_PATH, LIVE_PATH, PLAY_PATH, STOP_PATH,
};
use std::sync::Arc;

/// The streamer API's routes.
pub fn routes() -> Router<Arc<Broker>> {
    Router::new()
        .route(GOLIVE_PATH, post(golive))
        .route(LIVE_PATH, post(live))
        .route(STOP_PATH, post(stop))
        .route(PLAY_PATH, post(play))
}

async fn golive(
    State(broker): State<Arc<Broker>>,
    streamer: Result<Streamer, ApiError>,
    StreamerAddress(client_ip): StreamerAddress,
    body: Result<ApiJson<GoLiveRequest>, ApiError>,
) -> Result<Json<GoLiveAnswer>, ApiError> {
    // A go-live refused for its token or body is counted with the others.
    let (Streamer(claims), ApiJson(request)) = streamer
        .and_then(|streamer| body.map(|body| (streamer, body)))
        .inspect_err(|e| broker.golive_refused(e))?;
    Ok(Json(broker.golive(&claims, &request, client_ip).await?))
}

async fn live(
    State(broker): State<Arc<Broker>>,
    Streamer(claims): Streamer,
    ApiJson(request): ApiJson<SessionRequest>,
) -> Result<Json<LiveAnswer>, ApiError> {
    Ok(Json(broker.live(&claims, &request).await?))
}

async fn stop(
    State(broker): State<Arc<Broker>>,
    Ending(claims): Ending,
    ApiJson(request): ApiJson<SessionRequest>,
) -> Result<Json<StopAnswer>, ApiError> {
    Ok(Json(broker.stop(&claims, &request).await?))
}

async fn play(
    State(broker): State<Arc<Broker>>,
    Streamer(claims): Streamer,
    StreamerAddress(client_ip): StreamerAddress,
    ApiJson(request): ApiJson<PlayRequest>,
) -> Result<Json<PlayAnswer>, ApiError> {
    Ok(Json(broker.play(&claims, &request, client_ip).await?))
}
