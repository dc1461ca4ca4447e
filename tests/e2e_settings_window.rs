//! The settings window inside OBS (Tools -> "RTC Go-Live...") and the obs-websocket vendor
//! requests, end to end in a real OBS 29 on Xvfb.
//!
//! The window is driven like a user would with a keyboard, in a way that holds on every OBS
//! version (29.0, 30 and 31+ order and name OBS's own widgets differently): `xdotool` gives the
//! main window the X input focus, Alt+T opens the Tools menu, Up wraps to its last item (ours:
//! plugins' items come last), Return opens it. The window is found by the plugin's own source
//! name (OBS's translated part of the title changed in 30.0). Inside it, a field is found by
//! what it holds: Tab moves on until Ctrl+A, Ctrl+C puts the expected text on the clipboard
//! (`xclip` reads it); a field with no known value is reached from a found neighbour in the
//! plugin's own form order. Buttons are pressed by their mnemonics (Alt+T Test connection,
//! Alt+A Apply). There is no window manager under Xvfb, so windows are focused with
//! `windowfocus`.
//!
//! Screenshots of the window go to `target/e2e-artifacts/settings-window/` (en-US and zh-CN);
//! with `RTC_GOLIVE_UPDATE_DOCS=1` they are also copied to `docs/screenshots/` for the README.
//! (No window manager: the title bar is not drawn, the title is read with `xwininfo`.)

// The test harness (rtc-golive-test-support) is Unix only.
#![cfg(unix)]

use rtc_golive_test_support as common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use common::fixtures::{sim, SettingsBuilder, ZEGO_APP_ID, ZEGO_SERVER_SECRET, ZEGO_SERVICE};
use common::ui_thread::{window_names, xdotool};
use common::util::{artifacts_dir, wait_until};
use common::{Obs, ObsOptions, RtmpServer};
use rtc_golive_core::config::fields::ZEGO_DEFAULT_ENDPOINT;
use rtc_golive_simulator::Simulator;
use serde_json::{json, Value};

const STREAM_ID: &str = "obs-e2e-window";

/// Upper bound of Tab presses to reach any field of the form from where the focus is.
const MAX_TABS: usize = 25;
/// In the plugin's form order: from Stream ID past Test connection, Apply and IsTest to the
/// API endpoint.
const TABS_STREAM_ID_TO_ENDPOINT: usize = 4;
/// From ServerSecret past its "Show" button to Stream ID.
const TABS_SECRET_TO_STREAM_ID: usize = 2;
/// `cargo test --test e2e_settings_window` builds the crate as an rlib only; the plugin `.so`
/// comes from the last full `cargo build` / `cargo test`. Testing an old plugin would pass or
/// fail for the wrong reasons, so refuse it.
fn assert_plugin_is_fresh() {
    fn newest(dir: &Path) -> std::time::SystemTime {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| {
                let path = e.path();
                if path.is_dir() {
                    newest(&path)
                } else {
                    e.metadata()
                        .and_then(|m| m.modified())
                        .unwrap_or(std::time::UNIX_EPOCH)
                }
            })
            .max()
            .unwrap_or(std::time::UNIX_EPOCH)
    }
    let so = common::plugin_so();
    let built = std::fs::metadata(&so)
        .and_then(|m| m.modified())
        .expect("plugin mtime");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = newest(&root.join("src")).max(newest(&root.join("crates/core/src")));
    assert!(
        built >= source,
        "{} is older than src/ or crates/core/src/: run `cargo build` first (a `--test` run does not rebuild the cdylib)",
        so.display()
    );
}

/// Two cores: one OBS at a time keeps keyboard timing and screenshots dependable.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    assert_plugin_is_fresh();
    guard
}

/// A ZEGOCLOUD simulator whose one app dispatches to `rtmp`.
fn zego_settings(sim: &Simulator) -> Value {
    SettingsBuilder::zego(&sim.base_url(), STREAM_ID).build()
}

