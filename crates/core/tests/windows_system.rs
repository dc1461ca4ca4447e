//! What a Windows user sets for the whole system reaches the plugin's HTTP calls: the proxy
//! from Internet Options (`HKCU\...\Internet Settings`, which browsers and OBS itself use) and
//! the trusted roots of the Windows certificate store. Runs under Wine in CI
//! (`build-scripts/windows.sh test`); it changes the current user's proxy settings, so it is a
//! test binary of its own, and puts them back.

#![cfg(windows)]

use rtc_golive_core::api_client::ApiClient;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

const INTERNET_SETTINGS: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings";

fn reg(args: &[&str]) {
    let out = Command::new("reg")
        .args(args)
        .output()
        .expect("run reg.exe");
    assert!(
        out.status.success(),
        "reg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn set_value(name: &str, kind: &str, data: &str) {
    reg(&[
        "add",
        INTERNET_SETTINGS,
        "/v",
        name,
        "/t",
        kind,
        "/d",
        data,
        "/f",
    ]);
}

/// The tests that change the proxy settings take turns.
static REGISTRY: Mutex<()> = Mutex::new(());

/// Puts the proxy settings back to "no proxy" when the test ends, passed or not.
struct ProxyOff;

impl Drop for ProxyOff {
    fn drop(&mut self) {
        set_value("ProxyEnable", "REG_DWORD", "0");
        let _ = Command::new("reg")
            .args(["delete", INTERNET_SETTINGS, "/v", "ProxyServer", "/f"])
            .output();
        let _ = Command::new("reg")
            .args(["delete", INTERNET_SETTINGS, "/v", "ProxyOverride", "/f"])
            .output();
    }
}

/// A proxy on loopback that answers every request with 200 and a fixed body, and hands back
/// the request line it got.
fn one_shot_proxy() -> (u16, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut request_line = String::new();
        reader.read_line(&mut request_line).expect("request line");
        let mut line = String::new();
        while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
            line.clear();
        }
        let mut stream = stream;
        stream
            .write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nvia-registry",
            )
            .expect("answer");
        request_line.trim_end().to_string()
    });
    (port, handle)
}

#[test]
fn the_proxy_set_in_internet_options_carries_the_calls() {
    let _turn = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    let _restore = ProxyOff;
    let (port, proxy) = one_shot_proxy();
    set_value("ProxyServer", "REG_SZ", &format!("127.0.0.1:{port}"));
    set_value("ProxyOverride", "REG_SZ", "<local>;*.direct.example");
    set_value("ProxyEnable", "REG_DWORD", "1");

    // The settings are read when a client is made, as OBS reads them when it starts.
    let client = ApiClient::with_defaults().expect("client");
    let vendor = url::Url::parse("http://rtc-api.zego.im/?Action=RTMPDispatchV2").unwrap();
    assert_eq!(client.proxy_host(&vendor).as_deref(), Some("127.0.0.1"));
    let bypassed = url::Url::parse("http://api.direct.example/").unwrap();
    assert_eq!(
        client.proxy_host(&bypassed),
        None,
        "ProxyOverride is honoured"
    );

    let answer = client
        .get(&vendor, &[])
        .expect("the call goes through the proxy");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, b"via-registry");
    let request_line = proxy.join().expect("proxy thread");
    assert_eq!(
        request_line, "GET http://rtc-api.zego.im/?Action=RTMPDispatchV2 HTTP/1.1",
        "the proxy got the absolute-form request"
    );
}

#[test]
fn no_proxy_is_used_when_internet_options_set_none() {
    let _turn = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    let _restore = ProxyOff;
    set_value("ProxyEnable", "REG_DWORD", "0");
    let client = ApiClient::with_defaults().expect("client");
    let vendor = url::Url::parse("https://rtc-api.zego.im/").unwrap();
    assert_eq!(client.proxy_host(&vendor), None);
}

#[test]
fn the_windows_certificate_store_is_read() {
    // Wine fills the store from the host's CA bundle, as Windows ships its own roots.
    let native = rustls_native_certs::load_native_certs();
    assert!(native.errors.is_empty(), "{:?}", native.errors);
    assert!(
        native.certs.len() > 50,
        "only {} roots in the Windows store",
        native.certs.len()
    );
}
