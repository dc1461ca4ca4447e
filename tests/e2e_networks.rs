//! Go-live on networks like streamers' own, in a real OBS: HTTPS to the vendor API with a CA
//! made at test time (trusted through `SSL_CERT_FILE`, or not), a real forward proxy
//! (tinyproxy) on loopback, IPv6 loopback for the API and the node, an RTMPS ingest (nginx's
//! stream module terminating TLS in front of nginx-rtmp), a silent first node, and a first node
//! that accepts TCP but never answers RTMP.

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use rtc_golive_test_support as common;

use common::fixtures::{
    sim, AliyunRoom, SettingsBuilder, ALIYUN_KEY_SECRET, ALIYUN_SERVICE, ZEGO_SERVER_SECRET,
    ZEGO_SERVICE,
};
use common::{ForwardProxy, Obs, ObsError, ObsOptions, RtmpOptions, RtmpServer, TestCa};
use rtc_golive_simulator::{Simulator, TlsIdentity};
use serde_json::Value;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

const STREAM: &str = "obs_e2e-networks";
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(20);

/// A ZEGOCLOUD simulator on `listen`, HTTPS when `tls` is given, dispatching `nodes`.
fn simulator(listen: &str, tls: Option<TlsIdentity>, nodes: Vec<String>) -> Simulator {
    sim().listen(listen).tls(tls).zego(nodes).start()
}

fn zego_settings(endpoint: &str) -> Value {
    SettingsBuilder::zego(endpoint, STREAM).cold().build()
}

fn zego(endpoint: &str) -> ObsOptions {
    ObsOptions::new(ZEGO_SERVICE, zego_settings(endpoint)).with_plugin()
}

/// Goes live, waits for nginx's publish, and checks that no secret reached OBS's log.
fn goes_live(obs: &mut Obs, rtmp: &RtmpServer) {
    obs.start_stream().expect("go-live succeeds");
    rtmp.wait_for_publish(Some(STREAM), PUBLISH_TIMEOUT)
        .expect("nginx receives the stream");
    let log = obs.log_text();
    assert!(
        !log.contains(ZEGO_SERVER_SECRET),
        "the ServerSecret reached the log"
    );
    obs.stop_stream().expect("stop");
    assert_eq!(obs.quit().code(), Some(0));
}

/// The text OBS shows in its "Failed to start streaming" dialog.
fn refused_start(obs: &Obs) -> String {
    match obs.start_stream() {
        Err(ObsError::StartFailed {
            last_error: Some(text),
        }) => text,
        other => panic!("expected a refused start with a Last Error, got {other:?}"),
    }
}

#[test]
fn https_with_the_test_ca_trusted_through_ssl_cert_file() {
    let ca = TestCa::generate();
    let rtmp = RtmpServer::start();
    let sim = simulator("127.0.0.1:0", Some(ca.identity()), vec![rtmp.rtmp_url()]);
    assert!(sim.base_url().starts_with("https://"), "{}", sim.base_url());
    let mut obs = Obs::launch(
        zego(&sim.base_url()).with_env("SSL_CERT_FILE", &ca.ca_file().to_string_lossy()),
    );
    goes_live(&mut obs, &rtmp);
    let dispatches = sim
        .zego()
        .requests()
        .into_iter()
        .filter(|r| r.action == "RTMPDispatchV2" && r.code == 0)
        .count();
    assert_eq!(dispatches, 1, "the dispatch reached the API over HTTPS");
    assert!(
        obs.log_text().contains("certificates of the system store"),
        "the trust line is logged"
    );
}