// ---------------------------------------------------------------------------------------------
// X helpers.

fn key(display: &str, keys: &str) {
    xdotool(display, &["key", "--delay", "60", keys]).expect("xdotool key");
    thread::sleep(Duration::from_millis(150));
}

fn shift_tab(display: &str, times: usize) {
    for _ in 0..times {
        key(display, "shift+Tab");
    }
}

/// What the X clipboard holds (empty when nobody owns it).
fn clipboard(display: &str) -> String {
    Command::new("xclip")
        .args(["-o", "-selection", "clipboard"])
        .env("DISPLAY", display)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .expect("cannot run xclip (Debian package `xclip`)")
}

/// The text of the focused widget, if it is a text field: Ctrl+A, Ctrl+C, then the clipboard.
/// Other widgets ignore both keys and leave the clipboard as it was.
fn copy_focused(display: &str) -> String {
    key(display, "ctrl+a");
    key(display, "ctrl+c");
    clipboard(display)
}

/// Moves the focus with Tab to the field holding exactly `text`, whatever widgets OBS puts
/// before the plugin's form; panics with a screenshot if no field within [`MAX_TABS`] does.
fn focus_field_holding(display: &str, text: &str) {
    assert_ne!(
        clipboard(display),
        text,
        "the clipboard already holds {text:?}: it would not tell the field"
    );
    for _ in 0..MAX_TABS {
        key(display, "Tab");
        if copy_focused(display) == text {
            return;
        }
    }
    screenshot(
        display,
        "root",
        &screenshots_dir().join("field-not-found.png"),
    );
    panic!("no field of the settings window holds {text:?}");
}

/// Replaces the focused field's text (Tab-focus selects it) and checks what it now holds;
/// `readable` is false for password fields, which refuse to copy.
fn replace_focused(display: &str, text: &str, readable: bool) {
    key(display, "ctrl+a");
    type_text(display, text);
    if readable {
        assert_eq!(
            copy_focused(display),
            text,
            "the focused field took the text"
        );
    }
}

fn type_text(display: &str, text: &str) {
    xdotool(display, &["type", "--delay", "40", text]).expect("xdotool type");
    thread::sleep(Duration::from_millis(150));
}

/// The first window whose name matches `pattern` (a regular expression), waiting up to 10 s.
fn find_window(display: &str, pattern: &str) -> Option<String> {
    wait_until(Duration::from_secs(10), || {
        xdotool(display, &["search", "--onlyvisible", "--name", pattern])
            .ok()
            .and_then(|out| out.lines().next().map(str::to_owned))
    })
}

/// The plugin's own text for `key` in `language` (e.g. `en-US`), from its locale file.
fn plugin_text(language: &str, key: &str) -> String {
    let path = common::data_dir().join(format!("locale/{language}.ini"));
    let text = std::fs::read_to_string(&path).expect("the plugin's locale file");
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{key}=")))
        .map(|value| value.trim_matches('"').to_owned())
        .unwrap_or_else(|| panic!("{key} is missing from {}", path.display()))
}

