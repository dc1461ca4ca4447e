//! Streamer tokens: JWTs that say who the streamer is (`sub`) and pin what they may publish.
//! Nothing in a request can widen what the token pins.
//!
//! The broker checks them with its keys ([`TokenSettings::keys`]): HS256 secrets it shares with
//! whoever mints (itself, with one of them marked for signing), and EdDSA (Ed25519) or ES256
//! public keys of a platform's own login service. The header's `kid` picks the key (a token
//! without one is tried against the keys without one), and its `alg` must be the key's: a
//! token signed with HS256 using a public key as the secret, one naming `none`, or any other
//! algorithm never passes, since the algorithm comes from the key, not from the token.
//!
use crate::config::{TokenSettings, MAX_LEEWAY_SECONDS};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
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
    /// The stream must not stay live without its CDN forwards: when the vendor refuses one,
    /// the heartbeats say so and the plugin stops with the vendor's reason (as direct mode's
    /// `cdn_required`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cdn_required: bool,
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

/// The longest a token may live (`exp - iat`): `token` mints no longer one, and the broker
/// refuses a longer one (`token_invalid`), whoever signed it.
pub const MAX_TTL: Duration = Duration::from_secs(366 * 24 * 60 * 60);

/// How long a revocation must be kept: until the token's `exp` is past even with the most
/// leeway a config allows (and a minute more). Without `exp`, as long as a token accepted now
/// may live: [`verify`] refuses a token issued in the future or living longer than
/// [`MAX_TTL`], so one accepted now expires within `MAX_TTL` and the leeway. An `exp` beyond
/// that (a typo, milliseconds) gets no more.
pub fn revocation_seconds(exp: Option<u64>) -> u64 {
    let longest = MAX_TTL.as_secs() + 24 * 60 * 60;
    match exp {
        Some(exp) => exp
            .saturating_sub(unix_now())
            .saturating_add(MAX_LEEWAY_SECONDS + 60)
            .min(longest),
        None => longest,
    }
}

/// A key tokens are checked with: its `kid` (none for the legacy key), the one algorithm a
/// token checked with it must name, and the key. Never printed.
#[derive(Clone)]
pub struct VerifyingKey {
    /// The `kid` a token's header names to be checked with this key.
    pub kid: Option<String>,
    /// HS256, EdDSA (Ed25519) or ES256 (P-256).
    pub alg: Algorithm,
    key: DecodingKey,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// An HS256 secret.
    pub fn hs256(kid: Option<String>, secret: &[u8]) -> Self {
        VerifyingKey {
            kid,
            alg: Algorithm::HS256,
            key: DecodingKey::from_secret(secret),
        }
    }

    /// An Ed25519 public key in PEM (`-----BEGIN PUBLIC KEY-----`, SubjectPublicKeyInfo).
    pub fn ed25519_pem(kid: Option<String>, pem: &[u8]) -> Result<Self, String> {
        let key = DecodingKey::from_ed_pem(pem)
            .map_err(|e| format!("not an Ed25519 public key in PEM: {e}"))?;
        Ok(VerifyingKey {
            kid,
            alg: Algorithm::EdDSA,
            key,
        })
    }

    /// A P-256 public key in PEM (`-----BEGIN PUBLIC KEY-----`, SubjectPublicKeyInfo).
    pub fn es256_pem(kid: Option<String>, pem: &[u8]) -> Result<Self, String> {
        let key = DecodingKey::from_ec_pem(pem)
            .map_err(|e| format!("not an EC (P-256) public key in PEM: {e}"))?;
        // Another curve would be read, and then check no signature at all.
        if !names_p256(pem) {
            return Err("an EC public key, but not on P-256 (ES256 needs P-256)".into());
        }
        Ok(VerifyingKey {
            kid,
            alg: Algorithm::ES256,
            key,
        })
    }

    /// A public key of a JWKS: an Ed25519 `OKP` key (EdDSA) or a P-256 `EC` key (ES256); a
    /// key's `alg`, when given, must be that one. Symmetric (`oct`), RSA and other curves are
    /// refused.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, String> {
        let alg = match &jwk.algorithm {
            AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
                Algorithm::EdDSA
            }
            AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
                Algorithm::ES256
            }
            AlgorithmParameters::OctetKey(_) => {
                return Err("a symmetric (oct) key has no place in a JWKS file: use an HS256 key in [[tokens.keys]]".into())
            }
            _ => return Err("only Ed25519 (OKP) and P-256 (EC) public keys are supported".into()),
        };
        let named = match jwk.common.key_algorithm {
            None => None,
            Some(KeyAlgorithm::EdDSA) => Some(Algorithm::EdDSA),
            Some(KeyAlgorithm::ES256) => Some(Algorithm::ES256),
            Some(other) => return Err(format!("alg {other:?} is not supported")),
        };
        if named.is_some_and(|named| named != alg) {
            return Err("its alg does not match its key type".into());
        }
        if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
            return Err("its use is not sig".into());
        }
        let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("unreadable key: {e}"))?;
        Ok(VerifyingKey {
            kid: jwk.common.key_id.clone(),
            alg,
            key,
        })
    }
}

