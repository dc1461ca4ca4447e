//! The Windows packages, run for real under Wine (`build-scripts/windows.sh test`): the NSIS
//! installer (`build-scripts/windows/installer.nsi`) in a fake OBS Studio, and the portable zip's
//! layout. The packages come from `RTC_GOLIVE_WINDOWS_INSTALLER` (the .exe) and
//! `RTC_GOLIVE_WINDOWS_ZIP`; a missing one fails the test.
//!
//! One test drives the whole sequence, since every step shares the Wine prefix's registry and
//! Program Files: the refusals (OBS missing, or registered in a folder that is gone; OBS running,
//! seen by its mutex and by its process name; the plugin DLL loaded; a file that cannot be
//! written) write nothing; a fresh install; an install over it; the silent uninstall Add/Remove
//! Programs would run; the %ProgramFiles%\obs-studio fallback; uninstalls after OBS's folder was
//! moved. Each step checks the exit code, the files, the registry and what the (un)installer
//! printed, in the user's UI language: Wine takes it from LC_ALL/LANG when it starts the test,
//! so `LC_ALL=zh_CN.UTF-8` runs the same steps with the Chinese messages. It cleans up the keys
//! and folders it touches, also when it fails, and restores an `HKLM\SOFTWARE\OBS Studio` the
//! prefix had before.
//!
//! A running OBS is a copy of this test program, started with `FAKE_OBS_ROLE` set: it holds OBS's
//! mutex, or runs as `obs64.exe`, or keeps the installed plugin DLL loaded. Wine's user is an
//! administrator, so the installer's refusal to run without administrator rights is not tested
//! here.

#![cfg(windows)]

use std::collections::BTreeMap;
use std::ffi::c_void;
use std::fs;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

const TEST_NAME: &str = "installer_and_portable_zip_under_wine";
const DISPLAY_NAME: &str = "OBS RTC Go-Live";
const UNINSTALL_ROOT: &str = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall";
const UNINSTALL_KEY: &str =
    r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\obs-rtc-golive";
const OBS_KEY: &str = r"HKLM\SOFTWARE\OBS Studio";
const DLL: &str = r"obs-plugins\64bit\obs-rtc-golive.dll";
const DATA: &str = r"data\obs-plugins\obs-rtc-golive";
/// installer.nsi's exit codes.
const EXIT_NO_OBS: i32 = 4;
const EXIT_OBS_RUNNING: i32 = 5;
const EXIT_WRITE_FAILED: i32 = 6;
const EXIT_FILES_NOT_FOUND: i32 = 8;
/// Every process this test starts, and every wait for an uninstaller, ends within this.
const WAIT: Duration = Duration::from_secs(120);
const FAKE_OBS_ROLE: &str = "RTC_GOLIVE_FAKE_OBS_ROLE";
const FAKE_OBS_READY: &str = "RTC_GOLIVE_FAKE_OBS_READY";
/// In a fake %ProgramFiles%\obs-studio, so that a run after a crash knows it is this test's.
const FAKE_MARKER: &str = "rtc-golive-installer-test.txt";

