//! The `obs_service_info` callbacks: thin adapters from libobs to [`rtc_golive_core::golive::GoLive`].
//!
//! Threads: `create`, `update`, `get_properties`, `get_defaults` and `initialize` run on OBS's UI
//! thread (`initialize` when Start Streaming is pressed); `get_url`/`get_key` (29.0) and
//! `get_connect_info` (29.1+) run on the output's connect thread, also on every reconnect.
//!
//! `initialize` does local work only (validation, the output link, a target resolved ahead);
//! the vendor work runs on its own thread and the connect thread waits for it when it asks for
//! the server. No lock of an instance is held across network work, so the output's signals,
//! `update` and obs-websocket requests never wait for a vendor.

use super::ffi::{
    obs_frontend_streaming_active, obs_frontend_streaming_start, obs_frontend_streaming_stop,
};
use super::ffi::{
    obs_service_t, obs_version, ObsServiceInfo, CONNECT_INFO_SERVER_URL, CONNECT_INFO_STREAM_KEY,
    SERVICE_INFO_SIZE_29_0,
};
use super::guard::guard;
use super::locale::{text_ptr, ObsLocale};
use super::settings::{c_string, properties, set_defaults, settings_json};
use super::shared;
use obs_wrapper::obs_sys::{
    calldata_t, obs_data_t, obs_get_version, obs_output_active, obs_output_get_signal_handler,
    obs_output_get_weak_output, obs_output_reconnecting, obs_output_release,
    obs_output_set_last_error, obs_output_t, obs_properties_t, obs_queue_task,
    obs_task_type_OBS_TASK_UI, obs_weak_output_get_output, obs_weak_output_release,
    obs_weak_output_t, signal_handler_connect, signal_handler_disconnect,
};
use rtc_golive_core::config::{ServiceKind, ServiceSettings};
use rtc_golive_core::golive::{Begin, Failover, GoLive};
use rtc_golive_core::host::StreamControl;
use rtc_golive_core::lock::LockRecovered;
use rtc_golive_core::messages::Message;
use rtc_golive_core::rtmp_target::RtmpTarget;
use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_void};
use std::ptr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

/// Shown to OBS 29.0's UI before the real target is known: it refuses to start with an empty
/// URL or key. Never connected to: the connect thread gets the real target (or
/// [`REFUSED_SERVER`]) once the vendor work is done.
const PLACEHOLDER_SERVER: &CStr = c"rtmp://pending.obs-rtc-golive.invalid/live";
const PLACEHOLDER_KEY: &CStr = c"pending";

/// Handed to the connect thread when the start failed there, with the reason set as the
/// output's last error. A broadcast address: Linux refuses a TCP connection to it at once
/// (ENETUNREACH, nothing is sent), so rtmp-stream stops with `OBS_OUTPUT_CONNECT_FAILED`, the
/// code for which the frontend of every version from 29.0 to 32.2 shows the last error in its
/// dialog, and rtmp-stream does not replace the last error for that errno. An empty URL would
/// end as `OBS_OUTPUT_BAD_PATH`, whose dialog shows only OBS's generic text.
const REFUSED_SERVER: &CStr = c"rtmp://255.255.255.255/obs-rtc-golive-start-refused";

/// The connect thread waits at most this long for the vendor work, beyond the work's own
/// bounds (8 s per call, 20 s of rate-limit retries, the node probe, one call per CDN
/// forward): it only ends a wait on something stuck.
const RESOLVE_WAIT_BOUND: Duration = Duration::from_secs(120);

/// OBS's UI thread, which must never wait for the vendor (OBS 29.0's Start button and 29.1+'s
/// missing-key check read the target there).
static UI_THREAD: OnceLock<ThreadId> = OnceLock::new();

/// Notes the calling thread as OBS's UI thread (module load and `initialize` run there).
pub fn remember_ui_thread() {
    let _ = UI_THREAD.set(std::thread::current().id());
}

