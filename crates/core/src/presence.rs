//! While live on Alibaba ARTC: is the RTMP user still in the channel?
//!
//! Alibaba recommends polling `DescribeChannelParticipants`: an RTMP user missing from the
//! channel means the stream no longer reaches the room even though OBS still sends it.

use crate::api_client::ApiClient;
use crate::background::StopSignal;
use crate::config::aliyun::AliyunConfig;
use crate::providers::aliyun;
use std::time::Duration;

/// Consecutive polls without the user before the streamer is told.
pub const MISSES_BEFORE_ALERT: u32 = 2;

/// Polls every `interval` until `stop`; calls `on_missing` once each time the user has been
/// missing [`MISSES_BEFORE_ALERT`] polls in a row. A failed poll is logged and not counted, so
/// an API hiccup never restarts a healthy stream.
pub fn watch(
    http: &ApiClient,
    config: &AliyunConfig,
    interval: Duration,
    stop: &StopSignal,
    mut on_missing: impl FnMut(),
) {
    let mut misses = 0;
    while stop.sleep(interval) {
        match aliyun::user_in_channel(http, config) {
            Ok(true) => misses = 0,
            Ok(false) => {
                misses += 1;
                log::info!(
                    "presence check: user {} not in channel {} ({misses} in a row)",
                    config.user_id,
                    config.channel_id
                );
                if misses == MISSES_BEFORE_ALERT {
                    log::warn!(
                        "presence check: user {} is missing from ARTC channel {}: the stream no longer reaches the room",
                        config.user_id,
                        config.channel_id
                    );
                    on_missing();
                }
            }
            Err(e) => log::warn!("presence check failed, will retry: {e}"),
        }
    }
}