#[test]
fn installer_and_portable_zip_under_wine() {
    if let Ok(role) = std::env::var(FAKE_OBS_ROLE) {
        return fake_obs(&role);
    }
    let installer = package("RTC_GOLIVE_WINDOWS_INSTALLER");
    let zip = package("RTC_GOLIVE_WINDOWS_ZIP");
    let version = env!("CARGO_PKG_VERSION");

    step("the portable zip has OBS's layout");
    let zipped = zip_files(&zip);
    let locales = checkout_locales();
    let mut expected: Vec<String> = vec!["obs-plugins/64bit/obs-rtc-golive.dll".into()];
    expected.extend(
        locales
            .keys()
            .map(|name| format!("data/obs-plugins/obs-rtc-golive/locale/{name}")),
    );
    expected.sort();
    assert_eq!(
        zipped.keys().cloned().collect::<Vec<_>>(),
        expected,
        "{}: files",
        zip.display()
    );
    for (name, sum) in &locales {
        let entry = &zipped[&format!("data/obs-plugins/obs-rtc-golive/locale/{name}")];
        assert_eq!(entry, sum, "{name} in the zip");
    }
    assert!(
        locales.contains_key("en-US.ini") && locales.contains_key("zh-CN.ini"),
        "{locales:?}"
    );
    // The installer carries the same files: the installed ones are compared with these.
    let packaged: BTreeMap<String, Sum> = zipped
        .into_iter()
        .map(|(name, entry)| (name.replace('/', "\\"), entry))
        .collect();

    let sandbox = Sandbox::new();
    let obs = sandbox.root.join("OBS Studio");

    step("OBS missing: refused, nothing written");
    let run = sandbox.install(&installer);
    assert_eq!(run.code, EXIT_NO_OBS, "{run:?}");
    run.says(
        "OBS Studio (64-bit) was not found",
        "未找到 OBS Studio（64 位）",
    );
    sandbox.assert_nothing_installed();

    step("OBS registered in a folder that is gone: refused");
    reg_set_default(OBS_KEY, &obs);
    let run = sandbox.install(&installer);
    assert_eq!(run.code, EXIT_NO_OBS, "{run:?}");
    sandbox.assert_nothing_installed();
    assert!(!obs.exists(), "{} was created", obs.display());

    let obs_files = fake_obs_folder(&obs);

    step("OBS running (its OBSStudioCore mutex): refused, nothing written");
    {
        let _running = sandbox.start_fake_obs("obs-helper.exe", "mutex");
        let run = sandbox.install(&installer);
        assert_eq!(run.code, EXIT_OBS_RUNNING, "{run:?}");
        run.says("OBS Studio is running", "OBS Studio 正在运行");
        sandbox.assert_nothing_installed();
        assert_eq!(files_under(&obs), obs_files, "OBS's folder");
    }

    step("OBS running (a process named obs64.exe): refused, nothing written");
    {
        let _running = sandbox.start_fake_obs("obs64.exe", "process");
        let run = sandbox.install(&installer);
        assert_eq!(run.code, EXIT_OBS_RUNNING, "{run:?}");
        run.says("OBS Studio is running", "OBS Studio 正在运行");
        sandbox.assert_nothing_installed();
        assert_eq!(files_under(&obs), obs_files, "OBS's folder");
    }

    step("a file cannot be written: exit 6, the DLL already written is taken back");
    let blocker = obs.join(DATA);
    fs::create_dir_all(blocker.parent().unwrap()).unwrap();
    fs::write(&blocker, "a file where the plugin's data folder goes").unwrap();
    let run = sandbox.install(&installer);
    assert_eq!(run.code, EXIT_WRITE_FAILED, "{run:?}");
    run.says("could not be written", "无法将插件文件写入");
    fs::remove_file(&blocker).unwrap();
    sandbox.assert_nothing_installed();
    assert_eq!(files_under(&obs), obs_files, "OBS's folder");

    step("fresh install");
    let run = sandbox.install(&installer);
    assert_eq!(run.code, 0, "{run:?}");
    run.says(
        &format!("was installed into {}.", obs.display()),
        &format!("已安装到 {}。", obs.display()),
    );
    sandbox.assert_installed(&obs, &obs_files, &packaged, version);
    assert_is_x64_dll(&obs.join(DLL));

    step("the plugin DLL loaded by a program: refused, files untouched");
    {
        let _host = sandbox.start_fake_obs(
            "plugin-host.exe",
            &format!("dll:{}", obs.join(DLL).display()),
        );
        let run = sandbox.install(&installer);
        assert_eq!(run.code, EXIT_OBS_RUNNING, "{run:?}");
        run.says("is in use", "正在被使用");
        sandbox.assert_installed(&obs, &obs_files, &packaged, version);
    }

    step("install again over it: files replaced, a language dropped goes, one registration");
    fs::write(obs.join(DLL), "an older build").unwrap();
    fs::write(obs.join(DATA).join(r"locale\zh-CN.ini"), "Old=\"older\"").unwrap();
    fs::write(obs.join(DATA).join(r"locale\xx-XX.ini"), "Gone=\"gone\"").unwrap();
    let run = sandbox.install(&installer);
    assert_eq!(run.code, 0, "{run:?}");
    sandbox.assert_installed(&obs, &obs_files, &packaged, version);

    step("uninstall while OBS runs: refused, nothing removed");
    {
        let _running = sandbox.start_fake_obs("obs-helper.exe", "mutex");
        let run = sandbox.uninstall_in_place();
        assert_eq!(run.code, EXIT_OBS_RUNNING, "{run:?}");
        run.says("OBS Studio is running", "OBS Studio 正在运行");
        sandbox.assert_installed(&obs, &obs_files, &packaged, version);
    }

    step("silent uninstall, as Add/Remove Programs runs it (QuietUninstallString)");
    let quiet = reg_values(UNINSTALL_KEY, 64).unwrap()["QuietUninstallString"].clone();
    let (exe, args) = quiet
        .strip_prefix('"')
        .and_then(|rest| rest.split_once('"'))
        .unwrap_or_else(|| panic!("QuietUninstallString {quiet:?} is not \"EXE\" ARGS"));
    // NSIS's uninstaller hands over to a copy of itself in %TEMP% and returns at once.
    let run = sandbox.run(Command::new(exe).raw_arg(args.trim()), "uninstall.exe /S");
    assert_eq!(run.code, 0, "{run:?}");
    wait_until("the uninstaller's copy finished", || {
        nsis_copies_ended() && !reg_exists(UNINSTALL_KEY, 64) && !sandbox.uninstaller_dir.exists()
    });
    sandbox.assert_nothing_installed();
    assert_eq!(
        files_under(&obs),
        obs_files,
        "OBS's folder after the uninstall"
    );

    step("no registry key, OBS in %ProgramFiles%\\obs-studio: installed there");
    reg_delete(OBS_KEY);
    let fallback = sandbox.program_files.join("obs-studio");
    // Marked first, so that a run after a crash knows the folder is this test's.
    fs::create_dir_all(&fallback).unwrap();
    fs::write(
        fallback.join(FAKE_MARKER),
        "made by tests/windows_installer.rs",
    )
    .unwrap();
    let fallback_files = fake_obs_folder(&fallback);
    let run = sandbox.install(&installer);
    assert_eq!(run.code, 0, "{run:?}");
    sandbox.assert_installed(&fallback, &fallback_files, &packaged, version);
    let run = sandbox.uninstall_in_place();
    assert_eq!(run.code, 0, "{run:?}");
    run.says(
        &format!("was removed from {}.", fallback.display()),
        &format!("已从 {} 中卸载", fallback.display()),
    );
    sandbox.assert_nothing_installed();
    assert_eq!(
        files_under(&fallback),
        fallback_files,
        "the fallback OBS folder"
    );
    fs::remove_dir_all(&fallback).unwrap();

    step("OBS moved and registered in its new folder: the uninstaller finds the files there");
    reg_set_default(OBS_KEY, &obs);
    let run = sandbox.install(&installer);
    assert_eq!(run.code, 0, "{run:?}");
    let moved = sandbox.root.join("OBS Studio moved");
    fs::rename(&obs, &moved).unwrap();
    reg_set_default(OBS_KEY, &moved);
    let run = sandbox.uninstall_in_place();
    assert_eq!(run.code, 0, "{run:?}");
    run.says(
        &format!("was removed from {}.", moved.display()),
        &format!("已从 {} 中卸载", moved.display()),
    );
    sandbox.assert_nothing_installed();
    assert_eq!(files_under(&moved), obs_files, "the moved OBS folder");
    fs::rename(&moved, &obs).unwrap();

    step("OBS moved, registry not updated: registration removed, exit 8 says where it looked");
    reg_set_default(OBS_KEY, &obs);
    let run = sandbox.install(&installer);
    assert_eq!(run.code, 0, "{run:?}");
    fs::rename(&obs, &moved).unwrap();
    let run = sandbox.uninstall_in_place();
    assert_eq!(run.code, EXIT_FILES_NOT_FOUND, "{run:?}");
    run.says(
        &format!(
            "its files were not found in {}, the OBS Studio folder",
            obs.display()
        ),
        &format!(
            "所在的 OBS Studio 文件夹 {} 中找不到它的文件",
            obs.display()
        ),
    );
    sandbox.assert_nothing_installed();
    // What it could not find is still there, where OBS went.
    assert!(moved.join(DLL).is_file() && moved.join(DATA).join(r"locale\en-US.ini").is_file());
}