fn on_ui_thread() -> bool {
    UI_THREAD.get() == Some(&std::thread::current().id())
}

/// One service instance. The state is reference counted so that a connect thread still waiting
/// for the vendor when OBS destroys the service never touches freed memory.
struct ServiceData {
    state: Arc<Mutex<ServiceState>>,
}

struct ServiceState {
    golive: GoLive,
    /// Set by `destroy`: a connect thread that was waiting hands out no pointer into this state.
    destroyed: bool,
    /// What OBS reads as server and key. Replaced in `initialize` and on the connect thread
    /// right before it reads them; replaced values are retired, not freed, so pointers handed
    /// out stay valid while it reads them.
    server: CString,
    key: CString,
    rtmps: bool,
    /// Targets replaced during a failover, kept until the next start: the connect thread may
    /// still hold a pointer to them.
    retired: Vec<CString>,
    /// The output being streamed through, whose "stop" signal this instance listens to.
    output: Option<OutputLink>,
}

/// A weak reference to the output plus the signal connection made on it.
struct OutputLink(*mut obs_weak_output_t);

// SAFETY: a weak output reference is a refcounted libobs handle usable from any thread; it is
// only touched under the instance's mutex.
unsafe impl Send for OutputLink {}

impl OutputLink {
    /// Listens to `output`'s "stop" signal on behalf of `data`.
    ///
    /// # Safety
    /// `output` must be a live output and `data` a live instance that outlives the link.
    unsafe fn connect(output: *mut obs_output_t, data: *mut c_void) -> Self {
        // SAFETY: per the caller; libobs copies the signal name and stores callback + data.
        unsafe {
            let handler = obs_output_get_signal_handler(output);
            signal_handler_connect(handler, c"stop".as_ptr(), Some(on_output_stop), data);
            signal_handler_connect(
                handler,
                c"stopping".as_ptr(),
                Some(on_output_stopping),
                data,
            );
            signal_handler_connect(
                handler,
                c"reconnect".as_ptr(),
                Some(on_output_reconnect),
                data,
            );
            OutputLink(obs_output_get_weak_output(output))
        }
    }

    /// Removes the signal connection (if the output still exists) and the weak reference.
    ///
    /// # Safety
    /// `data` must be the pointer given to `connect`.
    unsafe fn disconnect(self, data: *mut c_void) {
        // SAFETY: the weak reference is ours; a strong reference taken from it keeps the output
        // alive while disconnecting and is released right after.
        unsafe {
            let output = obs_weak_output_get_output(self.0);
            if !output.is_null() {
                let handler = obs_output_get_signal_handler(output);
                signal_handler_disconnect(handler, c"stop".as_ptr(), Some(on_output_stop), data);
                signal_handler_disconnect(
                    handler,
                    c"stopping".as_ptr(),
                    Some(on_output_stopping),
                    data,
                );
                signal_handler_disconnect(
                    handler,
                    c"reconnect".as_ptr(),
                    Some(on_output_reconnect),
                    data,
                );
                obs_output_release(output);
            }
            obs_weak_output_release(self.0);
        }
    }
}

/// Restarts streaming through the frontend, as the user would: Stop Streaming, wait until the
/// output has really stopped (not stopping, not reconnecting), then Start Streaming, which
/// resolves a fresh target. Called from a background task, never from OBS's threads.
struct FrontendRestart {
    output: *mut obs_weak_output_t,
}

// SAFETY: a weak output reference is a refcounted libobs handle usable from any thread.
unsafe impl Send for FrontendRestart {}
// SAFETY: it is only read; libobs synchronises the reference counting.
unsafe impl Sync for FrontendRestart {}

/// How long a restart waits for the output to stop.
const RESTART_STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// A pause between the stop and the start, for the frontend to settle its own state.
const RESTART_SETTLE: Duration = Duration::from_millis(500);

