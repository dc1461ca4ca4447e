//! The extractors of the broker's handlers: the authenticated streamer, the streamer's public
//! address, and a JSON body whose every rejection is one of the broker's JSON refusals.

use crate::api_error::ApiError;
use crate::broker::Broker;
use crate::client_address::streamer_ipv4;
use crate::token::Claims;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use rtc_golive_core::platform_api::{ErrorCode, GoLiveRequest, PlayRequest, SessionRequest};
use serde::de::DeserializeOwned;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// The largest body the broker reads (every request it takes is a few hundred bytes).
pub const BODY_LIMIT: usize = 16 * 1024;

/// The token of `Authorization: Bearer <token>`, when there is one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The streamer whose bearer token passed every check ([`Broker::authenticate`]).
#[derive(Debug, Clone)]
pub struct Streamer(pub Claims);

impl FromRequestParts<Arc<Broker>> for Streamer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        broker: &Arc<Broker>,
    ) -> Result<Self, Self::Rejection> {
        broker
            .authenticate(bearer(&parts.headers))
            .await
            .map(Streamer)
    }
}

/// The streamer ending a session (`/v1/stop`): their token's signature is checked, not its
/// expiry or revocation ([`Broker::authenticate_to_end`]).
pub struct Ending(pub Claims);

impl FromRequestParts<Arc<Broker>> for Ending {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        broker: &Arc<Broker>,
    ) -> Result<Self, Self::Rejection> {
        broker
            .authenticate_to_end(bearer(&parts.headers))
            .map(Ending)
    }
}

/// The streamer's public IPv4 address, for a dispatch's `ClientIP`: the connection's peer, or
/// the config's `client_ip_header` behind a reverse proxy (see [`streamer_ipv4`]).
#[derive(Debug, Clone, Copy)]
pub struct StreamerAddress(pub Option<Ipv4Addr>);

impl FromRequestParts<Arc<Broker>> for StreamerAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        broker: &Arc<Broker>,
    ) -> Result<Self, Self::Rejection> {
        Ok(StreamerAddress(peer(parts).and_then(|peer| {
            streamer_ipv4(
                peer.ip(),
                &parts.headers,
                broker.config().client_ip_header.as_ref(),
            )
        })))
    }
}

/// The connection's peer, when the server recorded it.
pub fn peer(parts: &Parts) -> Option<SocketAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| *peer)
}

/// A request body the broker reads as JSON.
pub trait JsonBody: DeserializeOwned {
    /// What an empty body means, when it means something.
    fn when_empty() -> Option<Self> {
        None
    }
}

impl JsonBody for GoLiveRequest {
    /// `{}`: a start (as `curl -d ''` sends it).
    fn when_empty() -> Option<Self> {
        Some(GoLiveRequest::default())
    }
}

impl JsonBody for SessionRequest {}
impl JsonBody for PlayRequest {}

/// A JSON body, whatever its `Content-Type` (the plugin sends `application/json`, `curl -d`
/// sends a form type): a body that is not JSON, JSON that is not what the endpoint takes, and
/// a body over [`BODY_LIMIT`] are refused with the broker's JSON errors.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: JsonBody,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    ErrorCode::BodyTooLarge,
                    format!("the body is larger than the {BODY_LIMIT} bytes the broker reads"),
                )
            } else {
                ApiError::new(
                    ErrorCode::BadRequest,
                    format!("the body could not be read: {}", e.body_text()),
                )
            }
        })?;
        parse(&bytes).map(ApiJson)
    }
}

/// `bytes` as `T`, or the refusal that says what is wrong with them.
pub fn parse<T: JsonBody>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        if let Some(empty) = T::when_empty() {
            return Ok(empty);
        }
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let message = match e.classify() {
            serde_json::error::Category::Data => {
                format!("the body is JSON but not what this endpoint takes: {e}")
            }
            _ => format!("the body is not JSON: {e}"),
        };
        ApiError::new(ErrorCode::BadRequest, message)
    })
}
