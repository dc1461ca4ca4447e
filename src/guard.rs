//! No Rust panic unwinds into OBS: every callback runs inside [`guard`].

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs a callback body; a panic is logged and replaced by `fallback`.
///
/// Unwinding across the C ABI would abort OBS and with it the user's stream and recording.
pub fn guard<R>(callback: &str, fallback: R, body: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            let reason = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            log::error!("internal error in {callback}: {reason}");
            fallback
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_becomes_fallback() {
        assert_eq!(guard("t", 7, || panic!("boom")), 7);
        assert_eq!(guard("t", 7, || 3), 3);
    }
}