impl FrontendRestart {
    /// Whether the output is still sending, stopping or reconnecting (false once it is gone).
    fn output_busy(&self) -> bool {
        // SAFETY: the weak reference is ours until drop; a strong reference taken from it keeps
        // the output alive for the two queries and is released right after.
        unsafe {
            let output = obs_weak_output_get_output(self.output);
            if output.is_null() {
                return false;
            }
            let busy = obs_output_active(output) || obs_output_reconnecting(output);
            obs_output_release(output);
            busy
        }
    }
}

impl Drop for FrontendRestart {
    fn drop(&mut self) {
        // SAFETY: taken in `activate`, released exactly once here.
        unsafe { obs_weak_output_release(self.output) };
    }
}

impl StreamControl for FrontendRestart {
    fn restart(&self) {
        queue_ui_task(stop_streaming_task);
        let deadline = Instant::now() + RESTART_STOP_TIMEOUT;
        while self.output_busy() {
            if Instant::now() >= deadline {
                log::warn!(
                    "restart: the output did not stop within {} s; not restarting",
                    RESTART_STOP_TIMEOUT.as_secs()
                );
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(RESTART_SETTLE);
        queue_ui_task(start_streaming_task);
    }
}

/// Runs `task` on OBS's UI thread (the frontend API must be called there).
fn queue_ui_task(task: unsafe extern "C" fn(*mut c_void)) {
    // SAFETY: the task takes no parameter and is 'static; not waiting avoids any deadlock with
    // the UI thread.
    unsafe {
        obs_queue_task(
            obs_task_type_OBS_TASK_UI,
            Some(task),
            ptr::null_mut(),
            false,
        )
    };
}

unsafe extern "C" fn stop_streaming_task(_: *mut c_void) {
    guard("stop_streaming_task", (), || {
        // SAFETY: called on the UI thread, as the frontend API requires.
        unsafe {
            if obs_frontend_streaming_active() {
                obs_frontend_streaming_stop();
            }
        }
    })
}

unsafe extern "C" fn start_streaming_task(_: *mut c_void) {
    guard("start_streaming_task", (), || {
        // SAFETY: called on the UI thread, as the frontend API requires.
        unsafe {
            if !obs_frontend_streaming_active() {
                obs_frontend_streaming_start();
            }
        }
    })
}

/// The output is stopping (Stop Streaming, another plugin, OBS quitting): a start still
/// resolving is given up, so its connect thread stops waiting and nothing is published.
unsafe extern "C" fn on_output_stopping(data: *mut c_void, _calldata: *mut calldata_t) {
    guard("on_output_stopping", (), || {
        // SAFETY: as in `on_output_stop`.
        if let Some(service) = unsafe { instance(data) } {
            service.lock().golive.cancel_resolving();
        }
    })
}

/// The output lost its connection and will reconnect: the next target read fails over.
unsafe extern "C" fn on_output_reconnect(data: *mut c_void, _calldata: *mut calldata_t) {
    guard("on_output_reconnect", (), || {
        // SAFETY: as in `on_output_stop`.
        if let Some(service) = unsafe { instance(data) } {
            service.lock().golive.on_reconnect();
        }
    })
}

/// The output stopped for good (user stop, error, reconnect given up, OBS quitting).
unsafe extern "C" fn on_output_stop(data: *mut c_void, _calldata: *mut calldata_t) {
    guard("on_output_stop", (), || {
        // SAFETY: `data` is the instance that connected this signal; `destroy` disconnects it
        // before freeing the instance.
        let Some(service) = (unsafe { instance(data) }) else {
            return;
        };
        service.lock().golive.on_stopped();
    })
}

impl ServiceData {
    fn lock(&self) -> MutexGuard<'_, ServiceState> {
        lock_state(&self.state)
    }
}

fn lock_state(state: &Mutex<ServiceState>) -> MutexGuard<'_, ServiceState> {
    state.lock_recovered()
}