/// Opens the settings window from the Tools menu with the keyboard; returns its X window id.
/// The window is found by the plugin's source name in `language`, which every OBS version puts
/// in the title.
fn open_settings_window(obs: &Obs, language: &str) -> String {
    let display = obs.display();
    let name = plugin_text(language, "Ui.SourceName");
    let main = find_window(display, "^OBS ").expect("OBS's main window");
    for _attempt in 0..3 {
        xdotool(display, &["windowfocus", "--sync", &main]).expect("focus the main window");
        thread::sleep(Duration::from_millis(300));
        key(display, "alt+t");
        thread::sleep(Duration::from_millis(400));
        key(display, "Up");
        key(display, "Return");
        if let Some(window) = find_window(display, &regex_escape(&name)) {
            // Room for the whole form; no window manager, so place it by hand.
            let _ = xdotool(display, &["windowsize", "--sync", &window, "800", "720"]);
            let _ = xdotool(display, &["windowmove", "--sync", &window, "240", "0"]);
            xdotool(display, &["windowfocus", "--sync", &window])
                .expect("focus the settings window");
            thread::sleep(Duration::from_millis(700));
            return window;
        }
        key(display, "Escape");
    }
    screenshot(display, "root", &screenshots_dir().join("open-failed.png"));
    panic!(
        "the settings window ({name:?} in its title) did not open; windows:\n{}",
        window_names(display)
    );
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if "\\^$.|?*+()[]{}".contains(c) {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Saves a PNG of one window (or the whole screen for `"root"`).
fn screenshot(display: &str, window: &str, path: &Path) {
    let status = Command::new("import")
        .args(["-window", window, path.to_str().expect("UTF-8 path")])
        .env("DISPLAY", display)
        .status()
        .expect("cannot run import (Debian package `imagemagick`)");
    assert!(status.success(), "import failed for {}", path.display());
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "{} is too small ({size} bytes) to show the window",
        path.display()
    );
}

/// A directory holding a compiled `zh_CN.UTF-8` locale, for `LOCPATH`.
///
/// OBS 29 on Linux picks its language from `setlocale(LC_MESSAGES)`, which stays "C" unless the
/// locale is generated; Debian's `locales` package has the sources but generates none by
/// default, so the test compiles one privately instead of changing the system.
fn zh_cn_locale_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("locales");
    let compiled = dir.join("zh_CN.UTF-8");
    if !compiled.join("LC_MESSAGES").exists() {
        std::fs::create_dir_all(&dir).expect("locale dir");
        let status = Command::new("localedef")
            .args(["-i", "zh_CN", "-f", "UTF-8"])
            .arg(&compiled)
            .status()
            .expect("cannot run localedef (Debian package `locales`)");
        assert!(
            compiled.join("LC_MESSAGES").exists(),
            "localedef failed ({status})"
        );
    }
    dir
}

fn screenshots_dir() -> PathBuf {
    artifacts_dir("settings-window")
}

// ---------------------------------------------------------------------------------------------
// obs-websocket helpers.

fn no_secret_in(value: &Value) {
    let text = value.to_string();
    assert!(
        !text.contains(ZEGO_SERVER_SECRET),
        "a secret leaked: {text}"
    );
}

// ---------------------------------------------------------------------------------------------
// The tests.

/// Opens the window with OBS in `lang` (the plugin's texts in `language`), runs Test connection
/// from it, and saves screenshots.
fn window_in_language(lang: &str, language: &str, file: &str) {
    let rtmp = RtmpServer::start();
    let sim = sim().zego(vec![rtmp.rtmp_url()]).start();
    let mut options = ObsOptions::new(ZEGO_SERVICE, zego_settings(&sim))
        .with_plugin()
        .with_lang(lang);
    if lang.starts_with("zh_CN") {
        options = options.with_env("LOCPATH", zh_cn_locale_dir().to_str().expect("UTF-8 path"));
    }
    let obs = Obs::launch(options);
    let display = obs.display().to_owned();
    obs.wait_for_log(
        "obs-websocket vendor obs-rtc-golive registered",
        Duration::from_secs(10),
    )
    .expect("the plugin should register its vendor at post-load");

    let window = open_settings_window(&obs, language);
    let names = window_names(&display);
    let name = plugin_text(language, "Ui.SourceName");
    assert!(
        names.contains(&name),
        "no window with {name:?} in its title:\n{names}"
    );

    // The window is seeded from the profile's service: AppID holds its value. The provider
    // list comes right before it. Choosing the other provider shows its fields instead (the
    // list's modified callback); the rebuilt form keeps the focus on the list, so Up goes back.
    focus_field_holding(&display, &ZEGO_APP_ID.to_string());
    shift_tab(&display, 1);
    key(&display, "Down");
    thread::sleep(Duration::from_millis(800));
    screenshot(
        &display,
        &window,
        &screenshots_dir().join(format!("aliyun-{file}")),
    );
    key(&display, "Up");
    thread::sleep(Duration::from_millis(800));

    // Test connection, through the window's own button (values seeded from the profile).
    key(&display, "alt+t");
    let line = test_connection_log_line(&obs);
    assert!(
        line.contains("ok=true"),
        "the seeded values should test fine: {line}"
    );
    // The worker asks OBS to reload the window; give the UI a moment to redraw.
    thread::sleep(Duration::from_millis(1500));

    let shot = screenshots_dir().join(file);
    screenshot(&display, &window, &shot);
    screenshot(
        &display,
        "root",
        &screenshots_dir().join(format!("screen-{file}")),
    );
    // The README's copies: refreshed on request only, so ordinary runs leave the tree clean.
    if std::env::var_os("RTC_GOLIVE_UPDATE_DOCS").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
        std::fs::create_dir_all(&docs).expect("docs/screenshots");
        std::fs::copy(&shot, docs.join(file)).expect("copy the screenshot to docs/");
    }
    println!("screenshot: {}", shot.display());

    // The window did not change OBS's service.
    let (service_type, _) = obs
        .stream_service_settings()
        .expect("GetStreamServiceSettings");
    assert_eq!(service_type, ZEGO_SERVICE);
    quit_cleanly(obs, &window);
}

