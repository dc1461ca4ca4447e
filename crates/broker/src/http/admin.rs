//! The admin API: `POST /v1/admin/revoke` with the config's `admin_key`.

use super::extract::{bearer, ApiJson, JsonBody};
use crate::api_error::ApiError;
use crate::broker::Broker;
use crate::config::TokenKey;
use crate::local_store::StoreError;
use crate::revocation::Reach;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use rtc_golive_core::platform_api::ErrorCode;
use serde::Deserialize;
use std::sync::Arc;

/// `POST /v1/admin/revoke` path (`Authorization: Bearer <admin_key>`, body `{"jti": "..."}`,
/// with the token's `"exp"` when known, or `{"sub": "..."}` for every token of a streamer).
pub const REVOKE_PATH: &str = "/v1/admin/revoke";

/// The body of `POST /v1/admin/revoke`: `jti` or `sub`.
#[derive(Debug, Deserialize)]
pub struct RevokeRequest {
    /// The token id to revoke.
    #[serde(default)]
    pub jti: Option<String>,
    /// The streamer every token of whom, issued up to now, is revoked.
    #[serde(default)]
    pub sub: Option<String>,
    /// The token's `exp` (Unix seconds): the revocation is kept until then; without it, as
    /// long as any token may live.
    #[serde(default)]
    pub exp: Option<u64>,
}

impl JsonBody for RevokeRequest {}

/// The admin API's routes.
pub fn routes() -> Router<Arc<Broker>> {
    Router::new().route(REVOKE_PATH, post(revoke))
}

/// A request that carries the config's `admin_key`.
#[derive(Debug)]
pub struct Admin;

impl FromRequestParts<Arc<Broker>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        broker: &Arc<Broker>,
    ) -> Result<Self, Self::Rejection> {
        let Some(admin) = &broker.config().admin_key else {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "no admin_key in the broker's config: the admin API is off",
            ));
        };
        let given = bearer(&parts.headers).ok_or_else(|| {
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
        Ok(Admin)
    }
}

async fn revoke(
    State(broker): State<Arc<Broker>>,
    _: Admin,
    ApiJson(request): ApiJson<RevokeRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let stored = |e: StoreError| ApiError {
        retry_after: Some(5),
        ..ApiError::new(
            ErrorCode::Unavailable,
            format!("the revocation could not be stored: {e}"),
        )
    };
    // Stored on this instance but not yet in Redis: 202, and the others follow when it is back.
    let answer = |reach: Reach, body: serde_json::Value| {
        let mut body = body;
        if reach == Reach::WhenRedisReturns {
            body["every_instance"] = serde_json::json!("once Redis is back");
        }
        let status = match reach {
            Reach::Everywhere => StatusCode::OK,
            Reach::WhenRedisReturns => StatusCode::ACCEPTED,
        };
        (status, Json(body))
    };
    match (given(&request.jti), given(&request.sub)) {
        (Some(jti), None) => match broker.revoke(jti, request.exp).await {
            Ok(reach) => Ok(answer(reach, serde_json::json!({ "revoked": jti }))),
            Err(e) => Err(stored(e)),
        },
        (None, Some(sub)) => match broker.revoke_sub(sub).await {
            Ok((before, reach)) => Ok(answer(
                reach,
                serde_json::json!({ "revoked_sub": sub, "issued_until": before }),
            )),
            Err(e) => Err(stored(e)),
        },
        _ => Err(ApiError::new(
            ErrorCode::BadRequest,
            "give either jti (one token) or sub (every token of a streamer), not empty",
        )),
    }
}

/// A field that was given and is not blank, trimmed.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
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
