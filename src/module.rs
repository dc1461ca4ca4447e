//! The module entry points OBS looks for (`obs_module_load`, ...), through obs-wrapper.

use super::guard::guard;
use super::{frontend, service, shutdown_shared, websocket};
use obs_wrapper::log::Logger;
use obs_wrapper::module::{LoadContext, Module, ModuleContext};
use obs_wrapper::string::ObsString;
use obs_wrapper::{obs_register_module, obs_string};
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
            service::remember_ui_thread();
            service::register_all();
            frontend::register_source();
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
            frontend::register_frontend();
            websocket::register();
        })
    }

    fn unload(&mut self) {
        guard("obs_module_unload", (), || {
            websocket::unload();
            frontend::unload();
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
