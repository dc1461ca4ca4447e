//! RFC 3986 percent-encoding as both Alibaba Cloud signatures (RPC HMAC-SHA1 and ACS3) define it.
//!
//! Only `A-Z a-z 0-9 - _ . ~` stay as they are; every other byte of the UTF-8 text becomes `%XX`
//! with upper-case hex. This is stricter than form encoding on purpose: a space must be `%20`
//! (never `+`) and `*` must be `%2A`, or the server computes a different string to sign and
//! answers `SignatureDoesNotMatch`.

use std::collections::BTreeMap;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986's unreserved characters is encoded.
const RFC3986_RESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes `text` (as UTF-8) so that only `A-Z a-z 0-9 - _ . ~` remain unencoded.
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, RFC3986_RESERVED).to_string()
}

/// The canonical query string both signatures sign: `k=v` pairs sorted by name (byte order),
/// names and values encoded with [`encode`], joined with `&`.
///
/// The same string is what gets sent after `?`, so the bytes on the wire are the bytes signed.
pub fn canonical_query(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_characters_stay() {
        let unreserved = "ABCXYZabcxyz0189-_.~";
        assert_eq!(encode(unreserved), unreserved);
    }

    #[test]
    fn reserved_characters_are_encoded_the_way_alibaba_signs_them() {
        assert_eq!(encode(" "), "%20");
        assert_eq!(encode("*"), "%2A");
        assert_eq!(encode("+"), "%2B");
        assert_eq!(encode("/"), "%2F");
        assert_eq!(encode("="), "%3D");
        assert_eq!(encode("&"), "%26");
        assert_eq!(encode("%"), "%25");
        assert_eq!(encode(":"), "%3A");
        assert_eq!(encode("a b*c~d+e/f"), "a%20b%2Ac~d%2Be%2Ff");
    }

    #[test]
    fn non_ascii_display_names_are_encoded_as_utf8_bytes() {
        // Expected values from Python's urllib.parse.quote(s, safe="-_.~").
        assert_eq!(encode("主播小明"), "%E4%B8%BB%E6%92%AD%E5%B0%8F%E6%98%8E");
        assert_eq!(encode("🎥"), "%F0%9F%8E%A5");
        assert_eq!(
            encode("Zoë 主播 🎥"),
            "Zo%C3%AB%20%E4%B8%BB%E6%92%AD%20%F0%9F%8E%A5"
        );
    }

    #[test]
    fn canonical_query_sorts_by_name_and_encodes_both_sides() {
        let params: BTreeMap<String, String> = [
            ("b", "x y"),
            ("a", "1+1=2"),
            ("DisplayName", "主播小明"),
            ("Empty", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(
            canonical_query(&params),
            "DisplayName=%E4%B8%BB%E6%92%AD%E5%B0%8F%E6%98%8E&Empty=&a=1%2B1%3D2&b=x%20y"
        );
    }
}
