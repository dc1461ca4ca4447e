//! A throwaway OBS Studio instance: its own HOME, profile, scene collection and X display,
//! driven over obs-websocket with `obws`.

use std::cell::Cell;
use std::fmt::{self, Write as _};
use std::fs::{self, OpenOptions};
use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use obws::requests::general::CallVendorRequest;
use obws::requests::EventSubscription;
use obws::responses::streaming::StreamStatus;
use serde_json::{json, Value};
use tokio::runtime::Runtime;

use super::display::Xvfb;
use super::util::{
    artifacts_dir, copy_dir, current_test_name, die_with_parent, free_port, stop_child,
    tail_of_file, wait_until, TempDir,
};
use super::SYSTEM_PLUGIN_ENV;

/// Output (and canvas) width every instance streams at.
pub const VIDEO_WIDTH: u32 = 320;
/// Output (and canvas) height every instance streams at.
pub const VIDEO_HEIGHT: u32 = 180;
/// Frames per second.
pub const FPS: u32 = 30;
/// Simple-mode x264 video bitrate in kbit/s.
pub const VIDEO_BITRATE_KBPS: u32 = 300;
/// The plugin's module name: its directory under `~/.config/obs-studio/plugins/` and its `.so`.
pub const PLUGIN_MODULE: &str = "obs-rtc-golive";
/// The plugin's obs-websocket vendor name (its `GetStatus`, `TestConnection`, `CancelStart`).
pub const PLUGIN_VENDOR: &str = "obs-rtc-golive";

/// Name of the profile and of the scene collection the harness writes.
const PROFILE: &str = "e2e";
/// Upper bound for OBS to start and answer obs-websocket requests.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(30);
/// Launch attempts when the obs-websocket port turns out to be taken.
const LAUNCH_ATTEMPTS: usize = 3;
/// What obs-websocket 5.1 logs when its port is taken.
const WS_LISTEN_FAILED_MARKER: &str = "[WebSocketServer::Start] Listen failed";
/// Upper bound for one obs-websocket request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Upper bound for [`Obs::start_stream`] / [`Obs::stop_stream`] to see the outcome.
const OUTPUT_TIMEOUT: Duration = Duration::from_secs(30);
/// Upper bound for OBS to exit after SIGINT in [`Obs::quit`].
const QUIT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long [`Obs::quit`] lets the UI settle after a stream start or stop before SIGINT.
const QUIT_SETTLE: Duration = Duration::from_millis(500);
/// How long the harness keeps pressing Escape on OBS's dialogs before quitting.
const DIALOG_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause between pressing Escape on the open dialogs and looking again.
const DIALOG_CLOSE_POLL: Duration = Duration::from_millis(200);
/// Extra time [`Obs::quit`] gives a freshly started OBS: a SIGINT during its first paints can
/// crash OBS 29.0 the same way.
const STARTUP_SETTLE: Duration = Duration::from_secs(1);
/// Grace period between SIGINT and SIGKILL when an [`Obs`] is dropped.
const DROP_GRACE: Duration = Duration::from_secs(5);
/// What OBS 29 logs when `obs_output_start` returns false (e.g. a service's `initialize`).
const START_FAILED_MARKER: &str = "failed to start!";
/// What OBS logs in front of the output's last error on a failed start.
const LAST_ERROR_MARKER: &str = "Last Error: ";
/// What the frontend logs whenever the stream output stops, also after a failed connect.
const STREAMING_STOP_MARKER: &str = "==== Streaming Stop";
/// What the plugin logs when a start fails on the output's connect thread (the vendor work
/// runs off the UI thread), followed by the text it set as the output's last error, with its
/// line breaks shown as ` | `; OBS then stops the output and shows that text in its dialog.
const CONNECT_THREAD_REFUSAL_MARKER: &str = "go-live refused on the connect thread: ";

/// The plugin's files to install into the throwaway HOME.
#[derive(Clone, Debug)]
pub struct PluginFiles {
    /// The plugin `.so` (installed as `<module>/bin/64bit/obs-rtc-golive.so`).
    pub so: PathBuf,
    /// The plugin's data dir, e.g. the repo's `data/` (installed as `<module>/data/`).
    pub data_dir: PathBuf,
}

/// How to launch an [`Obs`]. Build with [`ObsOptions::new`] and the `with_*` methods.
#[derive(Clone, Debug)]
pub struct ObsOptions {
    /// The stream service id written to the profile's `service.json` (e.g. `rtmp_custom`).
    pub service_type: String,
    /// The stream service settings written to `service.json`.
    pub service_settings: Value,
    /// The plugin to install, if any.
    pub plugin: Option<PluginFiles>,
    /// `(section, key, value)` entries that replace or extend the profile's `basic.ini`
    /// (except `SimpleOutput`/`FilePath` and `AdvOut`/`RecFilePath`: the harness recognises its
    /// OBS by them).
    pub profile_ini: Vec<(String, String, String)>,
    /// Extra environment variables for OBS.
    pub env: Vec<(String, String)>,
    /// `LANG` for OBS.
    pub lang: String,
    /// OBS's UI language (`[General] Language` in global.ini, e.g. `zh-CN`), which is also the
    /// plugin's locale; OBS's default when `None`.
    pub ui_language: Option<String>,
    /// Subdirectory of `target/e2e-artifacts/` the logs are copied to.
    pub artifacts_name: String,
    /// A directory OBS sees as `/etc/ssl/certs` (the roots its RTMPS output trusts), in a
    /// mount namespace of its own; the machine's store when `None`.
    pub system_certs: Option<PathBuf>,
}