impl ServiceState {
    /// Hands out `target` from the next read on; the old strings are kept (see `retired`).
    fn set_target(&mut self, target: &RtmpTarget) {
        self.replace_target(
            c_string(&target.server),
            c_string(&target.key),
            target.is_rtmps(),
        );
    }

    fn replace_target(&mut self, server: CString, key: CString, rtmps: bool) {
        let old_server = std::mem::replace(&mut self.server, server);
        let old_key = std::mem::replace(&mut self.key, key);
        self.retired.extend([old_server, old_key]);
        self.rtmps = rtmps;
    }

    /// The output being started, with a strong reference the caller releases.
    fn output(&self) -> Option<*mut obs_output_t> {
        let link = self.output.as_ref()?;
        // SAFETY: the link's weak reference is valid until `disconnect`; the strong reference
        // returned (or null) is released by the caller.
        let output = unsafe { obs_weak_output_get_output(link.0) };
        (!output.is_null()).then_some(output)
    }
}

/// Borrows the instance behind OBS's `data` pointer.
///
/// # Safety
/// `data` must be a pointer returned by `create` and not yet passed to `destroy`.
unsafe fn instance<'a>(data: *mut c_void) -> Option<&'a ServiceData> {
    // SAFETY: per the caller, `data` is null or a live Box<ServiceData> from `create`.
    unsafe { data.cast::<ServiceData>().as_ref() }
}

unsafe extern "C" fn get_name<const K: usize>(_type_data: *mut c_void) -> *const c_char {
    guard("get_name", PLACEHOLDER_KEY.as_ptr(), || {
        // A missing locale file still leaves a recognisable name in OBS's lists.
        text_ptr(&c_string(ServiceKind::ALL[K].name_key()), c"obs-rtc-golive")
    })
}

unsafe extern "C" fn create<const K: usize>(
    settings: *mut obs_data_t,
    _service: *mut obs_service_t,
) -> *mut c_void {
    guard("create", ptr::null_mut(), || {
        // SAFETY: OBS passes the service's valid settings object on its UI thread.
        let json = unsafe { settings_json(settings) };
        let Some(shared) = shared() else {
            return ptr::null_mut();
        };
        let data = ServiceData {
            state: Arc::new(Mutex::new(ServiceState {
                golive: GoLive::new(ServiceSettings::parse(ServiceKind::ALL[K], &json), shared),
                destroyed: false,
                server: PLACEHOLDER_SERVER.to_owned(),
                key: PLACEHOLDER_KEY.to_owned(),
                rtmps: false,
                retired: Vec::new(),
                output: None,
            })),
        };
        Box::into_raw(Box::new(data)).cast()
    })
}

unsafe extern "C" fn destroy(data: *mut c_void) {
    guard("destroy", (), || {
        if !data.is_null() {
            // SAFETY: `data` came from Box::into_raw in `create`; OBS destroys it exactly once.
            let service = unsafe { Box::from_raw(data.cast::<ServiceData>()) };
            // Taken out first: the signal handler's lock must never be taken under ours.
            let link = {
                let mut state = service.lock();
                state.destroyed = true;
                // A connect thread still waiting wakes now; it may hold the state a bit longer.
                state.golive.on_stopped();
                state.output.take()
            };
            if let Some(link) = link {
                // SAFETY: the link was connected with this same `data`.
                unsafe { link.disconnect(data) };
            }
            drop(service);
        }
    })
}

unsafe extern "C" fn update<const K: usize>(data: *mut c_void, settings: *mut obs_data_t) {
    guard("update", (), || {
        // SAFETY: OBS passes a live instance and its valid settings on the UI thread.
        if let Some(service) = unsafe { instance(data) } {
            let json = unsafe { settings_json(settings) };
            let parsed = ServiceSettings::parse(ServiceKind::ALL[K], &json);
            service.lock().golive.update(parsed);
        }
    })
}