/// Closes the settings window with Escape (Cancel). When its values changed since it opened
/// (typed in, then applied), OBS asks whether to keep them, as for any source; Return picks
/// that box's default answer (Save).
fn close_window(obs: &Obs, window: &str) {
    let display = obs.display();
    let closed = || {
        wait_until(Duration::from_secs(3), || {
            xdotool(display, &["search", "--onlyvisible", "--name", "RTC"])
                .is_err()
                .then_some(())
        })
        .is_some()
    };
    let _ = xdotool(display, &["windowfocus", "--sync", window]);
    key(display, "Escape");
    if closed() {
        return;
    }
    // The confirmation box took the focus when it opened.
    key(display, "Return");
    if !closed() {
        screenshot(display, "root", &screenshots_dir().join("close-failed.png"));
        panic!(
            "the settings window should close:\n{}",
            window_names(display)
        );
    }
}

/// Closes the settings window and quits OBS; it must exit cleanly with the plugin's source
/// released and nothing logged as an internal error.
fn quit_cleanly(mut obs: Obs, window: &str) {
    close_window(&obs, window);
    let exit = obs.quit();
    assert_eq!(exit.code(), Some(0), "OBS should exit cleanly: {exit}");
    let log = obs.log_text();
    assert!(
        !log.contains("internal error in"),
        "a callback panicked:\n{log}"
    );
    assert!(
        log.contains("Number of memory leaks: 1"),
        "the baseline OBS 29 leak count (1) should not grow"
    );
}

#[test]
fn window_opens_from_the_tools_menu_in_english() {
    let _serial = serial();
    window_in_language("en_US.UTF-8", "en-US", "settings-en-US.png");
}

#[test]
fn window_opens_from_the_tools_menu_in_chinese() {
    let _serial = serial();
    window_in_language("zh_CN.UTF-8", "zh-CN", "settings-zh-CN.png");
}