// ---------------------------------------------------------------------------------------------
// The sandbox: the folders and keys the test uses, cleaned before and after.

struct Sandbox {
    root: PathBuf,
    program_files: PathBuf,
    uninstaller_dir: PathBuf,
    /// `HKLM\SOFTWARE\OBS Studio`'s default value in each view before the test (but one a run
    /// of this test left), restored after it.
    obs_key_before: Vec<(u32, String)>,
}

#[derive(Debug)]
struct Ran {
    code: i32,
    stdout: String,
}

impl Ran {
    /// The (un)installer printed ENGLISH, or CHINESE when the user's UI language is Chinese: it
    /// speaks the user's language, as Windows (under Wine: LC_ALL or LANG) gives it.
    fn says(&self, english: &str, chinese: &str) {
        let expected = if ui_is_chinese() { chinese } else { english };
        assert!(
            self.stdout.contains(expected),
            "expected {expected:?} in {self:?}"
        );
    }
}

impl Sandbox {
    fn new() -> Sandbox {
        let program_files = PathBuf::from(
            std::env::var_os("ProgramW6432")
                .or_else(|| std::env::var_os("ProgramFiles"))
                .expect("ProgramFiles is not set"),
        );
        let fallback = program_files.join("obs-studio");
        assert!(
            !fallback.exists() || fallback.join(FAKE_MARKER).exists(),
            "{} exists and is not this test's: run the test in a Wine prefix without OBS Studio",
            fallback.display()
        );
        let root = std::env::temp_dir().join("rtc golive installer test");
        let obs_key_before = [64, 32]
            .into_iter()
            .filter_map(|view| Some((view, reg_default(OBS_KEY, view)?)))
            .filter(|(_, value)| !Path::new(value).starts_with(&root))
            .collect();
        let sandbox = Sandbox {
            root,
            uninstaller_dir: program_files.join("obs-rtc-golive"),
            program_files,
            obs_key_before,
        };
        sandbox.clean();
        reg_delete(OBS_KEY);
        fs::create_dir_all(&sandbox.root).unwrap();
        sandbox
    }

