//! Request signers for the vendors' APIs, each pinned by the vendor's official test vector.

pub mod aliyun_rpc;
pub mod aliyun_v3;
pub mod percent;
pub mod zego;

/// A fresh random nonce of `bytes` random bytes, hex-encoded (lower case).
///
/// Both vendors reject a reused nonce within their replay window, so every call draws a new one
/// from the operating system's generator.
pub fn random_hex_nonce(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // The OS generator only fails when the kernel has no entropy source at all; a time-derived
    // fallback keeps go-live working there rather than failing the stream.
    if getrandom::getrandom(&mut buf).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (nanos >> ((i % 16) * 8)) as u8 ^ (i as u8).wrapping_mul(151);
        }
    }
    hex::encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_has_requested_length_and_varies() {
        let a = random_hex_nonce(8);
        let b = random_hex_nonce(8);
        assert_eq!(a.len(), 16);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
    }
}
