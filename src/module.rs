//! The module entry points OBS looks for: `obs_module_load` and the rest through obs-wrapper,
//! and the locale's `obs_module_set_locale` / `obs_module_free_locale`.

use super::guard::guard;
use super::libobs::ffi::obs_version;
use super::libobs::frontend::UiThread;
use super::libobs::module::running_version;
use super::{locale, pull, service, shutdown_shared, websocket, window};
use obs_wrapper::log::Logger;
use obs_wrapper::module::{LoadContext, Module, ModuleContext};
use obs_wrapper::string::ObsString;
use obs_wrapper::{obs_register_module, obs_string};
use std::ffi::CStr;
use std::os::raw::c_char;
use std::sync::{Mutex, PoisonError};

/// OBS's logger, handed the plugin's lines one at a time. OBS 29.0's log file writer
/// (`do_log` -> `LogStringChunk`) writes outside its own lock, so two of the plugin's threads
/// logging at the same instant (a vendor request and the connect thread it wakes) could splice
/// their lines together in the file people share.
struct OneLineAtATime {
    obs: Logger,
    lock: Mutex<()>,
}

impl log::Log for OneLineAtATime {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        self.obs.enabled(metadata)
    }

    fn log(&self, record: &log::Record) {
        let _one_line = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.obs.log(record);
    }

    fn flush(&self) {}
}

/// The oldest OBS the plugin runs in: its services follow 29.0's `obs_service_info` and
/// frontend, and its Windows DLL imports only what 29.0's `obs.dll` exports.
const OLDEST_OBS: u32 = obs_version(29, 0, 0);

/// The plugin module.
pub struct GoLiveModule {
    context: ModuleContext,
}

impl Module for GoLiveModule {
    fn new(context: ModuleContext) -> Self {
        GoLiveModule { context }
    }

    fn get_ctx(&self) -> &ModuleContext {
        &self.context
    }

    fn load(&mut self, _load_context: &mut LoadContext) -> bool {
        let entered = std::time::Instant::now();
        guard("obs_module_load", false, || {
            // Another Rust plugin may have installed the process-wide logger first; ours then
            // logs through theirs, which also ends in OBS's log.
            let logger = OneLineAtATime {
                obs: Logger::new().with_max_level(log::LevelFilter::Info),
                lock: Mutex::new(()),
            };
            if log::set_boxed_logger(Box::new(logger)).is_ok() {
                log::set_max_level(log::LevelFilter::Info);
            }
            let running = running_version();
            if running < OLDEST_OBS {
                log::error!(
                    "obs-rtc-golive {} needs OBS 29.0 or newer, and this is OBS {}.{}.{}: not \
                     loaded. Update OBS Studio to use it.",
                    env!("CARGO_PKG_VERSION"),
                    running >> 24,
                    (running >> 16) & 0xff,
                    running & 0xffff
                );
                return false;
            }
            service::remember_ui_thread();
            service::register_all();
            window::register_source();
            pull::register();
            log::info!(
                "obs-rtc-golive {} loaded in {} us",
                env!("CARGO_PKG_VERSION"),
                entered.elapsed().as_micros()
            );
            true
        })
    }

    fn post_load(&mut self) {
        // The frontend and obs-websocket exist only once every module is loaded.
        guard("obs_module_post_load", (), || {
            // SAFETY: OBS runs post-load on its UI thread, once the frontend is up.
            window::register_frontend(unsafe { UiThread::assume() });
            websocket::register();
        })
    }

    fn unload(&mut self) {
        guard("obs_module_unload", (), || {
            websocket::unload();
            window::unload();
            shutdown_shared();
        })
    }

    fn description() -> ObsString {
        obs_string!("One-click go-live into ZEGOCLOUD and Alibaba Cloud ARTC real-time rooms.")
    }

    fn name() -> ObsString {
        obs_string!("obs-rtc-golive")
    }

    fn author() -> ObsString {
        obs_string!("obs-rtc-golive developers")
    }
}

obs_register_module!(GoLiveModule);

/// Called by OBS with the UI language (e.g. `zh-CN`) before the module loads.
#[no_mangle]
pub extern "C" fn obs_module_set_locale(locale: *const c_char) {
    guard("obs_module_set_locale", (), || {
        if !locale.is_null() {
            // SAFETY: OBS passes its own NUL-terminated string, valid for the call.
            locale::set(unsafe { CStr::from_ptr(locale) });
        }
    })
}

/// Called by OBS when the module is unloaded.
#[no_mangle]
pub extern "C" fn obs_module_free_locale() {
    guard("obs_module_free_locale", (), locale::free)
}