impl ObsOptions {
    /// Options for streaming to `service_type` with `service_settings`, no plugin,
    /// `LANG=en_US.UTF-8`, artifacts named after the running test.
    pub fn new(service_type: &str, service_settings: Value) -> ObsOptions {
        ObsOptions {
            service_type: service_type.to_owned(),
            service_settings,
            plugin: None,
            profile_ini: Vec::new(),
            env: Vec::new(),
            lang: "en_US.UTF-8".to_owned(),
            ui_language: None,
            artifacts_name: current_test_name(),
            system_certs: None,
        }
    }

    /// Runs OBS with `dir` in place of `/etc/ssl/certs` (needs root, as the harness has): the
    /// only way to make OBS's RTMPS output trust a test CA without touching the machine's store.
    pub fn with_system_certs(mut self, dir: &Path) -> ObsOptions {
        self.system_certs = Some(dir.to_owned());
        self
    }

    /// Installs the freshly built plugin ([`super::plugin_so`]) with the repo's `data/`.
    pub fn with_plugin(self) -> ObsOptions {
        self.with_plugin_files(super::plugin_so(), super::data_dir())
    }

    /// Installs the plugin from the given `.so` and data dir.
    pub fn with_plugin_files(mut self, so: PathBuf, data_dir: PathBuf) -> ObsOptions {
        self.plugin = Some(PluginFiles { so, data_dir });
        self
    }

    /// Sets `key=value` in `[section]` of the profile's `basic.ini` (e.g. `Output`,
    /// `RetryDelay`, `1`).
    pub fn with_profile_ini(mut self, section: &str, key: &str, value: &str) -> ObsOptions {
        self.profile_ini
            .push((section.to_owned(), key.to_owned(), value.to_owned()));
        self
    }

    /// Adds an environment variable for OBS.
    pub fn with_env(mut self, key: &str, value: &str) -> ObsOptions {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Sets OBS's UI language, e.g. `zh-CN`: what a user picks in Settings -> General.
    pub fn with_ui_language(mut self, language: &str) -> ObsOptions {
        self.ui_language = Some(language.to_owned());
        self
    }

    /// Sets `LANG` for OBS, e.g. `de_DE.UTF-8`.
    pub fn with_lang(mut self, lang: &str) -> ObsOptions {
        self.lang = lang.to_owned();
        self
    }
}

/// Why a request to OBS did not succeed.
#[derive(Debug)]
pub enum ObsError {
    /// OBS is not running (never connected, quit or killed).
    NotRunning,
    /// obs-websocket refused the request (e.g. code 700 for an unknown service type) or the
    /// connection failed.
    Request(obws::error::Error),
    /// The named request or wait got no answer in time.
    Timeout(&'static str),
    /// `StartStream` was accepted but OBS logged `... failed to start!`: the service's
    /// `initialize` (or the output) refused. `last_error` is the text after `Last Error: `.
    /// Also when the plugin refused on the output's connect thread and OBS then stopped the
    /// output: `last_error` is the text the plugin set as the output's last error.
    StartFailed {
        /// `obs_output_get_last_error`, as logged; `None` if the output set none.
        last_error: Option<String>,
    },
    /// The output started but stopped before going live (e.g. the RTMP connect failed).
    StoppedBeforeLive {
        /// The log lines written since `StartStream`.
        log: String,
    },
}

impl fmt::Display for ObsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObsError::NotRunning => write!(f, "OBS is not running"),
            ObsError::Request(e) => write!(f, "obs-websocket request failed: {e:?}"),
            ObsError::Timeout(what) => write!(f, "no answer from OBS in time: {what}"),
            ObsError::StartFailed { last_error } => {
                write!(f, "the stream failed to start, last error: {last_error:?}")
            }
            ObsError::StoppedBeforeLive { log } => {
                write!(f, "the stream stopped before going live; log:\n{log}")
            }
        }
    }
}

impl std::error::Error for ObsError {}

/// A running OBS with its own HOME (a temp dir), X display and obs-websocket port.
///
/// All methods block (there is a private tokio runtime inside), so use it from plain `#[test]`
/// functions, not from `#[tokio::test]`. On drop OBS gets SIGINT, then SIGKILL after 5 s, and its
/// logs and stdout/stderr are copied to `target/e2e-artifacts/<test name>/`.
pub struct Obs {
    options: ObsOptions,
    ws_port: u16,
    runtime: Runtime,
    client: Option<obws::Client>,
    process: Option<Child>,
    /// When `process` was spawned: older log files belong to earlier runs.
    spawned_at: SystemTime,
    /// When the UI last had to repaint for a change the harness caused: OBS coming up, the
    /// stream output starting or stopping, or one the test noted ([`Obs::ui_changed`]); see
    /// [`Obs::quit`].
    output_changed_at: Cell<Option<Instant>>,
    /// Whether a failed start may have left OBS's modal error dialog open (see [`Obs::quit`]).
    error_dialog_open: Cell<bool>,
    xvfb: Xvfb,
    home: TempDir,
}

