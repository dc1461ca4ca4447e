//! Playing a room's stream in OBS: the `zego_rtmp_pull` source's settings, ZEGOCLOUD pull
//! dispatch and node choice, and the retry loop the OBS layer's source drives.
//!
//! Data flows as for push: source settings (plus, by default, the credentials of the plugin's
//! ZEGOCLOUD streaming service, or the platform service's URL and token) -> a validated
//! [`settings::PullConfig`] -> `RTMPDispatchV2` with `Type=pull`, signed here or made by the
//! platform's broker for `/v1/play` -> the first node that answers ([`resolve`]) -> the URL the
//! OBS layer hands to OBS's own media source. [`machine`] decides what happens next when
//! playback starts, ends or never starts, with [`backoff`] spacing the retries; [`session`] runs
//! it on a background thread so no OBS thread ever waits for the network.

pub mod backoff;
pub mod machine;
pub mod resolve;
pub mod session;
pub mod settings;
