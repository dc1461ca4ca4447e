//! ZEGOCLOUD server API signature (SignatureVersion 2.0).
//!
//! `Signature = lowercase_hex(md5(AppId + SignatureNonce + ServerSecret + Timestamp))`.

use md5::{Digest, Md5};

/// The signature ZEGOCLOUD expects for one call.
///
/// `app_id` and `timestamp` are rendered as decimal strings, exactly as they are sent.
pub fn sign(app_id: u32, nonce: &str, server_secret: &str, timestamp: i64) -> String {
    let mut hasher = Md5::new();
    hasher.update(app_id.to_string().as_bytes());
    hasher.update(nonce.as_bytes());
    hasher.update(server_secret.as_bytes());
    hasher.update(timestamp.to_string().as_bytes());
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_vector() {
        assert_eq!(
            sign(
                12345,
                "4fd24687296dd9f3",
                "9193cc662a4c0ec135ec71fb57194b38",
                1615186943
            ),
            "43e5cfcca828314675f91b001390566a"
        );
    }

    #[test]
    fn any_changed_input_changes_the_signature() {
        let base = sign(
            12345,
            "4fd24687296dd9f3",
            "9193cc662a4c0ec135ec71fb57194b38",
            1615186943,
        );
        assert_ne!(
            base,
            sign(
                12346,
                "4fd24687296dd9f3",
                "9193cc662a4c0ec135ec71fb57194b38",
                1615186943
            )
        );
        assert_ne!(
            base,
            sign(
                12345,
                "4fd24687296dd9f4",
                "9193cc662a4c0ec135ec71fb57194b38",
                1615186943
            )
        );
        assert_ne!(
            base,
            sign(
                12345,
                "4fd24687296dd9f3",
                "9193cc662a4c0ec135ec71fb57194b39",
                1615186943
            )
        );
        assert_ne!(
            base,
            sign(
                12345,
                "4fd24687296dd9f3",
                "9193cc662a4c0ec135ec71fb57194b38",
                1615186944
            )
        );
    }
}