impl Obs {
    /// Writes a fresh HOME for `options`, starts Xvfb and OBS, and waits (up to 30 s) until
    /// obs-websocket answers requests. Panics with OBS's output and log if it does not.
    pub fn launch(options: ObsOptions) -> Obs {
        let home = TempDir::new("e2e-obs");
        let ws_port = free_port();
        write_config(home.path(), &options, ws_port);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("cannot build a tokio runtime");
        let mut obs = Obs {
            options,
            ws_port,
            runtime,
            client: None,
            process: None,
            spawned_at: SystemTime::now(),
            output_changed_at: Cell::new(None),
            error_dialog_open: Cell::new(false),
            xvfb: Xvfb::start(),
            home,
        };
        obs.start_process();
        obs
    }

    /// Starts OBS again with the same HOME (profile, logs, plugin config), e.g. after
    /// [`Obs::quit`] or [`Obs::kill9`]. Panics if OBS is still running.
    pub fn relaunch(&mut self) {
        assert!(
            !self.is_running(),
            "relaunch: OBS is still running; quit() or kill9() it first"
        );
        self.start_process();
    }

    /// The throwaway HOME; OBS's config is in `<home>/.config/obs-studio`.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// OBS's config dir, `<home>/.config/obs-studio`.
    pub fn config_dir(&self) -> PathBuf {
        self.home.path().join(".config/obs-studio")
    }

    /// The obs-websocket port (for a second client, e.g. one subscribed to high-volume events).
    pub fn ws_port(&self) -> u16 {
        self.ws_port
    }

    /// The X display OBS runs on, e.g. `:3` (for `xdotool` or `import -window root`).
    pub fn display(&self) -> &str {
        self.xvfb.display()
    }

    /// Whether the OBS process is alive.
    pub fn is_running(&mut self) -> bool {
        self.process
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// The OBS process id (e.g. to read `/proc/<pid>/status`); `None` after quit or kill.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(Child::id)
    }

    /// Runs any obws request against this OBS, bounded to 10 s, e.g.
    /// `obs.request("GetVersion", |c| async move { c.general().version().await })`.
    pub fn request<'a, T, F>(
        &'a self,
        what: &'static str,
        call: impl FnOnce(&'a obws::Client) -> F,
    ) -> Result<T, ObsError>
    where
        F: Future<Output = obws::error::Result<T>>,
    {
        let client = self.client.as_ref().ok_or(ObsError::NotRunning)?;
        self.runtime
            .block_on(async { tokio::time::timeout(REQUEST_TIMEOUT, call(client)).await })
            .map_err(|_| ObsError::Timeout(what))?
            .map_err(|e| {
                // CI keeps only what a test prints: say here when the request failed because OBS died.
                if let Some(report) = self.exit_report() {
                    println!("harness: {report}");
                }
                ObsError::Request(e)
            })
    }

    /// When OBS has exited on its own (say, a request failed because its connection closed):
    /// how it ended and the tails of its output. Waits up to 2 s for an OBS that is still on its
    /// way out; the process stays unreaped (`WNOWAIT`), so quit and drop still see its status.
    pub fn exit_report(&self) -> Option<String> {
        let pid = self.pid()?;
        let ended = wait_until(Duration::from_secs(2), || {
            // SAFETY: a zeroed siginfo_t is a valid out-parameter for waitid, which fills it
            // for an exited child (si_pid stays 0 while it runs); WNOWAIT leaves the child
            // waitable and WNOHANG returns at once; si_status is set for every CLD_* code that
            // WEXITED reports.
            unsafe {
                let mut info: libc::siginfo_t = std::mem::zeroed();
                let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
                let peeked = libc::waitid(libc::P_PID, pid, &mut info, flags);
                (peeked == 0 && info.si_pid() != 0).then(|| (info.si_code, info.si_status()))
            }
        });
        let (code, status) = ended?;
        let how = match code {
            libc::CLD_EXITED => format!("exit code {status}"),
            libc::CLD_DUMPED => format!("signal {status}, core dumped"),
            _ => format!("signal {status}"),
        };
        Some(format!("OBS exited ({how})\n{}", self.output_tails()))
    }

    /// `CallVendorRequest` to the plugin's vendor ([`PLUGIN_VENDOR`]): its response data.
    /// Panics when OBS does not answer or another vendor does.
    pub fn vendor_request(&self, request_type: &str, data: Value) -> Value {
        let response = self
            .request("CallVendorRequest", |c| {
                let data = data.clone();
                async move {
                    c.general()
                        .call_vendor_request::<Value, Value>(CallVendorRequest {
                            vendor_name: PLUGIN_VENDOR,
                            request_type,
                            request_data: &data,
                        })
                        .await
                }
            })
            .unwrap_or_else(|e| panic!("{request_type}: {e}"));
        assert_eq!(response.vendor_name, PLUGIN_VENDOR);
        response.response_data
    }

    /// The plugin's `GetStatus` vendor request: OBS's streaming service, the plugin's version,
    /// its last go-live (`lastGoLive`: provider, ok, node, requestId, latencyMs, error,
    /// warnings) and its last alert (`lastAlert`).
    pub fn plugin_status(&self) -> Value {
        self.vendor_request("GetStatus", Value::Null)
    }

