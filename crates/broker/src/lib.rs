//! `rtc-golive-broker`: the service a platform runs so that its streamers go live with a
//! personal, revocable token while the vendor's secrets stay on the server.
//!
//! Data flows one way: the TOML [`config`] (validated at start) and a streamer's [`token`] ->
//! [`broker`] (checks, then the platform's [`limiter`], then the core's vendor call in
//! [`vendor`]) -> the wire answer of `rtc_golive_core::platform_api`, served by [`http`].
//! What instances share (slots, revocations, sessions) lives in Redis through [`redis_link`]
//! when `redis_url` is set; sessions and revocations are also kept in the instance's own state
//! file ([`local_store`]), the whole store without Redis.

// Plain safe Rust, like the core: only the plugin's OBS layer may use `unsafe`.
#![forbid(unsafe_code)]

pub mod api_error;
pub mod broker;
pub mod cli;
pub mod client_address;
pub mod config;
pub mod connections;
pub mod gcra;
pub mod http;
pub mod limiter;
pub mod local_store;
pub mod metrics;
pub mod redis_link;
pub mod revocation;
pub mod serve;
pub mod sessions;
pub mod token;
pub mod vendor;