#[test]
fn https_without_the_test_ca_fails_with_unknown_issuer() {
    let ca = TestCa::generate();
    let rtmp = RtmpServer::start();
    let sim = simulator("127.0.0.1:0", Some(ca.identity()), vec![rtmp.rtmp_url()]);
    let mut obs = Obs::launch(zego(&sim.base_url()));
    let text = refused_start(&obs);
    assert!(
        text.contains("Secure connection (TLS) to the API host 127.0.0.1 failed"),
        "{text}"
    );
    assert!(text.contains("(unknown issuer)"), "{text}");
    assert!(sim.zego().requests().is_empty(), "nothing reached the API");
    assert!(rtmp
        .wait_for_publish(None, Duration::from_secs(1))
        .is_none());
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn https_to_a_name_the_certificate_does_not_cover_is_a_name_mismatch() {
    let ca = TestCa::generate();
    let sim = simulator("127.0.0.2:0", Some(ca.identity()), Vec::new());
    let mut obs = Obs::launch(
        zego(&sim.base_url()).with_env("SSL_CERT_FILE", &ca.ca_file().to_string_lossy()),
    );
    let text = refused_start(&obs);
    assert!(text.contains("127.0.0.2"), "{text}");
    assert!(text.contains("(name mismatch)"), "{text}");
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn go_live_through_a_forward_proxy_that_wants_a_login() {
    const PROXY_PASSWORD: &str = "proxy-pw-7F3k";
    let ca = TestCa::generate();
    let proxy = ForwardProxy::start(Some(("streamer", PROXY_PASSWORD)));
    let rtmp = RtmpServer::start();
    let sim = simulator("127.0.0.1:0", Some(ca.identity()), vec![rtmp.rtmp_url()]);
    // A host name, so the CONNECT line in the proxy's log names what the plugin asked for.
    let port = sim.base_url().rsplit(':').next().unwrap().to_owned();
    let endpoint = format!("https://localhost:{port}");
    let mut obs = Obs::launch(
        zego(&endpoint)
            .with_env("SSL_CERT_FILE", &ca.ca_file().to_string_lossy())
            .with_env(
                "HTTPS_PROXY",
                &format!(
                    "http://streamer:{PROXY_PASSWORD}@127.0.0.1:{}",
                    proxy.port()
                ),
            )
            .with_env("NO_PROXY", "example.invalid"),
    );
    goes_live(&mut obs, &rtmp);

    let proxy_log = proxy.log();
    assert!(
        proxy_log.contains(&format!("CONNECT localhost:{port}")),
        "tinyproxy saw no CONNECT:\n{proxy_log}"
    );
    let connected = proxy.connected_hosts();
    assert!(
        !connected.is_empty() && connected.iter().all(|host| host == "localhost"),
        "the proxy connected to {connected:?}:\n{proxy_log}"
    );
    let log = obs.log_text();
    assert!(
        log.contains("API call to localhost through the proxy 127.0.0.1"),
        "the proxy's host is logged"
    );
    assert!(
        !log.contains(PROXY_PASSWORD) && !log.contains("streamer:"),
        "proxy credentials reached the log"
    );
}

#[test]
fn a_proxy_that_refuses_the_login_is_named_in_the_dialog() {
    let ca = TestCa::generate();
    let proxy = ForwardProxy::start(Some(("streamer", "right-password")));
    let sim = simulator("127.0.0.1:0", Some(ca.identity()), Vec::new());
    let mut obs = Obs::launch(
        zego(&sim.base_url())
            .with_env("SSL_CERT_FILE", &ca.ca_file().to_string_lossy())
            .with_env(
                "HTTPS_PROXY",
                &format!("http://streamer:wrong-password@127.0.0.1:{}", proxy.port()),
            ),
    );
    let text = refused_start(&obs);
    assert!(
        text.contains("The proxy 127.0.0.1 did not open a connection to the API host 127.0.0.1"),
        "{text}"
    );
    assert!(!text.contains("wrong-password"), "{text}");
    assert!(proxy.connected_hosts().is_empty(), "{}", proxy.log());
    assert!(sim.zego().requests().is_empty());
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn ipv6_loopback_https_endpoint_and_node() {
    let rtmp = RtmpServer::start_with(
        RtmpOptions {
            ipv6: true,
            ..RtmpOptions::default()
        },
        |_| true,
    );
    let ca = TestCa::generate();
    let sim = simulator("[::1]:0", Some(ca.identity()), vec![rtmp.rtmp_url_ipv6()]);
    assert!(
        sim.base_url().starts_with("https://[::1]:"),
        "{}",
        sim.base_url()
    );
    let mut obs = Obs::launch(
        zego(&sim.base_url()).with_env("SSL_CERT_FILE", &ca.ca_file().to_string_lossy()),
    );
    obs.start_stream().expect("go-live succeeds");
    let publish = rtmp
        .wait_for_publish(Some(STREAM), PUBLISH_TIMEOUT)
        .expect("nginx receives the stream over IPv6");
    assert_eq!(
        publish.fields.get("addr").map(String::as_str),
        Some("::1"),
        "{:?}",
        publish.fields
    );
    obs.assert_went_live_on(&format!("[::1]:{}", rtmp.port()));
    obs.stop_stream().expect("stop");
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn alibaba_rtmps_node_obs_publishes_to() {
    let ca = TestCa::generate();
    let rtmp = RtmpServer::start_rtmps(&ca);
    let sim = sim()
        .aliyun(rtmp.rtmps_url())
        .tls(Some(ca.identity()))
        .start();
    let room = AliyunRoom {
        app_id: "artc-app_1",
        channel_id: "room-7",
        user_id: "obs-host",
        display_name: "rtmps",
    };
    let settings = SettingsBuilder::aliyun(&sim.base_url(), room)
        .cold()
        .with("presence_check", false)
        .build();
    let mut obs = Obs::launch(
        ObsOptions::new(ALIYUN_SERVICE, settings)
            .with_plugin()
            .with_env("SSL_CERT_FILE", &ca.ca_file().to_string_lossy())
            // OBS's own RTMPS client trusts /etc/ssl/certs only.
            .with_system_certs(&ca.trust_dir()),
    );
    obs.start_stream().expect("go-live succeeds");
    let publish = rtmp
        .wait_for_publish(None, PUBLISH_TIMEOUT)
        .expect("nginx receives the stream through the TLS front");
    assert!(
        publish.fields.contains_key("auth_key"),
        "{:?}",
        publish.fields
    );
    let log = obs.log_text();
    assert!(
        log.contains("rtmps://localhost:"),
        "OBS connected with RTMPS:\n{log}"
    );
    assert!(
        !log.contains(ALIYUN_KEY_SECRET),
        "the AccessKey secret reached the log"
    );
    obs.stop_stream().expect("stop");
    assert_eq!(obs.quit().code(), Some(0));
}

/// A listener whose accept queue is full: connection attempts get no answer at all (the kernel
/// drops their SYNs), as with a node behind a firewall that drops packets. Keep the returned
/// values alive for as long as the node must stay silent.
fn silent_node() -> (socket2::Socket, Vec<TcpStream>, u16) {
    let socket = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )
    .unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    socket.bind(&any.into()).unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    let fillers: Vec<TcpStream> = (0..2)
        .filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok())
        .collect();
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_err(),
        "the backlog is not full: the node would answer"
    );
    (socket, fillers, addr.port())
}

/// OBS live through a simulator dispatching `first` and then a working node (the returned
/// nginx), checked to be on the working node.
fn live_behind(first: String) -> (Obs, RtmpServer, Simulator) {
    let rtmp = RtmpServer::start();
    let sim = simulator("127.0.0.1:0", None, vec![first, rtmp.rtmp_url()]);
    let obs = Obs::launch(zego(&sim.base_url()));
    obs.start_stream()
        .expect("go-live succeeds on the second node");
    rtmp.wait_for_publish(Some(STREAM), PUBLISH_TIMEOUT)
        .expect("publish on the node that answers");
    obs.assert_went_live_on(&format!("127.0.0.1:{}", rtmp.port()));
    (obs, rtmp, sim)
}

#[test]
fn a_silent_first_node_is_passed_over() {
    let (_silent, _fillers, silent_port) = silent_node();
    let (mut obs, _rtmp, _sim) = live_behind(format!("rtmp://127.0.0.1:{silent_port}/live"));
    let log = obs.log_text();
    assert!(
        log.contains(&format!("passed over [\"127.0.0.1:{silent_port}\"]")),
        "{log}"
    );
    obs.stop_stream().expect("stop");
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn a_node_that_accepts_tcp_but_never_answers_rtmp_is_skipped() {
    // Accepts (the kernel does, into the backlog) and never reads or writes a byte.
    let mute = TcpListener::bind("127.0.0.1:0").unwrap();
    let mute_port = mute.local_addr().unwrap().port();
    let (mut obs, _rtmp, _sim) = live_behind(format!("rtmp://127.0.0.1:{mute_port}/live"));
    assert!(
        !obs.log_text().contains(&format!(
            "Connecting to RTMP URL rtmp://127.0.0.1:{mute_port}"
        )),
        "OBS was handed the mute node"
    );
    obs.stop_stream().expect("stop");
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn when_no_node_answers_rtmp_the_dialog_says_so() {
    let (_silent, _fillers, silent_port) = silent_node();
    let mute = TcpListener::bind("127.0.0.1:0").unwrap();
    let mute_port = mute.local_addr().unwrap().port();
    let sim = simulator(
        "127.0.0.1:0",
        None,
        vec![
            format!("rtmp://127.0.0.1:{silent_port}/live"),
            format!("rtmp://127.0.0.1:{mute_port}/live"),
        ],
    );
    let mut obs = Obs::launch(zego(&sim.base_url()));
    let text = refused_start(&obs);
    assert!(
        text.contains("None of the ingest nodes answers as an RTMP server"),
        "{text}"
    );
    assert!(
        text.contains(&format!("127.0.0.1:{silent_port}"))
            && text.contains(&format!("127.0.0.1:{mute_port}")),
        "{text}"
    );
    assert_eq!(obs.quit().code(), Some(0));
}

#[test]
fn an_rtmps_node_with_an_untrusted_certificate_is_never_handed_to_obs() {
    let ca = TestCa::generate();
    let rtmp = RtmpServer::start_rtmps(&ca);
    let sim = simulator("127.0.0.1:0", None, vec![rtmp.rtmps_url()]);
    // Neither the plugin nor OBS trusts the test CA.
    let mut obs = Obs::launch(zego(&sim.base_url()));
    let text = refused_start(&obs);
    assert!(
        text.contains("None of the ingest nodes answers as an RTMP server"),
        "{text}"
    );
    let log = obs.log_text();
    assert!(log.contains("skipped: TLS: unknown issuer"), "{log}");
    assert!(!log.contains("Connecting to RTMP URL rtmps://"), "{log}");
    assert_eq!(obs.quit().code(), Some(0));
}
