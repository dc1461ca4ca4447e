//! A refusal of the broker's API: the stable code of `platform_api`, an English text, and the
//! vendor's code or the time to wait when there is one. Vendor errors are mapped from the
//! core's typed errors and rendered with the plugin's own English texts.

use rtc_golive_core::messages::{LocaleFile, Message};
use rtc_golive_core::platform_api::{ErrorBody, ErrorCode, WireError};
use rtc_golive_core::providers::aliyun::AliyunError;
use rtc_golive_core::providers::zego::ZegoError;
use std::sync::OnceLock;
use std::time::Duration;

/// How long a client is asked to wait when a vendor or Redis cannot be reached.
const UNAVAILABLE_RETRY_SECONDS: u64 = 5;

/// A refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The stable code; its HTTP status is the answer's.
    pub code: ErrorCode,
    /// English, for logs and operators; never holds a secret.
    pub message: String,
    /// The vendor's code, for [`ErrorCode::VendorError`] and [`ErrorCode::NotPublished`].
    pub vendor_code: Option<String>,
    /// Seconds before trying again (also sent as `Retry-After`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// A refusal with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            vendor_code: None,
            retry_after: None,
        }
    }

    /// Too many requests: try again after `wait` (rounded up to a whole second).
    pub fn rate_limited(message: impl Into<String>, wait: Duration) -> Self {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        ApiError {
            retry_after: Some(seconds.max(1)),
            ..ApiError::new(ErrorCode::RateLimited, message)
        }
    }

    /// A ZEGOCLOUD call that failed.
    pub fn zego(e: &ZegoError) -> Self {
        match e {
            ZegoError::Transport(_) => unavailable(e.message()),
            ZegoError::HttpStatus { status } if *status >= 500 => unavailable(e.message()),
            ZegoError::Api { code, .. } => vendor(e.message(), Some(code.to_string())),
            _ => vendor(e.message(), None),
        }
    }

    /// A ZEGOCLOUD pull dispatch that failed: "not published" when the vendor has nothing to
    /// play (its code 1003, or a success with no node), else as [`Self::zego`].
    pub fn zego_play(e: &ZegoError) -> Self {
        if !e.is_not_published() {
            return Self::zego(e);
        }
        ApiError {
            vendor_code: match e {
                ZegoError::Api { code, .. } => Some(code.to_string()),
                _ => None,
            },
            ..ApiError::new(ErrorCode::NotPublished, english(&e.message()))
        }
    }

    /// An Alibaba Cloud call that failed.
    pub fn aliyun(e: &AliyunError) -> Self {
        match e {
            AliyunError::Transport(_) => unavailable(e.message()),
            AliyunError::Api { status, .. } | AliyunError::BadResponse { status, .. }
                if *status >= 500 =>
            {
                unavailable(e.message())
            }
            AliyunError::Api { code, .. } => vendor(e.message(), Some(code.clone())),
            _ => vendor(e.message(), None),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: WireError {
                code: self.code,
                message: self.message.clone(),
                vendor_code: self.vendor_code.clone(),
                retry_after_seconds: self.retry_after,
            },
        }
    }
}

fn unavailable(message: Message) -> ApiError {
    ApiError {
        retry_after: Some(UNAVAILABLE_RETRY_SECONDS),
        ..ApiError::new(ErrorCode::Unavailable, english(&message))
    }
}

fn vendor(message: Message, vendor_code: Option<String>) -> ApiError {
    ApiError {
        vendor_code,
        ..ApiError::new(ErrorCode::VendorError, english(&message))
    }
}

/// `message` in English, from the plugin's own en-US texts.
pub fn english(message: &Message) -> String {
    static EN_US: OnceLock<LocaleFile> = OnceLock::new();
    let locale =
        EN_US.get_or_init(|| LocaleFile::parse(include_str!("../../../data/locale/en-US.ini")));
    message.render(locale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vendor_code_is_carried_and_explained() {
        let e = ApiError::zego(&ZegoError::Api {
            code: 30009,
            message: "bad stream".into(),
            request_id: "R1".into(),
        });
        assert_eq!(e.code, ErrorCode::VendorError);
        assert_eq!(e.vendor_code.as_deref(), Some("30009"));
        assert!(
            e.message.contains("30009") && e.message.contains("R1"),
            "{}",
            e.message
        );
        assert!(!e.message.contains("Error.Zego"), "rendered: {}", e.message);
    }

    #[test]
    fn a_pull_with_nothing_to_play_is_not_published() {
        let empty_node = ApiError::zego_play(&ZegoError::Api {
            code: 1003,
            message: "Playing node is empty".into(),
            request_id: "R2".into(),
        });
        assert_eq!(empty_node.code, ErrorCode::NotPublished);
        assert_eq!(empty_node.code.http_status(), 404);
        assert_eq!(empty_node.vendor_code.as_deref(), Some("1003"));

        // A success without a single node says the same, with no vendor code to carry.
        let no_node = ApiError::zego_play(&ZegoError::EmptyData {
            request_id: "R3".into(),
        });
        assert_eq!(
            (no_node.code, no_node.vendor_code),
            (ErrorCode::NotPublished, None)
        );

        // Any other refusal is the vendor's, as for a push.
        let refusal = ZegoError::Api {
            code: 30009,
            message: "bad stream".into(),
            request_id: "R4".into(),
        };
        assert_eq!(ApiError::zego_play(&refusal), ApiError::zego(&refusal));
    }

    #[test]
    fn retry_after_rounds_up() {
        let e = ApiError::rate_limited("x", Duration::from_millis(1200));
        assert_eq!(e.retry_after, Some(2));
        assert_eq!(e.code.http_status(), 429);
    }
}