    /// Everything a run (this one or one that died) may have left, but OBS's key.
    fn clean(&self) {
        if reg_exists(UNINSTALL_KEY, 64) || self.uninstaller_dir.exists() {
            eprintln!("    (removing a registration and an uninstaller left behind)");
        }
        reg_delete(UNINSTALL_KEY);
        let _ = fs::remove_dir_all(&self.uninstaller_dir);
        let fallback = self.program_files.join("obs-studio");
        if fallback.join(FAKE_MARKER).exists() {
            let _ = fs::remove_dir_all(&fallback);
        }
        let _ = fs::remove_dir_all(&self.root);
        // The empty folders the uninstaller's copies leave (Windows removes them at restart).
        for dir in nsis_temp_folders() {
            let _ = fs::remove_dir(dir);
        }
    }

    fn run(&self, command: &mut Command, what: &str) -> Ran {
        let (code, stdout) = run_bounded(command, what);
        eprintln!("    {what}: exit {code}: {}", stdout.trim());
        Ran { code, stdout }
    }

    fn install(&self, installer: &Path) -> Ran {
        self.run(Command::new(installer).arg("/S"), "installer /S")
    }

    /// The uninstaller run in place (`_?=`): it ends when it is done, with its exit code.
    fn uninstall_in_place(&self) -> Ran {
        let exe = self.uninstaller_dir.join("uninstall.exe");
        assert!(exe.is_file(), "{} is missing", exe.display());
        // _?= must be the last argument, unquoted.
        let mut command = Command::new(&exe);
        command
            .raw_arg("/S")
            .raw_arg(format!("_?={}", self.uninstaller_dir.display()));
        let run = self.run(&mut command, "uninstall.exe /S _?=");
        // In place, the uninstaller cannot delete itself (Windows does not delete a running
        // program): the one who ran it so deletes it, as here, once it has unregistered.
        // Nothing else may be left.
        if self.uninstaller_dir.exists() && !reg_exists(UNINSTALL_KEY, 64) {
            let left: Vec<_> = fs::read_dir(&self.uninstaller_dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            assert!(
                left.iter().all(|name| name == "uninstall.exe"),
                "left behind: {left:?}"
            );
            fs::remove_dir_all(&self.uninstaller_dir).unwrap();
        }
        run
    }

    /// Starts a copy of this program as NAME, in ROLE (see `fake_obs`), once it is ready.
    fn start_fake_obs(&self, name: &str, role: &str) -> Running {
        let dir = self
            .root
            .join(format!("fake {}", name.trim_end_matches(".exe")));
        fs::create_dir_all(&dir).unwrap();
        let exe = dir.join(name);
        fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
        let ready = dir.join("ready");
        let _ = fs::remove_file(&ready);
        let child = Command::new(&exe)
            .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
            .env(FAKE_OBS_ROLE, role)
            .env(FAKE_OBS_READY, &ready)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", exe.display()));
        let mut running = Running(child);
        let started = Instant::now();
        while !ready.exists() {
            if let Some(status) = running.0.try_wait().unwrap() {
                panic!("the fake OBS ({role}) ended before it was ready: {status}");
            }
            assert!(
                started.elapsed() < WAIT,
                "the fake OBS ({role}) was not ready in {WAIT:?}"
            );
            sleep(Duration::from_millis(50));
        }
        running
    }

    fn assert_nothing_installed(&self) {
        for view in [64, 32] {
            assert!(
                !reg_exists(UNINSTALL_KEY, view),
                "{UNINSTALL_KEY} exists ({view}-bit view)"
            );
            assert_eq!(
                registrations(view),
                0,
                "entries named {DISPLAY_NAME} ({view}-bit view)"
            );
        }
        assert!(
            !self.uninstaller_dir.exists(),
            "{} exists",
            self.uninstaller_dir.display()
        );
    }

    /// The plugin is in OBS (whose own files are OBS_FILES), and registered once.
    fn assert_installed(
        &self,
        obs: &Path,
        obs_files: &BTreeMap<String, Sum>,
        packaged: &BTreeMap<String, Sum>,
        version: &str,
    ) {
        let mut expected = obs_files.clone();
        expected.extend(packaged.iter().map(|(name, sum)| (name.clone(), *sum)));
        assert_eq!(files_under(obs), expected, "the files in {}", obs.display());

        assert_eq!(
            registrations(64),
            1,
            "entries named {DISPLAY_NAME} (64-bit view)"
        );
        assert_eq!(
            registrations(32),
            0,
            "entries named {DISPLAY_NAME} (32-bit view)"
        );
        let values = reg_values(UNINSTALL_KEY, 64).expect("the uninstall key");
        let uninstaller = self.uninstaller_dir.join("uninstall.exe");
        let expect = [
            ("DisplayName", DISPLAY_NAME.to_string()),
            ("DisplayVersion", version.to_string()),
            ("Publisher", "obs-rtc-golive developers".to_string()),
            ("UninstallString", format!("\"{}\"", uninstaller.display())),
            (
                "QuietUninstallString",
                format!("\"{}\" /S", uninstaller.display()),
            ),
            ("InstallLocation", obs.display().to_string()),
            ("NoModify", "0x1".to_string()),
            ("NoRepair", "0x1".to_string()),
        ];
        for (name, value) in expect {
            assert_eq!(values.get(name), Some(&value), "{name} in {values:?}");
        }
        let size = values.get("EstimatedSize").expect("EstimatedSize");
        let kib = u64::from_str_radix(size.trim_start_matches("0x"), 16).unwrap();
        let dll_kib = packaged[DLL].size / 1024;
        assert!(
            kib >= dll_kib && kib < dll_kib + 1024,
            "EstimatedSize {kib} KiB, the DLL {dll_kib} KiB"
        );
        assert!(
            uninstaller.is_file(),
            "{} is missing",
            uninstaller.display()
        );
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.clean();
        reg_delete(OBS_KEY);
        for (view, value) in &self.obs_key_before {
            reg_set(OBS_KEY, value, *view);
        }
    }
}

/// A fake OBS, ended when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = wait_for(&mut self.0, "the fake OBS, killed");
    }
}

