//! `RtmpTarget::split`, `redacted_url` and `host_port` on any text a vendor could send as a
//! node URL or an ingest address.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rtc_golive_core::rtmp_target::{redacted_url, RtmpTarget};

fuzz_target!(|data: &[u8]| {
    let url = String::from_utf8_lossy(data);
    let redacted = redacted_url(&url);
    let Ok(target) = RtmpTarget::split(&url) else {
        return;
    };
    // Nothing is lost or moved: OBS joins server and key with a '/'.
    assert_eq!(format!("{}/{}", target.server, target.key), url.trim());
    let name = target.key.split('?').next().unwrap_or_default();
    assert!(!name.is_empty() && !name.contains('/'), "{target:?}");
    // The redacted form is scheme and authority only: no path, no query (auth_key).
    let scheme_end = target.server.find("://").expect("split keeps the scheme") + 3;
    let authority = target.authority();
    assert_eq!(
        redacted_url(url.trim()),
        format!("{}{authority}/…", &target.server[..scheme_end])
    );
    assert!(!redacted.contains('?'), "{redacted}");
    let (host, _port) = target.host_port();
    assert!(authority.contains(&host), "{host} not in {authority}");
    assert_eq!(
        target.is_rtmps(),
        target
            .server
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("rtmps://"))
    );
});
