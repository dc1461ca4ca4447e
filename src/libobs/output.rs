//! `obs_output_t`: the output a service streams through, strong and weak, and its signals.

use super::c_string;
use super::ffi::{obs_weak_object_expired, ObsWeakObject};
use obs_wrapper::obs_sys::{
    obs_output_active, obs_output_get_signal_handler, obs_output_get_weak_output,
    obs_output_reconnecting, obs_output_release, obs_output_set_last_error, obs_output_t,
    obs_weak_output_addref, obs_weak_output_get_output, obs_weak_output_release, obs_weak_output_t,
    signal_callback_t, signal_handler_connect, signal_handler_disconnect,
};
use std::ffi::CStr;
use std::marker::PhantomData;
use std::os::raw::c_void;
use std::ptr::NonNull;

/// One strong reference to an output, released on drop.
pub struct Output(NonNull<obs_output_t>);

impl Output {
    /// The output, lent for as long as this reference lives.
    pub fn view(&self) -> OutputView<'_> {
        OutputView {
            raw: self.0,
            lent: PhantomData,
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // SAFETY: the reference is ours and released once.
        unsafe { obs_output_release(self.0.as_ptr()) };
    }
}

/// A live output lent for `'a` (by an [`Output`], or by OBS to `initialize`).
#[derive(Clone, Copy)]
pub struct OutputView<'a> {
    raw: NonNull<obs_output_t>,
    lent: PhantomData<&'a obs_output_t>,
}

impl OutputView<'_> {
    /// Borrows the output behind a callback's pointer (null reads as none).
    ///
    /// # Safety
    /// `raw` must be null or an output that stays alive for `'a`.
    pub unsafe fn from_raw(raw: *mut obs_output_t) -> Option<Self> {
        NonNull::new(raw).map(|raw| OutputView {
            raw,
            lent: PhantomData,
        })
    }

    /// A weak reference to the output.
    pub fn weak(self) -> Option<WeakOutput> {
        // SAFETY: the output is alive; libobs returns a new weak reference.
        NonNull::new(unsafe { obs_output_get_weak_output(self.raw.as_ptr()) }).map(WeakOutput)
    }

    /// Sets the text OBS's "failed to start/connect" dialog shows.
    pub fn set_last_error(self, text: &str) {
        let text = c_string(text);
        // SAFETY: the output is alive; libobs copies the text.
        unsafe { obs_output_set_last_error(self.raw.as_ptr(), text.as_ptr()) };
    }

    /// Whether the output is sending (or stopping).
    pub fn active(self) -> bool {
        // SAFETY: the output is alive.
        unsafe { obs_output_active(self.raw.as_ptr()) }
    }

    /// Whether the output is between a lost connection and its next attempt.
    pub fn reconnecting(self) -> bool {
        // SAFETY: the output is alive.
        unsafe { obs_output_reconnecting(self.raw.as_ptr()) }
    }

    /// Connects `callbacks` (signal name, callback) with `data`, kept as a [`SignalLink`].
    ///
    /// # Safety
    /// `data` must stay valid for the callbacks until [`SignalLink::disconnect`] has returned.
    pub unsafe fn connect(
        self,
        callbacks: &'static [(&'static CStr, signal_callback_t)],
        data: *mut c_void,
    ) -> Option<SignalLink> {
        let weak = self.weak()?;
        // SAFETY: the output is alive, so is its signal handler; libobs copies each name and
        // stores callback + data, which the caller keeps valid.
        unsafe {
            let handler = obs_output_get_signal_handler(self.raw.as_ptr());
            for (name, callback) in callbacks {
                signal_handler_connect(handler, name.as_ptr(), *callback, data);
            }
        }
        Some(SignalLink {
            weak,
            callbacks,
            data,
        })
    }
}

/// A weak output reference, released on drop.
pub struct WeakOutput(NonNull<obs_weak_output_t>);

// SAFETY: weak references are refcounted libobs handles usable from any thread.
unsafe impl Send for WeakOutput {}
// SAFETY: only `upgrade` reads it, and libobs synchronises the reference counting.
unsafe impl Sync for WeakOutput {}

impl WeakOutput {
    /// A strong reference, or none once the output is gone.
    pub fn upgrade(&self) -> Option<Output> {
        // SAFETY: the weak reference is ours; libobs returns a new strong reference or null.
        NonNull::new(unsafe { obs_weak_output_get_output(self.0.as_ptr()) }).map(Output)
    }

    /// Whether nobody holds the output any more (its destroy has begun), asked without taking
    /// a strong reference: releasing one could make the asking thread run that destroy.
    pub fn expired(&self) -> bool {
        // SAFETY: the weak reference is ours, so libobs keeps it allocated; it is the
        // output's `obs_weak_object` (see `ObsWeakObject`), which the call only reads.
        unsafe { obs_weak_object_expired(self.0.as_ptr().cast::<ObsWeakObject>()) }
    }
}

impl Clone for WeakOutput {
    fn clone(&self) -> Self {
        // SAFETY: the weak reference is ours; libobs counts the new one, released on drop.
        unsafe { obs_weak_output_addref(self.0.as_ptr()) };
        WeakOutput(self.0)
    }
}

impl Drop for WeakOutput {
    fn drop(&mut self) {
        // SAFETY: the weak reference is ours and released once.
        unsafe { obs_weak_output_release(self.0.as_ptr()) };
    }
}

/// Signal connections made on an output, and a weak reference to it.
pub struct SignalLink {
    weak: WeakOutput,
    callbacks: &'static [(&'static CStr, signal_callback_t)],
    data: *mut c_void,
}

// SAFETY: the data pointer is only handed back to libobs, which may be done from any thread.
unsafe impl Send for SignalLink {}

impl SignalLink {
    /// The output, if it still exists.
    pub fn output(&self) -> Option<Output> {
        self.weak.upgrade()
    }

    /// Another weak reference to the output.
    pub fn weak(&self) -> WeakOutput {
        self.weak.clone()
    }

    /// Removes the connections (when the output still exists); the weak reference is released.
    pub fn disconnect(self) {
        if let Some(output) = self.output() {
            // SAFETY: the strong reference keeps the output and its signal handler alive; each
            // pair is the one connected with this data.
            unsafe {
                let handler = obs_output_get_signal_handler(output.0.as_ptr());
                for (name, callback) in self.callbacks {
                    signal_handler_disconnect(handler, name.as_ptr(), *callback, self.data);
                }
            }
        }
    }
}