/// The child's exit code, waited for at most WAIT (then it is killed, and the test fails).
fn wait_for(child: &mut Child, what: &str) -> i32 {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if started.elapsed() > WAIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not end in {WAIT:?}");
        }
        sleep(Duration::from_millis(50));
    }
}

/// Runs COMMAND to its end (at most WAIT): its exit code and standard output (through a file, so
/// that a process it leaves behind holding the output cannot hold up the test).
fn run_bounded(command: &mut Command, what: &str) -> (i32, String) {
    static RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = std::env::temp_dir().join(format!(
        "rtc-golive-installer-test-{}-{n}.txt",
        std::process::id()
    ));
    let mut child = command
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let code = wait_for(&mut child, what);
    let stdout = String::from_utf8_lossy(&fs::read(&out).unwrap()).into_owned();
    let _ = fs::remove_file(&out);
    (code, stdout)
}

/// The folders in %TEMP% where NSIS's uninstallers run their copies (~nsuN.tmp\Un.exe, left
/// for the next restart to delete).
fn nsis_temp_folders() -> Vec<PathBuf> {
    fs::read_dir(std::env::temp_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.starts_with("~nsu") && name.ends_with(".tmp")
        })
        .map(|entry| entry.path())
        .collect()
}

/// Deletes the uninstallers' copies in %TEMP% that have ended (a running program cannot be
/// deleted); true when none is left.
fn nsis_copies_ended() -> bool {
    let mut ended = true;
    for dir in nsis_temp_folders() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            ended &= fs::remove_file(entry.path()).is_ok();
        }
    }
    ended
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < WAIT, "{what}: not in {WAIT:?}");
        sleep(Duration::from_millis(200));
    }
}