    /// `lastGoLive` of [`Obs::plugin_status`]: the plugin's last go-live (provider, ok, node,
    /// requestId, latencyMs, error, warnings). Panics when it has none.
    pub fn last_go_live(&self) -> Value {
        let mut status = self.plugin_status();
        match status.get_mut("lastGoLive").map(Value::take) {
            Some(go_live) if go_live.is_object() => go_live,
            _ => panic!("GetStatus has no last go-live: {status}"),
        }
    }

    /// Asserts that the plugin's last go-live succeeded on `node` (`host:port`), as `GetStatus`
    /// tells it.
    pub fn assert_went_live_on(&self, node: &str) {
        let go_live = self.last_go_live();
        assert!(
            go_live["ok"] == json!(true) && go_live["node"] == json!(node),
            "the last go-live was not on {node}: {go_live}"
        );
    }

    /// `SetStreamServiceSettings`. Note: with the type already in use, obs-websocket MERGES
    /// `settings` into the current ones.
    pub fn set_stream_service(&self, service_type: &str, settings: &Value) -> Result<(), ObsError> {
        self.request("SetStreamServiceSettings", |c| async move {
            c.config()
                .set_stream_service_settings(service_type, settings)
                .await
        })
    }

    /// `GetStreamServiceSettings`, as `(type, settings)`.
    pub fn stream_service_settings(&self) -> Result<(String, Value), ObsError> {
        self.request("GetStreamServiceSettings", |c| async move {
            c.config().stream_service_settings::<Value>().await
        })
        .map(|s| (s.r#type, s.settings))
    }

    /// `GetStreamStatus`.
    pub fn stream_status(&self) -> Result<StreamStatus, ObsError> {
        self.request("GetStreamStatus", |c| async move {
            c.streaming().status().await
        })
    }

    /// Notes a change the test caused that OBS's UI has to repaint for, outside the harness's
    /// own requests (a pull source starting to play: its mixer strip's meter starts moving), so
    /// that [`Obs::quit`] lets the UI settle first, as after a stream start.
    pub fn ui_changed(&self) {
        self.output_changed_at.set(Some(Instant::now()));
    }

    /// Whether the stream output is active (live or reconnecting); `false` if OBS does not answer.
    pub fn stream_active(&self) -> bool {
        self.stream_status().is_ok_and(|s| s.active)
    }

    /// Sends `StartStream` and waits (up to 30 s) for the outcome: `Ok` once the output is active,
    /// [`ObsError::StartFailed`] if OBS logged `failed to start!` (a service's `initialize`
    /// refused; OBS 29 then shows a modal dialog, but keeps answering requests),
    /// [`ObsError::StoppedBeforeLive`] if the output stopped (e.g. connect failed).
    pub fn start_stream(&self) -> Result<(), ObsError> {
        self.output_changed_at.set(Some(Instant::now()));
        let log_mark = self.log_text().len();
        self.request(
            "StartStream",
            |c| async move { c.streaming().start().await },
        )?;
        self.start_outcome_since(log_mark)
    }

    /// Waits (up to 30 s) for the outcome of a `StartStream` sent after the log was
    /// `log_mark` bytes long, as [`Obs::start_stream`] does.
    pub fn start_outcome_since(&self, log_mark: usize) -> Result<(), ObsError> {
        let outcome = wait_until(OUTPUT_TIMEOUT, || {
            if self.stream_active() {
                return Some(Ok(()));
            }
            let text = self.log_text();
            let new_lines = text.get(log_mark..).unwrap_or(&text);
            if let Some(line) = new_lines.lines().find(|l| l.contains(START_FAILED_MARKER)) {
                let last_error = line
                    .split_once(LAST_ERROR_MARKER)
                    .map(|(_, error)| error.trim().to_owned());
                return Some(Err(ObsError::StartFailed { last_error }));
            }
            let stopped = new_lines.contains(STREAMING_STOP_MARKER);
            if let Some((_, refusal)) = new_lines
                .split_once(CONNECT_THREAD_REFUSAL_MARKER)
                .filter(|_| stopped)
            {
                let text = refusal.lines().next().unwrap_or_default();
                return Some(Err(ObsError::StartFailed {
                    last_error: Some(text.trim().replace(" | ", "\n")),
                }));
            }
            stopped.then(|| {
                Err(ObsError::StoppedBeforeLive {
                    log: new_lines.to_owned(),
                })
            })
        })
        .unwrap_or(Err(ObsError::Timeout("stream output going live")));
        self.output_changed_at.set(Some(Instant::now()));
        if matches!(
            outcome,
            Err(ObsError::StartFailed { .. } | ObsError::StoppedBeforeLive { .. })
        ) {
            self.error_dialog_open.set(true);
        }
        outcome
    }

    /// Sends `StopStream` and waits (up to 30 s) until the output is no longer active and the
    /// frontend has logged the stop (so a following [`Obs::start_stream`] cannot take that line
    /// for its own failure).
    pub fn stop_stream(&self) -> Result<(), ObsError> {
        self.output_changed_at.set(Some(Instant::now()));
        let log_mark = self.log_text().len();
        self.request("StopStream", |c| async move { c.streaming().stop().await })?;
        let stopped = wait_until(OUTPUT_TIMEOUT, || {
            let text = self.log_text();
            let logged = text
                .get(log_mark..)
                .is_some_and(|new_lines| new_lines.contains(STREAMING_STOP_MARKER));
            (logged && !self.stream_active()).then_some(())
        });
        self.output_changed_at.set(Some(Instant::now()));
        stopped.ok_or(ObsError::Timeout("stream output stopping"))
    }

    /// The log file of the current (or last) OBS process: the newest
    /// `<home>/.config/obs-studio/logs/*.txt` written since it was spawned; `None` until OBS
    /// has written one.
    pub fn log_path(&self) -> Option<PathBuf> {
        fs::read_dir(self.config_dir().join("logs"))
            .ok()?
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|ext| ext == "txt"))
            .filter_map(|e| Some((e.metadata().and_then(|m| m.modified()).ok()?, e.path())))
            .filter(|(modified, _)| *modified >= self.spawned_at)
            .max()
            .map(|(_, path)| path)
    }

