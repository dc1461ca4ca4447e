//! The frontend API (`libobs-frontend-api`): streaming control, the Tools menu, frontend
//! events, and OBS's UI-thread task queue.

use super::c_string;
use super::ffi::{
    obs_frontend_add_event_callback, obs_frontend_add_tools_menu_item,
    obs_frontend_remove_event_callback, obs_frontend_streaming_active,
    obs_frontend_streaming_start, obs_frontend_streaming_stop, FrontendCallback,
    FrontendEventCallback,
};
use obs_wrapper::obs_sys::{obs_queue_task, obs_task_type_OBS_TASK_UI};
use std::marker::PhantomData;
use std::os::raw::c_void;
use std::ptr;

/// Proof that the code holding it runs on OBS's UI thread, where the frontend API must be
/// called. Not `Send`: it cannot leave the thread it was made on.
#[derive(Clone, Copy)]
pub struct UiThread(PhantomData<*const ()>);

impl UiThread {
    /// The token, in a callback OBS runs on its UI thread.
    ///
    /// # Safety
    /// The calling thread must be OBS's UI thread.
    pub unsafe fn assume() -> Self {
        UiThread(PhantomData)
    }

    /// Whether the streaming output is active.
    pub fn streaming_active(self) -> bool {
        // SAFETY: on the UI thread (this token).
        unsafe { obs_frontend_streaming_active() }
    }

    /// Start Streaming, as if the user pressed the button.
    pub fn start_streaming(self) {
        // SAFETY: on the UI thread (this token).
        unsafe { obs_frontend_streaming_start() };
    }

    /// Stop Streaming, as if the user pressed the button.
    pub fn stop_streaming(self) {
        // SAFETY: on the UI thread (this token).
        unsafe { obs_frontend_streaming_stop() };
    }

    /// Appends an item to the Tools menu (the label is copied).
    pub fn add_tools_menu_item(self, label: &str, clicked: FrontendCallback) {
        let label = c_string(label);
        // SAFETY: on the UI thread with the frontend up; the label is copied; the callback is
        // a 'static function and gets no data.
        unsafe { obs_frontend_add_tools_menu_item(label.as_ptr(), clicked, ptr::null_mut()) };
    }

    /// Listens to frontend events (with no data).
    pub fn add_event_callback(self, callback: FrontendEventCallback) {
        // SAFETY: on the UI thread; the callback is a 'static function.
        unsafe { obs_frontend_add_event_callback(callback, ptr::null_mut()) };
    }
}

/// Stops listening to frontend events. At module unload, on the thread OBS unloads on: the
/// frontend's callback list outlives module unload (the frontend never frees it).
pub fn remove_event_callback(callback: FrontendEventCallback) {
    // SAFETY: see above; removing a callback that is not listed does nothing.
    unsafe { obs_frontend_remove_event_callback(callback, ptr::null_mut()) };
}

/// Runs `task` on OBS's UI thread, without waiting (any thread): waiting could deadlock with
/// the UI thread.
pub fn queue_ui_task(task: unsafe extern "C" fn(*mut c_void)) {
    // SAFETY: the task takes no parameter and is 'static.
    unsafe {
        obs_queue_task(
            obs_task_type_OBS_TASK_UI,
            Some(task),
            ptr::null_mut(),
            false,
        )
    };
}