unsafe extern "C" fn get_defaults<const K: usize>(settings: *mut obs_data_t) {
    guard("get_defaults", (), || {
        // SAFETY: OBS passes a valid defaults object.
        unsafe { set_defaults(settings, ServiceKind::ALL[K].fields()) }
    })
}

unsafe extern "C" fn get_properties<const K: usize>(_data: *mut c_void) -> *mut obs_properties_t {
    guard("get_properties", ptr::null_mut(), || {
        properties(ServiceKind::ALL[K].fields())
    })
}

/// Start Streaming: resolve the target, or refuse with a message for OBS's dialog.
unsafe extern "C" fn initialize(data: *mut c_void, output: *mut obs_output_t) -> bool {
    let entered = std::time::Instant::now();
    remember_ui_thread();
    let outcome = guard("initialize", Err(Message::new("Error.Internal")), || {
        // SAFETY: OBS passes a live instance.
        let Some(service) = (unsafe { instance(data) }) else {
            return Err(Message::new("Error.Internal"));
        };
        if !output.is_null() {
            // Signal connections are changed outside our lock: libobs calls `on_output_stop`
            // with its signal lock held, and that callback takes ours.
            let previous = service.lock().output.take();
            if let Some(link) = previous {
                // SAFETY: connected earlier with this same `data`.
                unsafe { link.disconnect(data) };
            }
            // SAFETY: `output` is the live output being started; `data` lives until `destroy`,
            // which disconnects.
            let link = unsafe { OutputLink::connect(output, data) };
            service.lock().output = Some(link);
        }
        let mut state = service.lock();
        // The previous start's connect thread is done: OBS starts an output only once its
        // last connect attempt ended.
        state.retired.clear();
        let begun = state.golive.start().map(|begun| match begun {
            Begin::Ready(plan) => Some(plan.primary.clone()),
            Begin::Resolving(_) => None,
        });
        match begun {
            Ok(Some(target)) => {
                state.set_target(&target);
                Ok(())
            }
            Ok(None) => {
                state.replace_target(
                    PLACEHOLDER_SERVER.to_owned(),
                    PLACEHOLDER_KEY.to_owned(),
                    false,
                );
                Ok(())
            }
            Err(e) => {
                state.replace_target(
                    PLACEHOLDER_SERVER.to_owned(),
                    PLACEHOLDER_KEY.to_owned(),
                    false,
                );
                Err(e.message())
            }
        }
    });
    // The UI thread is blocked for this long: the number the "warm go-live" target is about.
    log::info!(
        "initialize: {} us on the UI thread",
        entered.elapsed().as_micros()
    );
    match outcome {
        Ok(()) => true,
        Err(message) => {
            let text = message.render(&ObsLocale);
            // Error texts are built from codes, hosts and RequestIds only: safe to log.
            log::warn!("go-live refused: {}", text.replace('\n', " | "));
            if !output.is_null() {
                let text = c_string(&text);
                // SAFETY: `output` is the live output being started; libobs copies the text.
                unsafe { obs_output_set_last_error(output, text.as_ptr()) };
            }
            false
        }
    }
}

/// The output began sending: the stream is live.
unsafe extern "C" fn activate(data: *mut c_void, _settings: *mut obs_data_t) {
    guard("activate", (), || {
        // SAFETY: OBS passes a live instance.
        if let Some(service) = unsafe { instance(data) } {
            let mut state = service.lock();
            let weak = state.output.as_ref().map(|link| {
                // SAFETY: the link's weak reference is valid; a new weak reference is taken from
                // a strong one, which is released right after.
                unsafe {
                    let output = obs_weak_output_get_output(link.0);
                    let weak = if output.is_null() {
                        ptr::null_mut()
                    } else {
                        obs_output_get_weak_output(output)
                    };
                    obs_output_release(output);
                    weak
                }
            });
            if let Some(output) = weak.filter(|w| !w.is_null()) {
                state.golive.on_live(Arc::new(FrontendRestart { output }));
            }
        }
    })
}