/// Whether the PEM's DER names the P-256 curve (OID 1.2.840.10045.3.1.7).
fn names_p256(pem: &[u8]) -> bool {
    use base64::Engine;
    const P256: [u8; 10] = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
    let text = String::from_utf8_lossy(pem);
    let body: String = text
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .flat_map(|line| line.trim().chars())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .is_ok_and(|der| der.windows(P256.len()).any(|w| w == P256))
}

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
    let signing = settings.signing.as_ref().ok_or(
        "the config has no key to sign with: mark one HS256 key in [[tokens.keys]] with sign = true",
    )?;
    let mut header = Header::new(Algorithm::HS256);
    header.kid.clone_from(&signing.kid);
    let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&signing.key.0))
        .map_err(|e| format!("cannot sign the token: {e}"))?;
    Ok((token, claims))
}

/// Checks `token`'s key, algorithm, signature, audience and expiry; the error is the wire
/// code.
pub fn verify(settings: &TokenSettings, token: &str) -> Result<Claims, ErrorCode> {
    verify_with(settings, token, true)
}

/// [`verify`] without the expiry: a token that was valid may still end what it started.
pub fn verify_ignoring_expiry(settings: &TokenSettings, token: &str) -> Result<Claims, ErrorCode> {
    verify_with(settings, token, false)
}