fn step(what: &str) {
    eprintln!("==> {what}");
}

fn package(var: &str) -> PathBuf {
    let path = std::env::var_os(var).unwrap_or_else(|| {
        panic!(
            "{var} is not set: it names the package this test checks (build-scripts/windows.sh \
             test builds the packages and sets it)"
        )
    });
    let path = PathBuf::from(path);
    assert!(path.is_file(), "{var}={} is not a file", path.display());
    path
}

/// A fake OBS install in DIR: obs64.exe and some of OBS's own plugins. Returns its files.
fn fake_obs_folder(dir: &Path) -> BTreeMap<String, Sum> {
    let files: [(&str, &[u8]); 5] = [
        (r"bin\64bit\obs64.exe", b"MZ not really OBS"),
        (r"bin\64bit\obs.dll", b"MZ not really libobs"),
        (
            r"obs-plugins\64bit\obs-outputs.dll",
            b"MZ not really obs-outputs",
        ),
        (
            r"data\obs-plugins\obs-outputs\locale\en-US.ini",
            b"Output=\"Output\"",
        ),
        (r"data\obs-studio\locale\en-US.ini", b"OK=\"OK\""),
    ];
    for (name, bytes) in files {
        let path = dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }
    files_under(dir)
}

/// Every file under DIR, by its path relative to DIR (with backslashes).
fn files_under(dir: &Path) -> BTreeMap<String, Sum> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Sum>) {
        for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let name = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .replace('/', "\\");
                out.insert(name, Sum::of(&fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// data/locale/*.ini in the checkout, by name.
fn checkout_locales() -> BTreeMap<String, Sum> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join("locale");
    fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ini"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                Sum::of(&fs::read(&p).unwrap()),
            )
        })
        .collect()
}

fn assert_is_x64_dll(path: &Path) {
    let bytes = fs::read(path).unwrap();
    assert_eq!(&bytes[..2], b"MZ", "{}", path.display());
    let pe = u32::from_le_bytes(bytes[0x3c..0x40].try_into().unwrap()) as usize;
    assert_eq!(&bytes[pe..pe + 4], b"PE\0\0", "{}", path.display());
    let machine = u16::from_le_bytes(bytes[pe + 4..pe + 6].try_into().unwrap());
    let characteristics = u16::from_le_bytes(bytes[pe + 22..pe + 24].try_into().unwrap());
    assert_eq!(machine, 0x8664, "{}: not x86-64", path.display());
    assert!(
        characteristics & 0x2000 != 0,
        "{}: not a DLL",
        path.display()
    );
}

