//! Streamer tokens: HS256 JWTs that say who the streamer is (`sub`) and pin what they may
//! publish. Nothing in a request can widen what the token pins.
//!
//! Only HS256 is accepted: a header naming `none` or any other algorithm is refused before its
//! signature is looked at, so a token signed with a public key used as an HMAC secret, or not
//! signed at all, never passes.

use crate::config::TokenSettings;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rtc_golive_core::platform_api::ErrorCode;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What a ZEGOCLOUD token pins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZegoPin {
    /// The StreamId the streamer publishes.
    pub stream_id: String,
    /// The CDN URLs the broker forwards the stream to while it is live (they usually embed a
    /// CDN stream key: the token is as secret as they are).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cdn_urls: Vec<String>,
    /// The StreamIds the streamer may play through `/v1/play` (a guest's stream in the scene);
    /// none without this claim.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub play: Vec<String>,
}

impl ZegoPin {
    /// Whether the token lets its streamer play `stream_id`.
    pub fn may_play(&self, stream_id: &str) -> bool {
        self.play.iter().any(|s| s == stream_id)
    }
}

/// What an Alibaba Cloud token pins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliyunPin {
    /// The ARTC channel.
    pub channel: String,
    /// The user id the streamer joins as.
    pub user_id: String,
    /// The name the channel shows.
    pub display_name: String,
}

/// The claims of a streamer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The streamer.
    pub sub: String,
    /// The broker's audience.
    pub aud: String,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// The token's id, for revocation.
    pub jti: String,
    /// A ZEGOCLOUD stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zego: Option<ZegoPin>,
    /// An Alibaba Cloud channel seat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliyun: Option<AliyunPin>,
}

/// What a token pins, exactly one of the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pin<'a> {
    /// A ZEGOCLOUD stream.
    Zego(&'a ZegoPin),
    /// An Alibaba Cloud channel seat.
    Aliyun(&'a AliyunPin),
}

impl Claims {
    /// What the token pins; `None` for a token pinning neither or both.
    pub fn pin(&self) -> Option<Pin<'_>> {
        match (&self.zego, &self.aliyun) {
            (Some(z), None) => Some(Pin::Zego(z)),
            (None, Some(a)) => Some(Pin::Aliyun(a)),
            _ => None,
        }
    }
}

/// The longest a token may live.
pub const MAX_TTL: Duration = Duration::from_secs(366 * 24 * 60 * 60);

/// Signs `claims`' pins for `sub` with a fresh `jti`, valid for `ttl` from now.
pub fn mint(
    settings: &TokenSettings,
    sub: &str,
    pin: (Option<ZegoPin>, Option<AliyunPin>),
    ttl: Duration,
) -> Result<(String, Claims), String> {
    if sub.trim().is_empty() {
        return Err("--sub must not be empty".into());
    }
    if ttl.is_zero() || ttl > MAX_TTL {
        return Err("--ttl must be between 1 s and 366 days".into());
    }
    let iat = unix_now();
    let claims = Claims {
        sub: sub.to_string(),
        aud: settings.audience.clone(),
        exp: iat + ttl.as_secs(),
        iat,
        jti: new_id(),
        zego: pin.0,
        aliyun: pin.1,
    };
    if claims.pin().is_none() {
        return Err("a token pins either a ZEGOCLOUD stream or an Alibaba channel".into());
    }
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&settings.key.0),
    )
    .map_err(|e| format!("cannot sign the token: {e}"))?;
    Ok((token, claims))
}