/// Entering credentials and pressing "Apply and use this service" in the window makes a
/// ZEGOCLOUD service OBS's streaming service, saved to the profile.
#[test]
fn apply_in_the_window_switches_the_streaming_service() {
    let _serial = serial();
    let rtmp = RtmpServer::start();
    let sim = sim().zego(vec![rtmp.rtmp_url()]).start();
    let mut obs = Obs::launch(
        ObsOptions::new(
            "rtmp_custom",
            json!({"server": rtmp.rtmp_url(), "key": "before"}),
        )
        .with_plugin(),
    );
    let display = obs.display().to_owned();
    obs.wait_for_log(
        "obs-websocket vendor obs-rtc-golive registered",
        Duration::from_secs(10),
    )
    .expect("post-load registration");
    let status = obs.vendor_request("GetStatus", Value::Null);
    assert_eq!(status["activeServiceType"], "rtmp_custom");
    assert_eq!(status["activeServiceIsOurs"], false);

    let window = open_settings_window(&obs, "en-US");
    // Provider stays ZEGOCLOUD (the default). A fresh window's only known text is the default
    // API endpoint; the fields before it are reached from there in the form's order:
    // AppID, ServerSecret (+ its "Show" button), Stream ID, Test connection, Apply, IsTest.
    focus_field_holding(&display, ZEGO_DEFAULT_ENDPOINT);
    replace_focused(&display, &sim.base_url(), true);
    shift_tab(&display, TABS_STREAM_ID_TO_ENDPOINT);
    replace_focused(&display, STREAM_ID, true);
    shift_tab(&display, TABS_SECRET_TO_STREAM_ID);
    replace_focused(&display, ZEGO_SERVER_SECRET, false);
    shift_tab(&display, 1);
    replace_focused(&display, &ZEGO_APP_ID.to_string(), true);
    key(&display, "alt+a");

    let applied = wait_until(Duration::from_secs(10), || {
        obs.stream_service_settings()
            .ok()
            .filter(|(t, _)| t == ZEGO_SERVICE)
    });
    let (service_type, settings) = applied.unwrap_or_else(|| {
        screenshot(
            &display,
            "root",
            &screenshots_dir().join("apply-failed.png"),
        );
        panic!(
            "Apply did not switch the service: {:?}",
            obs.stream_service_settings()
        )
    });
    assert_eq!(service_type, ZEGO_SERVICE);
    assert_eq!(settings["app_id"], json!(ZEGO_APP_ID));
    assert_eq!(settings["server_secret"], ZEGO_SERVER_SECRET);
    assert_eq!(settings["stream_id"], STREAM_ID);
    assert_eq!(settings["endpoint"], sim.base_url());
    obs.wait_for_log(
        "settings window: zego_rtmp_dispatch is now the streaming service",
        Duration::from_secs(5),
    )
    .expect("Apply logs what it did");
    assert!(
        !obs.log_text().contains(ZEGO_SERVER_SECRET),
        "the secret must never reach the log"
    );
    screenshot(
        &display,
        "root",
        &screenshots_dir().join("applied-en-US.png"),
    );

    let status = obs.vendor_request("GetStatus", Value::Null);
    assert_eq!(status["activeServiceType"], ZEGO_SERVICE);
    assert_eq!(status["activeServiceIsOurs"], true);

    // Saved to the profile: still there after a restart.
    close_window(&obs, &window);
    let exit = obs.quit();
    assert_eq!(exit.code(), Some(0), "OBS should exit cleanly: {exit}");
    let saved = std::fs::read_to_string(obs.config_dir().join("basic/profiles/e2e/service.json"))
        .expect("service.json");
    let saved: Value = serde_json::from_str(&saved).expect("service.json is JSON");
    assert_eq!(saved["type"], ZEGO_SERVICE);
    obs.relaunch();
    let (service_type, settings) = obs
        .stream_service_settings()
        .expect("GetStreamServiceSettings");
    assert_eq!(service_type, ZEGO_SERVICE);
    assert_eq!(settings["stream_id"], STREAM_ID);

    // The window is seeded from the profile's service: its Test connection works with the
    // values typed before the restart, which now live only in service.json.
    let display = obs.display().to_owned();
    let window = open_settings_window(&obs, "en-US");
    key(&display, "alt+t");
    let line = test_connection_log_line(&obs);
    assert!(
        line.contains("ok=true"),
        "the window should be seeded from the saved service: {line}"
    );
    thread::sleep(Duration::from_millis(1500));
    screenshot(
        &display,
        &window,
        &screenshots_dir().join("reopened-en-US.png"),
    );
    quit_cleanly(obs, &window);
    drop(sim);
}