/// # Safety
/// `data` must be a live instance; the returned pointer stays valid until the next `initialize`.
unsafe fn read_target(
    data: *mut c_void,
    pick: fn(&ServiceState) -> *const c_char,
) -> *const c_char {
    // SAFETY: per the caller.
    match unsafe { instance(data) } {
        Some(service) => pick(&service.lock()),
        None => ptr::null(),
    }
}

/// The server URL, read by the connect thread before every connection attempt: first it waits
/// for a start still resolving; after a lost connection it moves to the next node. Never waits
/// on OBS's UI thread, which gets the current (placeholder) value.
///
/// # Safety
/// `data` must be a live instance.
unsafe fn server_for_connect(data: *mut c_void) -> *const c_char {
    // SAFETY: per the caller.
    let Some(service) = (unsafe { instance(data) }) else {
        return ptr::null();
    };
    if on_ui_thread() {
        return service.lock().server.as_ptr();
    }
    // The state outlives a `destroy` during the wait; no lock is held while waiting.
    let state = service.state.clone();
    let resolving = lock_state(&state).golive.resolving();
    if let Some(resolving) = resolving {
        let outcome = resolving.wait(RESOLVE_WAIT_BOUND);
        let mut guard = lock_state(&state);
        if guard.destroyed {
            return REFUSED_SERVER.as_ptr();
        }
        let adopted = guard
            .golive
            .adopt(&resolving, outcome)
            .map(|plan| plan.primary.clone());
        match adopted {
            Ok(target) => guard.set_target(&target),
            Err(message) => refuse_on_connect_thread(&mut guard, &message),
        }
        return guard.server.as_ptr();
    }
    let refresh = {
        let mut guard = lock_state(&state);
        match guard.golive.failover() {
            Failover::Unchanged => None,
            Failover::Moved(next) => {
                let next = next.clone();
                guard.set_target(&next);
                None
            }
            Failover::Expired(refresh) => Some(refresh),
        }
    };
    if let Some(refresh) = refresh {
        let fresh = refresh.run();
        let mut guard = lock_state(&state);
        if let Some(target) = guard.golive.refreshed(fresh).cloned() {
            guard.set_target(&target);
        }
    }
    let guard = lock_state(&state);
    if guard.destroyed {
        REFUSED_SERVER.as_ptr()
    } else {
        guard.server.as_ptr()
    }
}

/// A start that failed on the connect thread: the reason becomes the output's last error (set
/// here, after `obs_output_actual_start` cleared it), and the connect thread gets
/// [`REFUSED_SERVER`], so that OBS's own "failed to connect" dialog shows the reason.
fn refuse_on_connect_thread(state: &mut ServiceState, message: &Message) {
    let text = message.render(&ObsLocale);
    // Error texts are built from codes, hosts and RequestIds only: safe to log.
    log::warn!(
        "go-live refused on the connect thread: {}",
        text.replace('\n', " | ")
    );
    if let Some(output) = state.output() {
        let text = c_string(&text);
        // SAFETY: `output` is a strong reference to the live output; libobs copies the text;
        // the reference is released right after.
        unsafe {
            obs_output_set_last_error(output, text.as_ptr());
            obs_output_release(output);
        }
    }
    state.replace_target(REFUSED_SERVER.to_owned(), PLACEHOLDER_KEY.to_owned(), false);
}

unsafe extern "C" fn get_url(data: *mut c_void) -> *const c_char {
    // SAFETY: OBS passes a live instance.
    guard("get_url", ptr::null(), || unsafe {
        server_for_connect(data)
    })
}

unsafe extern "C" fn get_key(data: *mut c_void) -> *const c_char {
    // SAFETY: OBS passes a live instance.
    guard("get_key", ptr::null(), || unsafe {
        read_target(data, |s| s.key.as_ptr())
    })
}