/// Checks `token`'s algorithm, signature, audience and expiry; the error is the wire code.
pub fn verify(settings: &TokenSettings, token: &str) -> Result<Claims, ErrorCode> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.algorithms = vec![Algorithm::HS256];
    validation.leeway = settings.leeway_seconds;
    validation.set_audience(&[&settings.audience]);
    validation.set_required_spec_claims(&["exp", "aud", "sub", "jti"]);
    validation.validate_nbf = false;
    let data = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(&settings.key.0),
        &validation,
    )
    .map_err(|e| match e.kind() {
        ErrorKind::ExpiredSignature => ErrorCode::TokenExpired,
        ErrorKind::InvalidAudience => ErrorCode::TokenAudience,
        _ => ErrorCode::TokenInvalid,
    })?;
    if data.claims.pin().is_none() || data.claims.jti.is_empty() {
        return Err(ErrorCode::TokenInvalid);
    }
    Ok(data.claims)
}

/// 128 random bits in hex: token ids, session ids, the broker's request ids.
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).expect("the OS random source works");
    hex::encode(bytes)
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TokenKey;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    fn settings() -> TokenSettings {
        TokenSettings {
            key: TokenKey(b"0123456789abcdef0123456789abcdef".to_vec()),
            audience: "obs".into(),
            leeway_seconds: 60,
        }
    }

    fn zego() -> (Option<ZegoPin>, Option<AliyunPin>) {
        (
            Some(ZegoPin {
                stream_id: "s1".into(),
                cdn_urls: vec![],
                play: vec!["guest".into()],
            }),
            None,
        )
    }

    #[test]
    fn a_minted_token_verifies_and_keeps_its_pin() {
        let (token, claims) = mint(&settings(), "alice", zego(), Duration::from_secs(60)).unwrap();
        let back = verify(&settings(), &token).unwrap();
        assert_eq!(back, claims);
        assert_eq!(back.pin(), Some(Pin::Zego(claims.zego.as_ref().unwrap())));
        assert_eq!(back.jti.len(), 32);
        let zego = back.zego.as_ref().unwrap();
        assert!(zego.may_play("guest"));
        assert!(
            !zego.may_play("s1"),
            "publishing a stream is not playing it"
        );
    }

    #[test]
    fn refusals_have_their_codes() {
        let s = settings();
        let (token, _) = mint(&s, "alice", zego(), Duration::from_secs(60)).unwrap();
        let other = TokenSettings {
            audience: "elsewhere".into(),
            ..settings()
        };
        assert_eq!(verify(&other, &token), Err(ErrorCode::TokenAudience));
        let mut tampered = token.clone().into_bytes();
        let i = tampered.len() - 3;
        tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(verify(&s, &tampered), Err(ErrorCode::TokenInvalid));
        assert_eq!(verify(&s, "not.a.token"), Err(ErrorCode::TokenInvalid));

        let payload = token.split('.').nth(1).unwrap();
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            verify(&s, &format!("{none_header}.{payload}.")),
            Err(ErrorCode::TokenInvalid)
        );
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &verify(&s, &token).unwrap(),
            &EncodingKey::from_secret(&s.key.0),
        )
        .unwrap();
        assert_eq!(verify(&s, &hs512), Err(ErrorCode::TokenInvalid));
    }

    #[test]
    fn expiry_allows_the_leeway_and_no_more() {
        let s = settings();
        let sign = |exp: u64| {
            let claims = Claims {
                sub: "a".into(),
                aud: "obs".into(),
                exp,
                iat: exp - 10,
                jti: new_id(),
                zego: zego().0,
                aliyun: None,
            };
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &claims,
                &EncodingKey::from_secret(&s.key.0),
            )
            .unwrap()
        };
        assert!(verify(&s, &sign(unix_now() - 30)).is_ok());
        assert_eq!(
            verify(&s, &sign(unix_now() - 90)),
            Err(ErrorCode::TokenExpired)
        );
    }

    #[test]
    fn a_token_pins_exactly_one_thing() {
        let both = (
            zego().0,
            Some(AliyunPin {
                channel: "c".into(),
                user_id: "u".into(),
                display_name: "n".into(),
            }),
        );
        assert!(mint(&settings(), "a", both, Duration::from_secs(60)).is_err());
        assert!(mint(&settings(), "a", (None, None), Duration::from_secs(60)).is_err());
    }
}