    /// The whole text of the current OBS log (empty if there is none yet).
    pub fn log_text(&self) -> String {
        self.log_path()
            .and_then(|path| fs::read_to_string(path).ok())
            .unwrap_or_default()
    }

    /// What OBS wrote to stdout and stderr (all its runs in this HOME).
    pub fn process_output(&self) -> String {
        ["obs-stdout.txt", "obs-stderr.txt"]
            .iter()
            .map(|name| fs::read_to_string(self.home().join(name)).unwrap_or_default())
            .collect()
    }

    /// The first line of the current log containing `pattern`, waiting up to `timeout` for it.
    pub fn wait_for_log(&self, pattern: &str, timeout: Duration) -> Option<String> {
        wait_until(timeout, || {
            self.log_text()
                .lines()
                .find(|line| line.contains(pattern))
                .map(str::to_owned)
        })
    }

    /// Stops OBS like a user would (SIGINT: clean shutdown, full log) and returns its exit
    /// status. Panics (after SIGKILL) if OBS has not exited within 20 s.
    pub fn quit(&mut self) -> ExitStatus {
        // OBS 29.0 can crash (SIGSEGV painting a button) or hang when SIGINT arrives while the
        // UI still has to repaint after startup or a stream start/stop: let it settle first.
        if let Some(settled) = self.output_changed_at.get().map(|at| at + QUIT_SETTLE) {
            thread::sleep(settled.saturating_duration_since(Instant::now()));
        }
        if self.error_dialog_open.replace(false) {
            self.dismiss_dialogs();
        }
        let (status, in_time) = self.stop(libc::SIGINT, QUIT_TIMEOUT);
        assert!(
            in_time,
            "OBS did not exit within {QUIT_TIMEOUT:?} after SIGINT (SIGKILLed: {status})"
        );
        if !status.success() {
            // CI keeps only what a test prints: say here how OBS ended.
            println!("harness: OBS exited with {status}\n{}", self.output_tails());
        }
        status
    }

    /// Closes every window but the main one (OBS's error dialogs) with Escape, as a streamer
    /// presses OK before quitting. OBS's SIGINT handler closes the main window even while a
    /// modal dialog's event loop runs (`OBSApp::ProcessSigInt` -> `main->close()`); when that
    /// dialog returns into the torn-down window, OBS 30 can crash on the way out.
    fn dismiss_dialogs(&self) {
        let display = self.xvfb.display();
        let xdotool = |args: &[&str]| super::ui_thread::xdotool(display, args).ok();
        let main = xdotool(&["search", "--onlyvisible", "--name", "^OBS "]).unwrap_or_default();
        let dialogs = || -> Vec<String> {
            xdotool(&["search", "--onlyvisible", "--name", "."])
                .unwrap_or_default()
                .lines()
                .filter(|w| !main.lines().any(|m| m == *w))
                .map(str::to_owned)
                .collect()
        };
        // A dialog that is still being mapped, or an Escape that reached the window before it
        // had the focus, leaves the dialog open: press again until none is left.
        let mut closed = 0;
        let gone = wait_until(DIALOG_CLOSE_TIMEOUT, || {
            let open = dialogs();
            for window in &open {
                xdotool(&["windowfocus", "--sync", window]);
                xdotool(&["key", "--clearmodifiers", "Escape"]);
                closed += 1;
            }
            thread::sleep(DIALOG_CLOSE_POLL);
            dialogs().is_empty().then_some(())
        });
        println!(
            "harness: pressed Escape {closed} time(s) on OBS's dialogs before quitting{}",
            if gone.is_some() {
                ""
            } else {
                "; a dialog is still open"
            }
        );
        thread::sleep(QUIT_SETTLE);
    }

    /// SIGKILLs OBS (a crash: no shutdown, no final log lines) and returns its exit status.
    pub fn kill9(&mut self) -> ExitStatus {
        self.stop(libc::SIGKILL, Duration::ZERO).0
    }