unsafe extern "C" fn get_connect_info(data: *mut c_void, kind: u32) -> *const c_char {
    guard("get_connect_info", ptr::null(), || match kind {
        // SAFETY: OBS passes a live instance.
        CONNECT_INFO_SERVER_URL => unsafe { server_for_connect(data) },
        CONNECT_INFO_STREAM_KEY => unsafe { read_target(data, |s| s.key.as_ptr()) },
        _ => ptr::null(),
    })
}

unsafe extern "C" fn get_protocol(data: *mut c_void) -> *const c_char {
    guard("get_protocol", c"RTMP".as_ptr(), || {
        // SAFETY: OBS passes a live instance.
        unsafe {
            read_target(data, |s| {
                if s.rtmps {
                    c"RTMPS".as_ptr()
                } else {
                    c"RTMP".as_ptr()
                }
            })
        }
    })
}

unsafe extern "C" fn get_output_type(_data: *mut c_void) -> *const c_char {
    c"rtmp_output".as_ptr()
}

/// The real check happens in `initialize`, which can explain a refusal; saying "no" here would
/// fail the start with no message.
unsafe extern "C" fn can_try_to_connect(_data: *mut c_void) -> bool {
    true
}

/// The callbacks of service `ServiceKind::ALL[K]`. Its id string is leaked on purpose: libobs
/// keeps the pointer for as long as the process runs.
fn info<const K: usize>() -> ObsServiceInfo {
    ObsServiceInfo {
        id: Box::leak(c_string(ServiceKind::ALL[K].id()).into_boxed_c_str()).as_ptr(),
        get_name: Some(get_name::<K>),
        create: Some(create::<K>),
        destroy: Some(destroy),
        activate: Some(activate),
        deactivate: None,
        update: Some(update::<K>),
        get_defaults: Some(get_defaults::<K>),
        get_properties: Some(get_properties::<K>),
        initialize: Some(initialize),
        get_url: Some(get_url),
        get_key: Some(get_key),
        get_username: None,
        get_password: None,
        deprecated_1: None,
        apply_encoder_settings: None,
        type_data: ptr::null_mut(),
        free_type_data: None,
        get_output_type: Some(get_output_type),
        get_supported_resolutions: None,
        get_max_fps: None,
        get_max_bitrate: None,
        get_supported_video_codecs: None,
        get_protocol: Some(get_protocol),
        get_supported_audio_codecs: None,
        get_connect_info: Some(get_connect_info),
        can_try_to_connect: Some(can_try_to_connect),
    }
}

/// The size to register with: libobs before 29.1 rejects a struct larger than its own, and from
/// 29.1 requires one that reaches `get_protocol`.
fn registration_size(running_version: u32) -> usize {
    if running_version < obs_version(29, 1, 0) {
        SERVICE_INFO_SIZE_29_0
    } else {
        std::mem::size_of::<ObsServiceInfo>()
    }
}

/// Registers every service with the running libobs.
pub fn register_all() {
    // SAFETY: obs_get_version has no preconditions.
    let size = registration_size(unsafe { obs_get_version() });
    let infos: [ObsServiceInfo; ServiceKind::ALL.len()] = [info::<0>(), info::<1>()];
    for (info, kind) in infos.iter().zip(ServiceKind::ALL) {
        // SAFETY: `info` is fully initialised; libobs copies `size` bytes (never more than the
        // struct holds) and keeps only the 'static id string and function pointers.
        unsafe { super::ffi::obs_register_service_s(info, size) };
        log::info!("registered service {} ({size} bytes)", kind.id());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_size_follows_the_running_version() {
        assert_eq!(registration_size(obs_version(29, 0, 2)), 184);
        assert_eq!(registration_size(obs_version(28, 1, 0)), 184);
        assert_eq!(registration_size(obs_version(29, 1, 0)), 216);
        assert_eq!(registration_size(obs_version(32, 0, 1)), 216);
    }
}