/// TestConnection over obs-websocket against the simulator: success with node and RequestId,
/// a wrong secret (code 100000005), and an invalid stream id (a config error naming the field).
#[test]
fn test_connection_vendor_request() {
    let _serial = serial();
    let rtmp = RtmpServer::start();
    let sim = sim().zego(vec![rtmp.rtmp_url()]).start();
    let settings = zego_settings(&sim);
    let obs = Obs::launch(ObsOptions::new(ZEGO_SERVICE, settings.clone()).with_plugin());
    obs.wait_for_log(
        "obs-websocket vendor obs-rtc-golive registered",
        Duration::from_secs(10),
    )
    .expect("post-load registration");

    // Default: OBS's streaming service and its settings.
    let ok = obs.vendor_request("TestConnection", Value::Null);
    println!("TestConnection: {ok}");
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(ok["serviceType"], ZEGO_SERVICE);
    assert_eq!(ok["node"], format!("127.0.0.1:{}", rtmp.port()));
    assert!(
        !ok["requestId"].as_str().unwrap_or_default().is_empty(),
        "{ok}"
    );
    assert!(ok["latencyMs"].as_u64().is_some(), "{ok}");
    assert_eq!(ok["error"], "");
    no_secret_in(&ok);

    let mut wrong = settings.clone();
    wrong["server_secret"] = json!("ffffffffffffffffffffffffffffffff");
    let refused = obs.vendor_request(
        "TestConnection",
        json!({"serviceType": ZEGO_SERVICE, "settings": wrong}),
    );
    println!("wrong secret: {refused}");
    assert_eq!(refused["ok"], false);
    let error = refused["error"].as_str().unwrap_or_default();
    assert!(error.contains("100000005"), "{error}");
    assert!(
        !refused["requestId"].as_str().unwrap_or_default().is_empty(),
        "{refused}"
    );
    no_secret_in(&refused);

    let mut invalid = settings.clone();
    invalid["stream_id"] = json!("not a valid id");
    let config = obs.vendor_request(
        "TestConnection",
        json!({"serviceType": ZEGO_SERVICE, "settings": invalid}),
    );
    println!("invalid stream id: {config}");
    assert_eq!(config["ok"], false);
    assert_eq!(config["field"], "stream_id");
    let error = config["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("Stream ID"),
        "the error should name the field: {error}"
    );

    let unknown = obs.vendor_request("TestConnection", json!({"serviceType": "rtmp_custom"}));
    assert_eq!(unknown["ok"], false);
    assert!(
        unknown["error"]
            .as_str()
            .unwrap_or_default()
            .contains("rtmp_custom"),
        "{unknown}"
    );

    // GetStatus after a real go-live.
    obs.start_stream()
        .expect("the configured service should go live");
    let status = obs.vendor_request("GetStatus", Value::Null);
    println!("GetStatus: {status}");
    assert_eq!(status["activeServiceType"], ZEGO_SERVICE);
    assert_eq!(status["activeServiceIsOurs"], true);
    assert_eq!(status["hasLastGoLive"], true);
    let last = &status["lastGoLive"];
    assert_eq!(last["provider"], ZEGO_SERVICE);
    assert_eq!(last["ok"], true);
    assert_eq!(last["node"], format!("127.0.0.1:{}", rtmp.port()));
    assert!(
        !last["requestId"].as_str().unwrap_or_default().is_empty(),
        "{status}"
    );
    assert!(
        last["time"].as_str().unwrap_or_default().ends_with('Z'),
        "RFC 3339 UTC: {status}"
    );
    no_secret_in(&status);
    obs.stop_stream().expect("StopStream");
    drop(sim);
}

/// The log line of the Test connection the window just started.
fn test_connection_log_line(obs: &Obs) -> String {
    obs.wait_for_log(
        "test connection: provider=zegocloud",
        Duration::from_secs(15),
    )
    .expect("the window's Test connection should run")
}