// ---------------------------------------------------------------------------------------------
// The zip: its central directory, read here (no unzip in Wine or in this crate's dependencies).

/// A file's size and CRC-32: what a zip's directory says of it, and what a test compares.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Sum {
    size: u64,
    crc: u32,
}

impl Sum {
    fn of(bytes: &[u8]) -> Sum {
        Sum {
            size: bytes.len() as u64,
            crc: crc32(bytes),
        }
    }
}

impl std::fmt::Debug for Sum {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{} bytes, CRC-32 {:08x}", self.size, self.crc)
    }
}

/// The files (not the folders) in the zip at PATH, by name.
fn zip_files(path: &Path) -> BTreeMap<String, Sum> {
    let zip = fs::read(path).unwrap();
    let u16_at = |at: usize| u16::from_le_bytes(zip[at..at + 2].try_into().unwrap()) as usize;
    let u32_at = |at: usize| u32::from_le_bytes(zip[at..at + 4].try_into().unwrap());
    let end = (0..zip.len().saturating_sub(21))
        .rev()
        .find(|&at| zip[at..at + 4] == [0x50, 0x4b, 0x05, 0x06])
        .unwrap_or_else(|| panic!("{}: not a zip", path.display()));
    let (count, mut at) = (u16_at(end + 10), u32_at(end + 16) as usize);
    let mut files = BTreeMap::new();
    for _ in 0..count {
        assert_eq!(
            zip[at..at + 4],
            [0x50, 0x4b, 0x01, 0x02],
            "{}: central directory",
            path.display()
        );
        let (name_len, extra_len, comment_len) =
            (u16_at(at + 28), u16_at(at + 30), u16_at(at + 32));
        let name = String::from_utf8(zip[at + 46..at + 46 + name_len].to_vec()).unwrap();
        if !name.ends_with('/') {
            files.insert(
                name,
                Sum {
                    size: u32_at(at + 24) as u64,
                    crc: u32_at(at + 16),
                },
            );
        }
        at += 46 + name_len + extra_len + comment_len;
    }
    files
}

fn crc32(bytes: &[u8]) -> u32 {
    let table: Vec<u32> = (0..256u32)
        .map(|n| {
            (0..8).fold(n, |c, _| {
                if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                }
            })
        })
        .collect();
    !bytes.iter().fold(!0u32, |c, &b| {
        table[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8)
    })
}

// ---------------------------------------------------------------------------------------------
// The registry, through reg.exe as an administrator would use it.

fn reg(args: &[&str]) -> (i32, String) {
    run_bounded(
        Command::new("reg").args(args),
        &format!("reg {}", args.join(" ")),
    )
}

fn view_flag(view: u32) -> &'static str {
    if view == 64 {
        "/reg:64"
    } else {
        "/reg:32"
    }
}

fn reg_exists(key: &str, view: u32) -> bool {
    reg(&["query", key, view_flag(view)]).0 == 0
}

/// The values of KEY (not of its subkeys): name -> data (DWORDs as reg.exe prints them, 0x..).
fn reg_values(key: &str, view: u32) -> Option<BTreeMap<String, String>> {
    let (code, out) = reg(&["query", key, view_flag(view)]);
    if code != 0 {
        return None;
    }
    let mut values = BTreeMap::new();
    let mut in_key = false;
    for line in out.lines() {
        if line.starts_with("HKEY_") {
            in_key =
                line.trim()
                    .eq_ignore_ascii_case(&key.replacen("HKLM", "HKEY_LOCAL_MACHINE", 1));
        } else if in_key && line.starts_with("    ") {
            let mut parts = line.trim_start().splitn(3, "    ");
            if let (Some(name), Some(_kind), data) = (parts.next(), parts.next(), parts.next()) {
                values.insert(name.to_string(), data.unwrap_or("").to_string());
            }
        }
    }
    Some(values)
}