    /// Spawns OBS and connects to it; if another process holds the obs-websocket port, starts
    /// over on a new one. Panics with diagnostics if OBS does not come up.
    fn start_process(&mut self) {
        for _ in 0..LAUNCH_ATTEMPTS {
            self.spawn_process();
            match self.connect() {
                Connect::Ready(client) => {
                    self.client = Some(client);
                    // The main window is still painting its first frames.
                    self.output_changed_at
                        .set(Some(Instant::now() + STARTUP_SETTLE));
                    return;
                }
                Connect::PortTaken => {
                    self.stop(libc::SIGKILL, Duration::ZERO);
                    self.ws_port = free_port();
                    write_app_settings(
                        &self.config_dir(),
                        self.ws_port,
                        self.options.ui_language.as_deref(),
                    );
                }
                Connect::Failed(reason) => self.fail_launch(&reason),
            }
        }
        self.fail_launch("the obs-websocket port was taken on every attempt");
    }

    /// Spawns OBS on this instance's HOME and display.
    fn spawn_process(&mut self) {
        let home = self.home.path();
        let output = |name: &str| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(home.join(name))
                .unwrap_or_else(|e| panic!("cannot open {name}: {e}"))
        };
        let runtime_dir = home.join("xdg-runtime");
        fs::create_dir_all(&runtime_dir)
            .and_then(|()| fs::set_permissions(&runtime_dir, fs::Permissions::from_mode(0o700)))
            .expect("cannot create XDG_RUNTIME_DIR");
        let mut command = Command::new("obs");
        if let Some(certs) = &self.options.system_certs {
            with_private_system_certs(&mut command, certs);
        }
        command
            .args([
                "--multi",
                "--minimize-to-tray",
                "--disable-updater",
                "--disable-missing-files-check",
            ])
            .current_dir(home)
            .env("HOME", home)
            .env("DISPLAY", self.xvfb.display())
            .env("LANG", &self.options.lang)
            .env("XDG_RUNTIME_DIR", &runtime_dir)
            .env_remove("LC_ALL")
            .env_remove("LANGUAGE")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("WAYLAND_DISPLAY")
            .envs(self.options.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(output("obs-stdout.txt"))
            .stderr(output("obs-stderr.txt"));
        self.spawned_at = SystemTime::now();
        let child = die_with_parent(&mut command)
            .spawn()
            .expect("cannot run `obs` (Debian package `obs-studio`)");
        self.process = Some(child);
    }

    /// Waits until this OBS serves obs-websocket requests (its server only starts once OBS has
    /// loaded). Whoever answers must report this HOME as its record directory, so a foreign OBS
    /// that holds the port is never mistaken for ours.
    fn connect(&mut self) -> Connect {
        let (port, home) = (self.ws_port, self.home.path().to_owned());
        let mut last_error = String::from("no attempt yet");
        let outcome = wait_until(LAUNCH_TIMEOUT, || {
            if !self.is_running() {
                return Some(Connect::Failed("OBS exited".to_owned()));
            }
            if self.log_text().contains(WS_LISTEN_FAILED_MARKER) {
                return Some(Connect::PortTaken);
            }
            let attempt = self.runtime.block_on(async {
                let client = obws::Client::connect_with_config(connect_config(port)).await?;
                let record_dir = client.config().record_directory().await?;
                Ok::<_, obws::error::Error>((client, record_dir))
            });
            match attempt {
                Ok((client, record_dir)) if Path::new(&record_dir) == home => {
                    Some(Connect::Ready(client))
                }
                Ok((_, record_dir)) => {
                    last_error = format!("port {port} is another OBS's (records to {record_dir})");
                    None
                }
                Err(e) => {
                    last_error = format!("{e:?}");
                    None
                }
            }
        });
        outcome.unwrap_or_else(|| {
            Connect::Failed(format!(
                "no obs-websocket on port {port} within {LAUNCH_TIMEOUT:?}: {last_error}"
            ))
        })
    }

    /// Kills OBS and panics with `reason`, OBS's stderr and the end of its log.
    fn fail_launch(&mut self, reason: &str) -> ! {
        let status = match self.process {
            Some(_) => self.stop(libc::SIGKILL, Duration::ZERO).0.to_string(),
            None => "not running".to_owned(),
        };
        panic!(
            "OBS did not come up: {reason} (OBS: {status})\n{}",
            self.output_tails()
        )
    }

    /// The last lines of OBS's stderr and of its log, for a report of how it ended.
    fn output_tails(&self) -> String {
        format!(
            "--- stderr ---\n{}\n--- log ---\n{}",
            tail_of_file(&self.home().join("obs-stderr.txt"), 30),
            self.log_path()
                .map(|p| tail_of_file(&p, 40))
                .unwrap_or_default()
        )
    }

    /// Disconnects, sends `signal` and waits up to `grace` before SIGKILL; returns the exit
    /// status and whether OBS exited within `grace`. Panics if OBS was not running.
    fn stop(&mut self, signal: libc::c_int, grace: Duration) -> (ExitStatus, bool) {
        if let Some(mut client) = self.client.take() {
            let closed = client.disconnect();
            self.runtime
                .block_on(async { tokio::time::timeout(REQUEST_TIMEOUT, closed).await })
                .ok();
        }
        let mut child = self.process.take().expect("OBS is not running");
        let outcome = stop_child(&mut child, signal, grace);
        self.save_artifacts();
        outcome
    }

