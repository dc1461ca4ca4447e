//! A ZEGOCLOUD RTMPDispatchV2 answer body, read as `dispatch_push` and `resolve_zego` read it:
//! the envelope, the node URLs in `Data`, each URL split for OBS, and every error rendered.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use rtc_golive_core::go_live_error::GoLiveError;
use rtc_golive_core::providers::zego::{dispatch_urls, parse_answer, ZegoError};
use rtc_golive_core::rtmp_target::RtmpTarget;

fuzz_target!(|data: &[u8]| {
    let answer = match parse_answer(data) {
        Ok(answer) => answer,
        Err(e) => {
            if let ZegoError::Api { code, .. } = &e {
                assert_ne!(*code, 0, "Code 0 is a success");
            }
            let _ = e.is_rate_limited();
            common::render(&GoLiveError::Zego(e).message());
            return;
        }
    };
    let urls = match dispatch_urls(&answer) {
        Ok(urls) => urls,
        Err(e) => {
            assert!(matches!(
                e,
                ZegoError::BadResponse { .. } | ZegoError::EmptyData { .. }
            ));
            common::render(&GoLiveError::Zego(e).message());
            return;
        }
    };
    assert!(!urls.is_empty());
    for url in urls {
        assert!(!url.is_empty() && url.trim() == url, "{url:?}");
        match RtmpTarget::split(&url) {
            Ok(target) => {
                let _ = target.host_port();
            }
            Err(_) => {
                let e = ZegoError::BadNodeUrl {
                    url,
                    request_id: answer.request_id.clone(),
                };
                common::render(&GoLiveError::Zego(e).message());
            }
        }
    }
});