/// How many Uninstall entries are named DISPLAY_NAME.
fn registrations(view: u32) -> usize {
    let (code, out) = reg(&["query", UNINSTALL_ROOT, "/s", view_flag(view)]);
    assert_eq!(code, 0, "reg query {UNINSTALL_ROOT} /s: {out}");
    out.lines()
        .filter_map(|line| line.trim_start().strip_prefix("DisplayName"))
        .filter(|rest| {
            rest.trim_start().strip_prefix("REG_SZ").map(str::trim) == Some(DISPLAY_NAME)
        })
        .count()
}

/// KEY's default value (the one OBS's installer writes) in VIEW.
fn reg_default(key: &str, view: u32) -> Option<String> {
    let (code, out) = reg(&["query", key, "/ve", view_flag(view)]);
    if code != 0 {
        return None;
    }
    out.lines()
        .find(|line| line.contains("REG_SZ"))
        .and_then(|line| {
            line.split_once("REG_SZ")
                .map(|(_, data)| data.trim().to_string())
        })
}

/// Sets KEY's default value in VIEW.
fn reg_set(key: &str, value: &str, view: u32) {
    let (code, out) = reg(&[
        "add",
        key,
        "/ve",
        "/t",
        "REG_SZ",
        "/d",
        value,
        "/f",
        view_flag(view),
    ]);
    assert_eq!(code, 0, "reg add {key}: {out}");
}

/// Where OBS's installer says OBS is (the 64-bit view, which the plugin's installer reads).
fn reg_set_default(key: &str, value: &Path) {
    reg_set(key, &value.display().to_string(), 64);
}

fn reg_delete(key: &str) {
    for view in [64, 32] {
        if reg_exists(key, view) {
            let (code, out) = reg(&["delete", key, "/f", view_flag(view)]);
            assert_eq!(code, 0, "reg delete {key}: {out}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The fake OBS: this program, started by `Sandbox::start_fake_obs`.

#[link(name = "kernel32")]
extern "system" {
    fn CreateMutexW(attributes: *const c_void, initial_owner: i32, name: *const u16)
        -> *mut c_void;
    fn LoadLibraryExW(name: *const u16, file: *mut c_void, flags: u32) -> *mut c_void;
    fn GetUserDefaultUILanguage() -> u16;
}

/// Whether the user's UI language is Chinese (LANG_CHINESE, any country): the installer speaks
/// Simplified Chinese then.
fn ui_is_chinese() -> bool {
    let language = unsafe { GetUserDefaultUILanguage() };
    language & 0x3ff == 0x04
}

fn wide(text: &str) -> Vec<u16> {
    std::ffi::OsStr::new(text)
        .encode_wide()
        .chain([0])
        .collect()
}

/// ROLE "mutex": holds the mutex OBS holds while it runs (OBS's GetRunOnceMutex); "process":
/// only runs (as obs64.exe); "dll:PATH": keeps PATH loaded, as OBS keeps its plugins. Says it is
/// ready in the file FAKE_OBS_READY names, then waits to be killed (at most 5 minutes).
fn fake_obs(role: &str) {
    if role == "mutex" {
        let mutex = unsafe { CreateMutexW(std::ptr::null(), 0, wide("OBSStudioCore").as_ptr()) };
        assert!(
            !mutex.is_null(),
            "CreateMutexW: {}",
            std::io::Error::last_os_error()
        );
    } else if let Some(path) = role.strip_prefix("dll:") {
        // Mapped as an image, as the loader maps it, without running its code or resolving its
        // imports (there is no libobs here): LOAD_LIBRARY_AS_IMAGE_RESOURCE.
        let module = unsafe { LoadLibraryExW(wide(path).as_ptr(), std::ptr::null_mut(), 0x20) };
        assert!(
            !module.is_null(),
            "LoadLibraryExW({path}): {}",
            std::io::Error::last_os_error()
        );
    } else {
        assert_eq!(role, "process", "unknown {FAKE_OBS_ROLE}");
    }
    fs::write(
        std::env::var_os(FAKE_OBS_READY).expect(FAKE_OBS_READY),
        "ready",
    )
    .unwrap();
    sleep(Duration::from_secs(300));
}