    /// Copies the logs and OBS's stdout/stderr to `target/e2e-artifacts/<name>/`.
    fn save_artifacts(&self) {
        let dir = artifacts_dir(&self.options.artifacts_name);
        let _ = copy_dir(&self.config_dir().join("logs"), &dir.join("obs-logs"));
        for name in ["obs-stdout.txt", "obs-stderr.txt"] {
            let _ = fs::copy(self.home().join(name), dir.join(name));
        }
    }
}

impl Drop for Obs {
    fn drop(&mut self) {
        if self.process.is_some() {
            self.stop(libc::SIGINT, DROP_GRACE);
        }
    }
}

/// How [`Obs::connect`] ended.
enum Connect {
    /// Connected to this OBS, which serves requests.
    Ready(obws::Client),
    /// obs-websocket could not listen: another process holds the port.
    PortTaken,
    /// OBS exited or never answered; the reason.
    Failed(String),
}

/// obws settings for a local obs-websocket 5.1 (OBS 29.0): obws 0.15 insists on OBS >= 30.2 and
/// obs-websocket ^5.5 unless its version checks are skipped; the requests the harness uses are
/// all in 5.1.
fn connect_config(port: u16) -> obws::client::ConnectConfig<&'static str, &'static str> {
    obws::client::ConnectConfig {
        host: "127.0.0.1",
        port,
        password: None,
        event_subscriptions: Some(EventSubscription::NONE),
        broadcast_capacity: obws::client::DEFAULT_BROADCAST_CAPACITY,
        connect_timeout: Duration::from_secs(2),
        dangerous: Some(obws::client::DangerousConnectConfig {
            skip_studio_version_check: true,
            skip_websocket_version_check: true,
        }),
    }
}

