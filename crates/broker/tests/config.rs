//! `serve` checks its config at start and stops with the key and the reason.

use std::process::Command;

fn serve(config: &str) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!("broker-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broker.toml");
    std::fs::write(&path, config).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_rtc-golive-broker"))
        .arg("serve")
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_bad_config_stops_serve_with_the_reason() {
    let base = r#"
listen = "127.0.0.1:0"
[tokens]
hs256_key = "0123456789abcdef0123456789abcdef"
audience = "obs"
[zego]
app_id = 1234567
server_secret = "SECRET-NOT-TO-BE-PRINTED"
"#;
    for (change, expect) in [
        (("audience = \"obs\"", "audience = \"\""), "audience"),
        (
            ("[zego]", "[zego]\nendpoint = \"http://example.com\""),
            "[zego] endpoint",
        ),
        (
            ("listen = \"127.0.0.1:0\"", "listen = \"anywhere\""),
            "listen",
        ),
        (
            ("listen", "redis_url = \"postgres://db\"\nlisten"),
            "redis_url",
        ),
        (
            ("hs256_key = ", "hs256_key_file = \"/nonexistent/key\"\n#"),
            "hs256_key_file",
        ),
    ] {
        let (ok, stderr) = serve(&base.replace(change.0, change.1));
        assert!(!ok, "{change:?} was accepted");
        assert!(stderr.contains(expect), "{change:?}: {stderr}");
        assert!(!stderr.contains("SECRET-NOT-TO-BE-PRINTED"), "{stderr}");
    }
    let (ok, stderr) = serve("listen = 1");
    assert!(!ok && stderr.contains("broker.toml"), "{stderr}");
}
