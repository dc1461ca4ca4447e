//! The core of obs-rtc-golive: everything the plugin does that is not OBS.
//!
//! Data flows one way: OBS settings -> [`config`] (typed, validated) -> [`providers`] (the signed
//! vendor call) -> [`rtmp_target`] (server, key, alternates, expiry) -> OBS connect info.
//! Plain safe Rust with no libobs dependency; the plugin crate is the OBS layer above it.
//!
//! The OBS layer parses a service's settings once ([`config::ServiceSettings`]) and drives a
//! [`golive::GoLive`] per service; [`resolve`] and [`prefetch`] turn a config into a plan over
//! the [`shared::Shared`] vendor state. The core reaches back only through [`host`]'s traits,
//! which the OBS layer implements, and leaves what it found in [`status`] for it to read.

// The core is safe Rust: only the plugin crate's OBS layer may use `unsafe`.
#![forbid(unsafe_code)]

pub mod address_cache;
pub mod api_client;
pub mod background;
pub mod cdn_forwarding;
pub mod config;
pub mod go_live_error;
pub mod golive;
pub mod host;
pub mod lock;
pub mod messages;
pub mod node_probe;
pub mod pending;
pub mod platform_api;
pub mod prefetch;
pub mod presence;
pub mod private_file;
pub mod providers;
pub mod pull;
pub mod report;
pub mod resolve;
pub mod retry;
pub mod rtmp_target;
pub mod sequence;
pub mod shared;
pub mod signing;
pub mod status;
pub mod tls;
pub mod unix_time;