fn verify_with(settings: &TokenSettings, token: &str, expiry: bool) -> Result<Claims, ErrorCode> {
    // An unknown algorithm (`none` among them) is refused here.
    let header = jsonwebtoken::decode_header(token).map_err(|_| ErrorCode::TokenInvalid)?;
    let mut outcome = Err(ErrorCode::TokenInvalid);
    // The keys with the token's kid (or with none, for a token without), and the algorithm the
    // token names: the algorithm is each key's own.
    let keys = settings
        .keys
        .iter()
        .filter(|key| key.kid == header.kid && key.alg == header.alg);
    for key in keys {
        let mut validation = Validation::new(key.alg);
        validation.algorithms = vec![key.alg];
        validation.leeway = settings.leeway_seconds;
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "aud", "sub", "jti"]);
        validation.validate_nbf = false;
        validation.validate_exp = expiry;
        match jsonwebtoken::decode::<Claims>(token, &key.key, &validation) {
            Ok(data) => {
                outcome = Ok(data.claims);
                break;
            }
            // Another key without a kid may have signed it.
            Err(e) if *e.kind() == ErrorKind::InvalidSignature => {}
            Err(e) => {
                outcome = Err(match e.kind() {
                    ErrorKind::ExpiredSignature => ErrorCode::TokenExpired,
                    ErrorKind::InvalidAudience => ErrorCode::TokenAudience,
                    _ => ErrorCode::TokenInvalid,
                });
                break;
            }
        }
    }
    let claims = outcome?;
    if claims.pin().is_none() || claims.jti.is_empty() {
        return Err(ErrorCode::TokenInvalid);
    }
    // A token living longer than `token` would mint (a login service's mistake), or issued in
    // the future: its revocation could not be kept long enough (see `revocation_seconds`).
    if claims.exp.saturating_sub(claims.iat) > MAX_TTL.as_secs() {
        log::info!(
            "refused sub={} jti={}: it lives {} days (exp - iat), more than 366",
            claims.sub,
            claims.jti,
            claims.exp.saturating_sub(claims.iat) / 86_400
        );
        return Err(ErrorCode::TokenInvalid);
    }
    if claims.iat > unix_now() + settings.leeway_seconds {
        log::info!(
            "refused sub={} jti={}: issued in the future (iat)",
            claims.sub,
            claims.jti
        );
        return Err(ErrorCode::TokenInvalid);
    }
    Ok(claims)
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
    use crate::config::{SigningKey, TokenKey};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn settings() -> TokenSettings {
        TokenSettings::hs256(KEY, "obs", 60)
    }

    /// Claims valid for an hour.
    fn claims() -> Claims {
        let iat = unix_now();
        Claims {
            sub: "alice".into(),
            aud: "obs".into(),
            exp: iat + 3600,
            iat,
            jti: new_id(),
            zego: zego().0,
            aliyun: None,
        }
    }

    /// `claims` signed with `alg` and `key`, naming `kid`.
    fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Claims) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_string);
        jsonwebtoken::encode(&header, claims, key).unwrap()
    }

    fn hs(secret: &str) -> EncodingKey {
        EncodingKey::from_secret(secret.as_bytes())
    }

    fn zego() -> (Option<ZegoPin>, Option<AliyunPin>) {
        (
            Some(ZegoPin {
                stream_id: "s1".into(),
                cdn_urls: vec![],
                play: vec!["guest".into()],
                cdn_required: false,
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
            &EncodingKey::from_secret(KEY),
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
                &EncodingKey::from_secret(KEY),
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

    /// Keys being rotated: `2026-06` retired, `2026-12` signing, and the legacy key (no kid).
    fn rotated() -> TokenSettings {
        let new = "new-key-0123456789abcdef-0123456789";
        TokenSettings {
            keys: vec![
                VerifyingKey::hs256(None, KEY),
                VerifyingKey::hs256(
                    Some("2026-06".into()),
                    b"old-key-0123456789abcdef-0123456789",
                ),
                VerifyingKey::hs256(Some("2026-12".into()), new.as_bytes()),
            ],
            signing: Some(SigningKey {
                kid: Some("2026-12".into()),
                key: TokenKey(new.as_bytes().to_vec()),
            }),
            audience: "obs".into(),
            leeway_seconds: 60,
        }
    }

    #[test]
    fn the_kid_picks_the_key() {
        let s = rotated();
        let (token, minted) = mint(&s, "alice", zego(), Duration::from_secs(60)).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some("2026-12"));
        assert_eq!(verify(&s, &token), Ok(minted));

        let c = claims();
        let old = hs("old-key-0123456789abcdef-0123456789");
        let legacy = EncodingKey::from_secret(KEY);
        // A retired key still checks its tokens; a token without kid is the legacy key's (a
        // token the broker signed before the rotation).
        assert_eq!(
            verify(&s, &sign(Algorithm::HS256, Some("2026-06"), &old, &c)),
            Ok(c.clone())
        );
        assert_eq!(
            verify(&s, &sign(Algorithm::HS256, None, &legacy, &c)),
            Ok(c.clone())
        );
        assert_eq!(
            verify(&settings(), &sign(Algorithm::HS256, None, &legacy, &c)),
            Ok(c.clone())
        );
        // A kid is never tried against another key.
        for (kid, key) in [
            (Some("2026-12"), &old),
            (Some("2026-06"), &legacy),
            (None, &old),
            (Some("unknown"), &old),
            (Some(""), &legacy),
        ] {
            assert_eq!(
                verify(&s, &sign(Algorithm::HS256, kid, key, &c)),
                Err(ErrorCode::TokenInvalid),
                "{kid:?}"
            );
        }
        // Expiry and audience are told as such, whichever key checked the token.
        let expired = Claims {
            exp: unix_now() - 120,
            iat: unix_now() - 200,
            ..c.clone()
        };
        assert_eq!(
            verify(&s, &sign(Algorithm::HS256, Some("2026-06"), &old, &expired)),
            Err(ErrorCode::TokenExpired)
        );
        // Without a signing key (a platform minting every token itself), `token` refuses.
        let verify_only = TokenSettings {
            signing: None,
            ..rotated()
        };
        assert!(mint(&verify_only, "alice", zego(), Duration::from_secs(60))
            .unwrap_err()
            .contains("sign = true"));
    }

    /// A fresh Ed25519 and a fresh P-256 key pair: (private PKCS#8 PEM, public PEM, raw public
    /// key).
    fn key_pair(alg: &'static rcgen::SignatureAlgorithm) -> (String, String, Vec<u8>) {
        let pair = rcgen::KeyPair::generate_for(alg).unwrap();
        (
            pair.serialize_pem(),
            pair.public_key_pem(),
            pair.public_key_raw().to_vec(),
        )
    }

    /// A platform's login service with an Ed25519 key (`login-ed`) and a P-256 key
    /// (`login-ec`), beside the broker's own legacy HS256 key.
    struct Login {
        settings: TokenSettings,
        ed: EncodingKey,
        ec: EncodingKey,
        ed_public_pem: String,
        ec_public_pem: String,
    }

    fn login() -> Login {
        let (ed_private, ed_public_pem, _) = key_pair(&rcgen::PKCS_ED25519);
        let (ec_private, ec_public_pem, _) = key_pair(&rcgen::PKCS_ECDSA_P256_SHA256);
        let mut settings = settings();
        settings.keys.push(
            VerifyingKey::ed25519_pem(Some("login-ed".into()), ed_public_pem.as_bytes()).unwrap(),
        );
        settings.keys.push(
            VerifyingKey::es256_pem(Some("login-ec".into()), ec_public_pem.as_bytes()).unwrap(),
        );
        Login {
            settings,
            ed: EncodingKey::from_ed_pem(ed_private.as_bytes()).unwrap(),
            ec: EncodingKey::from_ec_pem(ec_private.as_bytes()).unwrap(),
            ed_public_pem,
            ec_public_pem,
        }
    }

    #[test]
    fn public_keys_check_a_login_service_s_tokens() {
        let l = login();
        let c = claims();
        let s = &l.settings;
        assert_eq!(
            verify(s, &sign(Algorithm::EdDSA, Some("login-ed"), &l.ed, &c)),
            Ok(c.clone())
        );
        assert_eq!(
            verify(s, &sign(Algorithm::ES256, Some("login-ec"), &l.ec, &c)),
            Ok(c.clone())
        );
        // The broker's own tokens still pass beside them.
        let (token, _) = mint(s, "bob", zego(), Duration::from_secs(60)).unwrap();
        assert!(verify(s, &token).is_ok());
        // Another key pair's signature, the wrong kid, and no kid are refused.
        let (other, _, _) = key_pair(&rcgen::PKCS_ED25519);
        let other = EncodingKey::from_ed_pem(other.as_bytes()).unwrap();
        for token in [
            sign(Algorithm::EdDSA, Some("login-ed"), &other, &c),
            sign(Algorithm::EdDSA, Some("login-ec"), &l.ed, &c),
            sign(Algorithm::ES256, Some("login-ed"), &l.ec, &c),
            sign(Algorithm::EdDSA, None, &l.ed, &c),
        ] {
            assert_eq!(verify(s, &token), Err(ErrorCode::TokenInvalid));
        }
        let expired = Claims {
            exp: unix_now() - 120,
            iat: unix_now() - 200,
            ..c
        };
        assert_eq!(
            verify(
                s,
                &sign(Algorithm::EdDSA, Some("login-ed"), &l.ed, &expired)
            ),
            Err(ErrorCode::TokenExpired)
        );
    }

    #[test]
    fn algorithm_confusion_never_passes() {
        let l = login();
        let c = claims();
        let s = &l.settings;
        // HS256 "signed" with a public key as the secret: the public key's kid, or none.
        for public in [&l.ed_public_pem, &l.ec_public_pem] {
            let secret = EncodingKey::from_secret(public.as_bytes());
            for kid in [Some("login-ed"), Some("login-ec"), None] {
                assert_eq!(
                    verify(s, &sign(Algorithm::HS256, kid, &secret, &c)),
                    Err(ErrorCode::TokenInvalid),
                    "HS256 with a public key, kid {kid:?}"
                );
            }
        }
        // alg none, with a kid, and other algorithms naming the public keys.
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap());
        for header in [
            r#"{"alg":"none","kid":"login-ed"}"#,
            r#"{"alg":"none"}"#,
            r#"{"alg":"HS512","kid":"login-ec"}"#,
            r#"{"alg":"ES384","kid":"login-ec"}"#,
            r#"{"alg":"RS256","kid":"login-ed"}"#,
        ] {
            let header = URL_SAFE_NO_PAD.encode(header);
            assert_eq!(
                verify(s, &format!("{header}.{payload}.")),
                Err(ErrorCode::TokenInvalid)
            );
            assert_eq!(
                verify(s, &format!("{header}.{payload}.c2lnbmF0dXJl")),
                Err(ErrorCode::TokenInvalid)
            );
        }
        // A key of one type is not read as the other.
        assert!(VerifyingKey::ed25519_pem(None, l.ec_public_pem.as_bytes()).is_err());
        assert!(VerifyingKey::es256_pem(None, l.ed_public_pem.as_bytes()).is_err());
        assert!(VerifyingKey::ed25519_pem(None, b"0123456789abcdef0123456789abcdef").is_err());
        let p384 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let e = VerifyingKey::es256_pem(None, p384.public_key_pem().as_bytes()).unwrap_err();
        assert!(e.contains("not on P-256"), "{e}");
    }

    #[test]
    fn a_jwks_holds_public_keys_only() {
        let (ed_private, _, ed_raw) = key_pair(&rcgen::PKCS_ED25519);
        let (ec_private, _, ec_raw) = key_pair(&rcgen::PKCS_ECDSA_P256_SHA256);
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        let jwk = |v: serde_json::Value| serde_json::from_value::<Jwk>(v).unwrap();
        let ed = jwk(serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "x": b64(&ed_raw), "kid": "ed", "alg": "EdDSA"
        }));
        let ec = jwk(serde_json::json!({
            "kty": "EC", "crv": "P-256", "x": b64(&ec_raw[1..33]), "y": b64(&ec_raw[33..]),
            "kid": "ec"
        }));
        let mut s = settings();
        s.keys.push(VerifyingKey::from_jwk(&ed).unwrap());
        s.keys.push(VerifyingKey::from_jwk(&ec).unwrap());
        let c = claims();
        let ed_key = EncodingKey::from_ed_pem(ed_private.as_bytes()).unwrap();
        let ec_key = EncodingKey::from_ec_pem(ec_private.as_bytes()).unwrap();
        assert_eq!(
            verify(&s, &sign(Algorithm::EdDSA, Some("ed"), &ed_key, &c)),
            Ok(c.clone())
        );
        assert_eq!(
            verify(&s, &sign(Algorithm::ES256, Some("ec"), &ec_key, &c)),
            Ok(c.clone())
        );
        let confused = EncodingKey::from_secret(&ed_raw);
        assert_eq!(
            verify(&s, &sign(Algorithm::HS256, Some("ed"), &confused, &c)),
            Err(ErrorCode::TokenInvalid)
        );
        // A symmetric key, an alg other than the key's, RSA.
        for refused in [
            serde_json::json!({"kty": "oct", "k": b64(KEY), "kid": "hs", "alg": "HS256"}),
            serde_json::json!({
                "kty": "OKP", "crv": "Ed25519", "x": b64(&ed_raw), "kid": "ed", "alg": "ES256"
            }),
            serde_json::json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "rsa"}),
            serde_json::json!({
                "kty": "OKP", "crv": "Ed25519", "x": b64(&ed_raw), "kid": "ed", "use": "enc"
            }),
        ] {
            assert!(
                VerifyingKey::from_jwk(&jwk(refused.clone())).is_err(),
                "{refused}"
            );
        }
    }

    #[test]
    fn a_token_lives_366_days_at_most_and_from_now() {
        let s = settings();
        let key = EncodingKey::from_secret(KEY);
        let at = |iat: u64, exp: u64| Claims {
            iat,
            exp,
            ..claims()
        };
        let now = unix_now();
        let max = MAX_TTL.as_secs();
        let longest = at(now - 10, now - 10 + max);
        assert_eq!(
            verify(&s, &sign(Algorithm::HS256, None, &key, &longest)),
            Ok(longest.clone())
        );
        for refused in [
            at(now - 10, now - 9 + max),
            at(0, now + 3600),
            at(now + 3600, now + 7200),
        ] {
            assert_eq!(
                verify(&s, &sign(Algorithm::HS256, None, &key, &refused)),
                Err(ErrorCode::TokenInvalid),
                "{refused:?}"
            );
        }
        // Within the leeway, a clock a little ahead is fine.
        let ahead = at(now + 30, now + 3600);
        assert!(verify(&s, &sign(Algorithm::HS256, None, &key, &ahead)).is_ok());
        assert!(mint(&s, "a", zego(), MAX_TTL + Duration::from_secs(1)).is_err());
    }

    #[test]
    fn a_revocation_outlives_its_token() {
        let now = unix_now();
        let kept = revocation_seconds(Some(now + 3600));
        assert!((3600 + 120..=3600 + 121).contains(&kept), "{kept}");
        assert_eq!(revocation_seconds(Some(now - 3600)), 120);
        let longest = MAX_TTL.as_secs() + 86_400;
        assert_eq!(revocation_seconds(None), longest);
        assert_eq!(revocation_seconds(Some(now * 1000)), longest);
        // Any token accepted now expires before a revocation without exp ends.
        assert!(MAX_TTL.as_secs() + MAX_LEEWAY_SECONDS * 2 < longest);
    }
}
