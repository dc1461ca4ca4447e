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

/// A directory of its own for each test (removed at the end).
struct Dir(std::path::PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("broker-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    /// Writes a secret file readable by its owner only (or with `mode`).
    fn secret(&self, name: &str, text: &str, mode: u32) -> std::path::PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        #[cfg(not(unix))]
        let _ = mode;
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `token` with the config `text` (in `dir`) and `env`: (success, stdout, stderr).
fn token(dir: &Dir, text: &str, env: &[(&str, &str)]) -> (bool, String, String) {
    let path = dir.0.join("broker.toml");
    std::fs::write(&path, text).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_rtc-golive-broker"))
        .args(["token", "--sub", "alice", "--zego-stream-id", "alice-main"])
        .arg("--config")
        .arg(&path)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn every_secret_may_come_from_a_file_or_the_environment() {
    let dir = Dir::new("secret-sources");
    let token_key = dir.secret("hs256.key", "0123456789abcdef0123456789abcdef\n", 0o600);
    dir.secret(
        "zego.secret",
        "SECRET-FROM-FILE-0123456789abcdef\r\n",
        0o640,
    );
    let admin = dir.secret("admin.key", "admin-key-from-file-0123", 0o400);
    let config = format!(
        // Literal strings: a Windows path's backslashes are no escapes.
        r#"
listen = "127.0.0.1:0"
admin_key_file = '{}'
[tokens]
hs256_key_file = '{}'
audience = "obs"
[zego]
app_id = 1234567
server_secret_file = "zego.secret"
[aliyun]
access_key_id = "LTAI0123456789"
access_key_secret_env = "RTC_GOLIVE_TEST_ALIYUN_SECRET"
app_id = "artc-app"
"#,
        admin.display(),
        token_key.display(),
    );
    let env = [("RTC_GOLIVE_TEST_ALIYUN_SECRET", "SECRET-FROM-ENV\n")];
    let (ok, stdout, stderr) = token(&dir, &config, &env);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim().split('.').count(), 3, "{stdout}");

    for (from, to, expect) in [
        // Two sources for one secret.
        (
            "server_secret_file = \"zego.secret\"",
            "server_secret_file = \"zego.secret\"\nserver_secret = \"inline\"",
            "[zego] server_secret: set only one of server_secret, server_secret_file and server_secret_env",
        ),
        // None.
        (
            "server_secret_file = \"zego.secret\"",
            "",
            "[zego]: set one of server_secret",
        ),
        (
            "access_key_secret_env = \"RTC_GOLIVE_TEST_ALIYUN_SECRET\"",
            "access_key_secret_env = \"RTC_GOLIVE_TEST_UNSET_VARIABLE\"",
            "[aliyun] access_key_secret_env: the environment variable RTC_GOLIVE_TEST_UNSET_VARIABLE is not set",
        ),
        (
            "server_secret_file = \"zego.secret\"",
            "server_secret_file = \"missing.secret\"",
            "[zego] server_secret_file: cannot read",
        ),
        (
            "admin_key_file",
            "admin_key = \"inline-admin-key-0123\"\nadmin_key_env",
            "admin_key: set only one of admin_key, admin_key_file and admin_key_env",
        ),
    ] {
        assert!(config.contains(from), "{from}");
        let (ok, _, stderr) = token(&dir, &config.replace(from, to), &env);
        assert!(!ok, "{to:?} was accepted");
        assert!(stderr.contains(expect), "{to:?}: {stderr}");
        assert!(!stderr.contains("SECRET-FROM"), "{stderr}");
    }
}

#[cfg(unix)]
#[test]
fn a_secret_file_every_user_may_read_is_refused() {
    let dir = Dir::new("secret-mode");
    dir.secret("zego.secret", "SECRET-FROM-FILE-0123456789abcdef\n", 0o644);
    let config = r#"
listen = "127.0.0.1:0"
[tokens]
hs256_key_env = "RTC_GOLIVE_TEST_HS256"
audience = "obs"
[zego]
app_id = 1234567
server_secret_file = "zego.secret"
"#;
    let env = [("RTC_GOLIVE_TEST_HS256", "0123456789abcdef0123456789abcdef")];
    let (ok, _, stderr) = token(&dir, config, &env);
    assert!(!ok);
    assert!(
        stderr.contains("[zego] server_secret_file:")
            && stderr.contains("is readable by every user (mode 644)")
            && stderr.contains("chmod o-rwx"),
        "{stderr}"
    );
    assert!(!stderr.contains("SECRET-FROM"), "{stderr}");
    dir.secret("zego.secret", "SECRET-FROM-FILE-0123456789abcdef\n", 0o600);
    let (ok, _, stderr) = token(&dir, config, &env);
    assert!(ok, "{stderr}");
}