/// Writes global.ini, the profile (basic.ini, service.json), the scene collection and the
/// plugin (if any) under `<home>/.config/obs-studio`.
fn write_config(home: &Path, options: &ObsOptions, ws_port: u16) {
    let config = home.join(".config/obs-studio");
    let profile = config.join("basic/profiles").join(PROFILE);
    let scenes = config.join("basic/scenes");
    for dir in [&profile, &scenes] {
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    }
    let write = |path: PathBuf, text: String| {
        fs::write(&path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    };

    write_app_settings(&config, ws_port, options.ui_language.as_deref());

    let (width, height) = (VIDEO_WIDTH.to_string(), VIDEO_HEIGHT.to_string());
    let (fps, bitrate) = (FPS.to_string(), VIDEO_BITRATE_KBPS.to_string());
    let home_dir = home.display().to_string();
    let mut basic: Vec<(&str, &str, &str)> = vec![
        ("General", "Name", PROFILE),
        ("Output", "Mode", "Simple"),
        // The record directory identifies this instance over obs-websocket (see `connect`).
        ("SimpleOutput", "FilePath", &home_dir),
        ("AdvOut", "RecFilePath", &home_dir),
        ("SimpleOutput", "StreamEncoder", "x264"),
        ("SimpleOutput", "Preset", "ultrafast"),
        ("SimpleOutput", "VBitrate", &bitrate),
        ("SimpleOutput", "ABitrate", "64"),
        // Advanced simple-mode settings apply `x264Settings`: a keyframe every second, so a
        // player (ffprobe) sees video at once instead of after x264's default 250 frames.
        ("SimpleOutput", "UseAdvanced", "true"),
        ("SimpleOutput", "x264Settings", "keyint=30"),
        ("Video", "BaseCX", &width),
        ("Video", "BaseCY", &height),
        ("Video", "OutputCX", &width),
        ("Video", "OutputCY", &height),
        ("Video", "FPSType", "0"),
        ("Video", "FPSCommon", &fps),
        ("Audio", "SampleRate", "48000"),
        ("Audio", "ChannelSetup", "Stereo"),
    ];
    for (section, key, value) in &options.profile_ini {
        basic.retain(|(s, k, _)| (s, k) != (&section.as_str(), &key.as_str()));
        basic.push((section, key, value));
    }
    write(profile.join("basic.ini"), render_ini(&basic));
    write(
        profile.join("service.json"),
        json!({"type": options.service_type, "settings": options.service_settings}).to_string(),
    );
    write(scenes.join(format!("{PROFILE}.json")), scene_collection());

    if let Some(system) = super::system_plugin() {
        // Installed by `dpkg -i` of the project's package, as a user on Debian would: OBS loads it
        // for every instance, so no per-user copy (OBS would find the module twice).
        assert!(
            system.is_file(),
            "{SYSTEM_PLUGIN_ENV} is set but {} is missing: install the package first",
            system.display()
        );
    } else if let Some(plugin) = &options.plugin {
        let module = config.join("plugins").join(PLUGIN_MODULE);
        let bin = module.join("bin/64bit");
        fs::create_dir_all(&bin).expect("cannot create the plugin bin dir");
        fs::copy(&plugin.so, bin.join(format!("{PLUGIN_MODULE}.so")))
            .unwrap_or_else(|e| panic!("cannot install {}: {e}", plugin.so.display()));
        copy_dir(&plugin.data_dir, &module.join("data"))
            .unwrap_or_else(|e| panic!("cannot install {}: {e}", plugin.data_dir.display()));
    }
}

/// Writes OBS's application settings whole, in every place a supported version reads them: the
/// profile and scene collection to use, no first-run wizard, no exit confirmation, no preview,
/// and obs-websocket's server settings.
///
/// - OBS 29.0 and 30.x read `global.ini`; OBS 31+ reads the same entries from `user.ini` (and
///   would copy global.ini over it only for a `[General] LastVersion` below 31.0, which is never
///   written, so nothing is migrated).
/// - obs-websocket 5.1 (OBS 29.0) reads `[OBSWebSocket]` from global.ini; 5.3+ (OBS 30+) reads
///   `plugin_config/obs-websocket/config.json`.
fn write_app_settings(config: &Path, ws_port: u16, ui_language: Option<&str>) {
    let port = ws_port.to_string();
    let mut entries = vec![
        ("General", "FirstRun", "true"),
        ("General", "ConfirmOnExit", "false"),
        ("General", "EnableAutoUpdates", "false"),
        // No preview rendering: less CPU on 2 cores and fewer repaints during shutdown.
        ("BasicWindow", "PreviewEnabled", "false"),
        ("Basic", "Profile", PROFILE),
        ("Basic", "ProfileDir", PROFILE),
        ("Basic", "SceneCollection", PROFILE),
        ("Basic", "SceneCollectionFile", PROFILE),
        ("OBSWebSocket", "FirstLoad", "false"),
        ("OBSWebSocket", "ServerEnabled", "true"),
        ("OBSWebSocket", "ServerPort", &port),
        ("OBSWebSocket", "AuthRequired", "false"),
        ("OBSWebSocket", "AlertsEnabled", "false"),
    ];
    if let Some(language) = ui_language {
        entries.push(("General", "Language", language));
    }
    let ini = render_ini(&entries);
    let websocket = json!({
        "first_load": false,
        "server_enabled": true,
        "server_port": ws_port,
        "auth_required": false,
        "alerts_enabled": false,
        "server_password": "",
    });
    let websocket_dir = config.join("plugin_config/obs-websocket");
    fs::create_dir_all(&websocket_dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", websocket_dir.display()));
    for (path, text) in [
        (config.join("global.ini"), ini.clone()),
        (config.join("user.ini"), ini),
        (websocket_dir.join("config.json"), websocket.to_string()),
    ] {
        fs::write(&path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}

/// Renders `(section, key, value)` entries as an INI file, sections in order of first use.
fn render_ini(entries: &[(&str, &str, &str)]) -> String {
    let mut sections: Vec<&str> = Vec::new();
    for (section, _, _) in entries {
        if !sections.contains(section) {
            sections.push(section);
        }
    }
    let mut text = String::new();
    for section in sections {
        let _ = writeln!(text, "[{section}]");
        for (_, key, value) in entries.iter().filter(|(s, _, _)| *s == section) {
            let _ = writeln!(text, "{key}={value}");
        }
        text.push('\n');
    }
    text
}

/// A scene collection with one scene holding one full-canvas color source, so there is video.
fn scene_collection() -> String {
    let color = json!({
        "name": "Color",
        "id": "color_source_v3",
        "versioned_id": "color_source_v3",
        "settings": {"color": 0xFF30_80E0_u32, "width": VIDEO_WIDTH, "height": VIDEO_HEIGHT},
        "enabled": true,
        "muted": false,
        "volume": 1.0,
        "mixers": 0,
        "filters": [],
    });
    let scene = json!({
        "name": "Scene",
        "id": "scene",
        "versioned_id": "scene",
        "settings": {
            "id_counter": 1,
            "custom_size": false,
            "items": [{
                "name": "Color",
                "id": 1,
                "visible": true,
                "locked": false,
                "pos": {"x": 0.0, "y": 0.0},
                "scale": {"x": 1.0, "y": 1.0},
                "rot": 0.0,
                "align": 5,
                "bounds_type": 0,
            }],
        },
        "enabled": true,
        "mixers": 0,
        "filters": [],
    });
    json!({
        "name": PROFILE,
        "current_scene": "Scene",
        "current_program_scene": "Scene",
        "scene_order": [{"name": "Scene"}],
        "sources": [color, scene],
        "groups": [],
        "transitions": [],
        "current_transition": "Fade",
        "transition_duration": 300,
    })
    .to_string()
}

/// Makes `command` run in a mount namespace of its own in which `certs` is mounted over
/// `/etc/ssl/certs`. Done with the system calls themselves, in the child before it runs OBS,
/// because Debian sid's minimal root filesystem has no `mount` program.
fn with_private_system_certs(command: &mut Command, certs: &Path) {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::process::CommandExt;

    let source = CString::new(certs.as_os_str().as_bytes()).expect("no NUL in a path");
    let (root, target) = (c"/", c"/etc/ssl/certs");
    // SAFETY: unshare(2) and mount(2) are plain system calls, safe between fork and exec; the
    // strings were allocated before the fork and outlive the closure.
    unsafe {
        command.pre_exec(move || {
            let check = |result: libc::c_int| {
                if result == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            };
            check(libc::unshare(libc::CLONE_NEWNS))?;
            // Nothing mounted here may reach the machine's own mount namespace.
            check(libc::mount(
                std::ptr::null(),
                root.as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ))?;
            check(libc::mount(
                source.as_ptr(),
                target.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            ))
        })
    };
}
