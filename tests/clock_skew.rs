//! A computer clock 20 minutes off the vendor's: the first signed call is refused for its
//! timestamp, the plugin adopts the server's time from the `Date` header and the one retry,
//! signed with that time, passes. Against the simulator with its clock moved both ways.

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use rtc_golive_core::config::{ServiceKind, ServiceSettings};
use rtc_golive_core::report::GoLiveReport;
use rtc_golive_core::resolve::test_connection;
use rtc_golive_core::shared::Shared;
use rtc_golive_simulator::{HandshakeNode, Simulator};
use rtc_golive_test_support::fixtures::{sim, AliyunRoom, SettingsBuilder};
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// How far the simulator's clock is moved: past ZEGOCLOUD's 10 and Alibaba's 15 minutes.
const SKEW_SECS: i64 = 20 * 60;
/// The retry is signed with the time of a `Date` header (whole seconds) read a moment earlier.
const TOLERANCE_SECS: i64 = 3;

/// A simulator whose clock is `offset` seconds off, whose nodes point at `node` (a node that
/// answers the RTMP handshake, so the node probe passes).
fn simulator(offset: i64, node: &HandshakeNode) -> Simulator {
    let node_url = format!("rtmp://127.0.0.1:{}/live", node.port());
    sim()
        .clock_offset_secs(offset)
        .zego(vec![node_url.clone()])
        .aliyun(node_url)
        .start()
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// `YYYY-MM-DDThh:mm:ssZ` in Unix seconds.
fn parse_iso(text: &str) -> i64 {
    unix(humantime::parse_rfc3339(text).unwrap_or_else(|e| panic!("{text:?}: {e}")))
}

fn assert_succeeded(report: &GoLiveReport, node: &HandshakeNode) {
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!(report.node, format!("127.0.0.1:{}", node.port()));
    assert!(!report.request_id.is_empty());
}

/// The client now signs with the simulator's clock.
fn assert_client_adopted(shared: &Shared, offset: i64) {
    let client_clock = unix(shared.http.now());
    let simulator_clock = unix(SystemTime::now()) + offset;
    assert!(
        client_clock.abs_diff(simulator_clock) <= TOLERANCE_SECS as u64,
        "client {client_clock}, simulator {simulator_clock}"
    );
}

#[test]
fn zegocloud_retries_once_with_the_server_clock() {
    for offset in [SKEW_SECS, -SKEW_SECS] {
        let node = HandshakeNode::start("127.0.0.1:0").unwrap();
        let sim = simulator(offset, &node);
        let shared = Shared::new(None).unwrap();
        let settings = SettingsBuilder::zego(&sim.base_url(), "skewed-clock").build();
        let report = test_connection(
            &ServiceSettings::parse(ServiceKind::ZegoRtmpDispatch, &settings),
            &shared,
        );
        assert_succeeded(&report, &node);

        let requests = sim.zego().requests();
        let codes: Vec<i64> = requests.iter().map(|r| r.code).collect();
        assert_eq!(codes, [100000004, 0], "offset {offset}: {requests:?}");
        assert!(requests.iter().all(|r| r.action == "RTMPDispatchV2"));
        let timestamp = |i: usize| requests[i].params["Timestamp"].parse::<i64>().unwrap();
        // Refused: signed with this computer's clock, 20 minutes off the simulator's.
        let refused_skew = timestamp(0) - (unix(requests[0].at) + offset);
        assert!(
            refused_skew.abs_diff(-offset) <= TOLERANCE_SECS as u64,
            "offset {offset}: the refused call was {refused_skew} s off"
        );
        // Accepted: signed with the simulator's clock.
        let simulator_clock = unix(requests[1].at) + offset;
        assert!(
            timestamp(1).abs_diff(simulator_clock) <= TOLERANCE_SECS as u64,
            "offset {offset}: Timestamp {} vs simulator clock {simulator_clock}",
            timestamp(1)
        );
        assert_client_adopted(&shared, offset);

        // The corrected clock stays: the next dispatch needs one call, accepted.
        let report = test_connection(
            &ServiceSettings::parse(ServiceKind::ZegoRtmpDispatch, &settings),
            &shared,
        );
        assert_succeeded(&report, &node);
        let codes: Vec<i64> = sim.zego().requests().iter().map(|r| r.code).collect();
        assert_eq!(codes, [100000004, 0, 0], "offset {offset}");
    }
}

fn aliyun_settings(sim: &Simulator, signature_version: &str) -> Value {
    let room = AliyunRoom {
        app_id: "artc-app",
        channel_id: "room-1",
        user_id: "obs-skewed",
        display_name: "Skewed clock",
    };
    SettingsBuilder::aliyun(&sim.base_url(), room)
        .with("signature_version", signature_version)
        .build()
}

#[test]
fn alibaba_retries_once_with_the_server_clock_v2_and_v3() {
    for version in ["v2", "v3"] {
        for offset in [SKEW_SECS, -SKEW_SECS] {
            let node = HandshakeNode::start("127.0.0.1:0").unwrap();
            let sim = simulator(offset, &node);
            let shared = Shared::new(None).unwrap();
            let report = test_connection(
                &ServiceSettings::parse(
                    ServiceKind::AliyunArtcRtmp,
                    &aliyun_settings(&sim, version),
                ),
                &shared,
            );
            assert_succeeded(&report, &node);

            let requests = sim.aliyun().requests();
            let outcomes: Vec<(u16, &str, &str)> = requests
                .iter()
                .map(|r| (r.status, r.code.as_str(), r.signature_version))
                .collect();
            assert_eq!(
                outcomes,
                [
                    (400, "InvalidTimeStamp.Expired", version),
                    (200, "", version)
                ],
                "{version} offset {offset}"
            );
            assert!(requests
                .iter()
                .all(|r| r.action == "CreateRoomRealTimeStreamAddress"));
            let refused_skew = parse_iso(&requests[0].signed_at) - (unix(requests[0].at) + offset);
            assert!(
                refused_skew.abs_diff(-offset) <= TOLERANCE_SECS as u64,
                "{version} offset {offset}: the refused call was {refused_skew} s off"
            );
            let simulator_clock = unix(requests[1].at) + offset;
            let signed_at = parse_iso(&requests[1].signed_at);
            assert!(
                signed_at.abs_diff(simulator_clock) <= TOLERANCE_SECS as u64,
                "{version} offset {offset}: signed at {signed_at} vs simulator clock {simulator_clock}"
            );
            assert_client_adopted(&shared, offset);

            // The corrected clock stays: another user's address needs one call, accepted.
            let mut other = aliyun_settings(&sim, version);
            other["user_id"] = json!("obs-second");
            let report = test_connection(
                &ServiceSettings::parse(ServiceKind::AliyunArtcRtmp, &other),
                &shared,
            );
            assert_succeeded(&report, &node);
            let codes: Vec<String> = sim
                .aliyun()
                .requests()
                .into_iter()
                .map(|r| r.code)
                .collect();
            assert_eq!(
                codes,
                ["InvalidTimeStamp.Expired", "", ""],
                "{version} {offset}"
            );
        }
    }
}
