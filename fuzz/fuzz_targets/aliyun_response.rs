//! An Alibaba Cloud CreateRoomRealTimeStreamAddress answer (the first byte picks the HTTP
//! status, the rest is the body), read as `create_address` and `resolve_aliyun` read it: the
//! JSON or the error body, the `RtmpAddress`, its auth_key expiry and its split for OBS.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use rtc_golive_core::address_cache::auth_key_expiry;
use rtc_golive_core::go_live_error::GoLiveError;
use rtc_golive_core::providers::aliyun::{ingest_address, parse_answer, AliyunError};
use rtc_golive_core::rtmp_target::RtmpTarget;

/// The statuses the gateway answers with, and a redirect it never should.
const STATUSES: [u16; 8] = [200, 204, 400, 403, 404, 500, 503, 302];
/// The AccessKey ID the answer is read for: masked in every vendor message.
const KEY_ID: &str = "LTAI5tFuzzKeyId0001";

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let status = STATUSES[usize::from(selector) % STATUSES.len()];
    match parse_answer(status, body, KEY_ID).and_then(ingest_address) {
        Ok(address) => {
            assert!((200..300).contains(&status));
            let url = &address.rtmp_address;
            assert!(!url.is_empty() && url.trim() == url, "{url:?}");
            let _ = auth_key_expiry(url);
            if RtmpTarget::split(url).is_err() {
                let e = AliyunError::BadAddress {
                    request_id: address.request_id.clone(),
                };
                common::render(&GoLiveError::Aliyun(e).message());
            }
        }
        Err(e) => {
            if let AliyunError::Api { message, code, .. } = &e {
                assert!(!(200..300).contains(&status));
                assert!(!code.is_empty());
                assert!(!message.contains(KEY_ID), "unmasked: {message}");
            }
            let _ = e.is_rate_limited();
            // Vendor text is cut where it enters the message (300 characters per argument).
            let text = common::render(&GoLiveError::Aliyun(e).message());
            assert!(
                text.chars().count() < 2000,
                "unbounded message: {} chars",
                text.chars().count()
            );
        }
    }
});
