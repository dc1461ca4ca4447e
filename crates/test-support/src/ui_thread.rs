//! Watching OBS's UI thread from outside, and reading OBS's own dialogs off the X display.
//!
//! - [`ui_round_trip`]: an obs-websocket request OBS can only answer on its UI thread
//!   (`SetCurrentProgramScene`: the frontend API runs it there with a blocking queued call), so
//!   its round trip is how long the UI thread takes to get to it.
//! - [`MainThreadSampler`]: `eu-stack -1 -p PID` (Debian `elfutils`) in a loop: backtraces of
//!   OBS's main (UI) thread, to tell whether it sits inside a function such as
//!   `obs_output_start`.
//! - [`window_text`]: the text of an OBS message box as it shows on screen (OCR).

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::obs::{Obs, ObsError};
use super::util::wait_until;

/// The only scene of the harness's scene collection.
const SCENE: &str = "Scene";

/// Time for a request that OBS answers on its UI thread (see the module documentation).
pub fn ui_round_trip(obs: &Obs) -> Result<Duration, ObsError> {
    let started = Instant::now();
    obs.request("SetCurrentProgramScene", |c| async move {
        c.scenes().set_current_program_scene(SCENE).await
    })?;
    Ok(started.elapsed())
}

/// One backtrace of the main thread.
#[derive(Clone, Debug)]
pub struct Sample {
    /// When `eu-stack` was started (the backtrace is taken within its run).
    pub at: Instant,
    /// The frames' function names, innermost first.
    pub frames: Vec<String>,
}

impl Sample {
    /// Whether the thread was inside `function` (a frame of that exact name).
    pub fn inside(&self, function: &str) -> bool {
        self.frames.iter().any(|f| f == function)
    }
}

/// Samples OBS's main thread with `eu-stack` until stopped.
pub struct MainThreadSampler {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    thread: Option<JoinHandle<()>>,
}

impl MainThreadSampler {
    /// Starts sampling process `pid`'s main thread back to back.
    pub fn start(pid: u32) -> MainThreadSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (task_stop, task_samples) = (stop.clone(), samples.clone());
        let thread = thread::spawn(move || {
            while !task_stop.load(Ordering::SeqCst) {
                if let Some(sample) = sample_main_thread(pid) {
                    task_samples.lock().unwrap().push(sample);
                }
            }
        });
        MainThreadSampler {
            stop,
            samples,
            thread: Some(thread),
        }
    }

    /// Stops and returns every sample taken.
    pub fn finish(mut self) -> Vec<Sample> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("sampler thread");
        }
        std::mem::take(&mut *self.samples.lock().unwrap())
    }
}

impl Drop for MainThreadSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// One `eu-stack -1 -p PID` run (the main thread only); `None` when it fails (e.g. the
/// process is gone). Panics when `eu-stack` is not installed.
pub fn sample_main_thread(pid: u32) -> Option<Sample> {
    let at = Instant::now();
    let output = Command::new("eu-stack")
        .args(["-1", "-p", &pid.to_string()])
        .output()
        .expect("cannot run eu-stack (Debian package `elfutils`)");
    let text = String::from_utf8_lossy(&output.stdout);
    let frames: Vec<String> = text
        .lines()
        .filter(|line| line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_whitespace().nth(2).map(str::to_owned))
        .collect();
    (!frames.is_empty()).then_some(Sample { at, frames })
}

/// Runs `xdotool` on `display`; its stdout, or the failure.
pub fn xdotool(display: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .output()
        .map_err(|e| format!("cannot run xdotool (Debian package `xdotool`): {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(format!(
            "xdotool {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The first visible window whose name matches `pattern` (a regular expression), waiting up to
/// `timeout`.
pub fn find_window(display: &str, pattern: &str, timeout: Duration) -> Option<String> {
    wait_until(timeout, || {
        xdotool(display, &["search", "--onlyvisible", "--name", pattern])
            .ok()
            .and_then(|out| out.lines().next().map(str::to_owned))
    })
}

/// The text on screen in `window` (an OBS message box): a screenshot of it, doubled in size,
/// read by `tesseract` (Debian `tesseract-ocr`), with its whitespace collapsed to single
/// spaces. Qt's message boxes offer their text to no other tool on Linux (no clipboard copy,
/// no X property). The PNG is kept at `png`.
pub fn window_text(display: &str, window: &str, png: &std::path::Path) -> String {
    let status = Command::new("import")
        .args(["-window", window, "-resize", "200%"])
        .arg(png)
        .env("DISPLAY", display)
        .status()
        .expect("cannot run import (Debian package `imagemagick`)");
    assert!(status.success(), "import failed for {}", png.display());
    let out = Command::new("tesseract")
        .arg(png)
        .arg("-")
        .output()
        .expect("cannot run tesseract (Debian package `tesseract-ocr`)");
    assert!(
        out.status.success(),
        "tesseract failed on {}",
        png.display()
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every window's name, from `xwininfo -root -tree` (for diagnostics).
pub fn window_names(display: &str) -> String {
    Command::new("xwininfo")
        .args(["-root", "-tree"])
        .env("DISPLAY", display)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Saves a PNG of the whole screen.
pub fn screenshot(display: &str, path: &std::path::Path) {
    let status = Command::new("import")
        .args(["-window", "root", path.to_str().expect("UTF-8 path")])
        .env("DISPLAY", display)
        .status()
        .expect("cannot run import (Debian package `imagemagick`)");
    assert!(status.success(), "import failed for {}", path.display());
}
