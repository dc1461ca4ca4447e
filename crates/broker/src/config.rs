//! The broker's TOML config: read once at start, validated, and turned into typed values.
//!
//! The vendor sections are checked with the core's own validation (the same rules as the
//! plugin's settings), with a placeholder for what each token pins, so a bad AppId or endpoint
//! is refused at start and not at the first go-live.

use crate::token::VerifyingKey;
use axum::http::HeaderName;
use rtc_golive_core::config::aliyun::AliyunConfig;
use rtc_golive_core::config::zego::ZegoConfig;
use rtc_golive_core::platform_api::LEASE_SECONDS;
use serde::Deserialize;
use serde_json::json;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The documented vendor limits (../shared/reference/cloud-apis.md): ZEGOCLOUD's
/// RTMPDispatchV2 per AppId, its CDN rule calls per AppId, Alibaba Cloud per account.
const ZEGO_DISPATCH_PER_SECOND: u32 = 40;
const ZEGO_CDN_PER_SECOND: u32 = 10;
const ALIYUN_PER_SECOND: u32 = 100;
/// Go-lives a streamer (`sub`) may start per minute, and how many of them at once.
const SUB_GOLIVES_PER_MINUTE: u32 = 12;
const SUB_BURST: u32 = 6;
/// Requests that may wait for one vendor limit at once; more are refused with 429.
const QUEUE_LIMIT: u32 = 1000;
/// How much wider than `1 s / rate` the broker spaces vendor requests, in percent. The vendors
/// count requests as they arrive, over a sliding second: spaced exactly, the 41st dispatch of
/// a crowd arrives a second after the first give or take the network's jitter, and the vendor
/// refuses it when it is early. 8 % leaves 80 ms of jitter per second for 1.08 times the time
/// (4 % let one request in 500 through early in one of four storms: docs/benchmarks-broker.md).
const MARGIN_PERCENT: u32 = 8;
/// The clock leeway tokens get, and the most the config may allow.
pub const MAX_LEEWAY_SECONDS: u64 = 60;

/// Why the config cannot be used: the file, the key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The file as written (every section and key the broker reads).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: String,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    redis_url: Option<String>,
    allow_volatile_redis: Option<bool>,
    state_path: Option<PathBuf>,
    admin_key: Option<String>,
    admin_key_file: Option<PathBuf>,
    admin_key_env: Option<String>,
    client_ip_header: Option<String>,
    tokens: RawTokens,
    zego: Option<RawZego>,
    aliyun: Option<RawAliyun>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    sessions: RawSessions,
    admin_listen: Option<String>,
    #[serde(default)]
    http: crate::connections::RawHttp,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTokens {
    hs256_key: Option<String>,
    hs256_key_file: Option<PathBuf>,
    hs256_key_env: Option<String>,
    audience: String,
    leeway_seconds: Option<u64>,
    #[serde(default)]
    keys: Vec<RawKey>,
    jwks_file: Option<PathBuf>,
}

/// One of `[[tokens.keys]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    kid: Option<String>,
    #[serde(default)]
    sign: bool,
    hs256_key: Option<String>,
    hs256_key_file: Option<PathBuf>,
    hs256_key_env: Option<String>,
    ed25519_public_key_file: Option<PathBuf>,
    es256_public_key_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZego {
    app_id: u32,
    server_secret: Option<String>,
    server_secret_file: Option<PathBuf>,
    server_secret_env: Option<String>,
    endpoint: Option<String>,
    #[serde(default)]
    is_test: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAliyun {
    access_key_id: String,
    access_key_secret: Option<String>,
    access_key_secret_file: Option<PathBuf>,
    access_key_secret_env: Option<String>,
    endpoint: Option<String>,
    app_id: String,
    signature_version: Option<String>,
    expire_time: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    zego_dispatch_per_second: Option<u32>,
    zego_cdn_per_second: Option<u32>,
    aliyun_per_second: Option<u32>,
    sub_golives_per_minute: Option<u32>,
    sub_burst: Option<u32>,
    queue_limit: Option<u32>,
    margin_percent: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSessions {
    lease_seconds: Option<u64>,
    sweep_seconds: Option<u64>,
}

/// The validated config.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// HTTPS certificate chain and key (PEM), when serving HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// The shared state of every instance (limiter, revocations, sessions), when set.
    pub redis_url: Option<String>,
    /// Start even when Redis keeps nothing on disk (no AOF, no RDB snapshots): a Redis restart
    /// then forgets every session, and their CDN forwards stay at the vendor.
    pub allow_volatile_redis: bool,
    /// The broker's own state file (SQLite): sessions when there is no Redis or while it is
    /// away, and revocations. Default `rtc-golive-broker.db` beside the config file.
    pub state_path: PathBuf,
    /// The key `POST /v1/admin/revoke` requires (`Authorization: Bearer`); no admin API without.
    pub admin_key: Option<TokenKey>,
    /// The header a reverse proxy in front of the broker puts the streamer's address in
    /// (`X-Forwarded-For`, `X-Real-IP`); without it the connection's peer is the streamer.
    pub client_ip_header: Option<HeaderName>,
    /// How tokens are signed and checked.
    pub tokens: TokenSettings,
    /// The ZEGOCLOUD app, when the broker serves ZEGOCLOUD tokens.
    pub zego: Option<ZegoAccount>,
    /// The Alibaba Cloud account, when the broker serves Alibaba tokens.
    pub aliyun: Option<AliyunAccount>,
    /// The rates.
    pub limits: Limits,
    /// How long a session lives after its last heartbeat, and how often leases are swept.
    pub lease: Duration,
    /// How often each instance looks for lapsed leases.
    pub sweep: Duration,
    /// A second listener for `/metrics`, `/healthz` and the admin API, which then leave the
    /// public one.
    pub admin_listen: Option<SocketAddr>,
    /// Connection timeouts and the connection cap (`[http]`).
    pub http: crate::connections::HttpSettings,
}

/// A secret key; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenKey(pub Vec<u8>);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(***)")
    }
}

/// How tokens are signed and checked.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// Every key a token may be checked with (the signing key among them).
    pub keys: Vec<VerifyingKey>,
    /// The HS256 key `token` signs with, when there is one.
    pub signing: Option<SigningKey>,
    /// The `aud` every token must carry.
    pub audience: String,
    /// Clock leeway for `exp` (at most 60 s).
    pub leeway_seconds: u64,
}

/// The HS256 key new tokens are signed with, and the `kid` their header names.
#[derive(Debug, Clone)]
pub struct SigningKey {
    /// The key's id; none for the legacy `hs256_key`.
    pub kid: Option<String>,
    /// The secret.
    pub key: TokenKey,
}

impl TokenSettings {
    /// One HS256 key without a kid, signing and checking (the config's `hs256_key` alone).
    pub fn hs256(key: &[u8], audience: &str, leeway_seconds: u64) -> Self {
        TokenSettings {
            keys: vec![VerifyingKey::hs256(None, key)],
            signing: Some(SigningKey {
                kid: None,
                key: TokenKey(key.to_vec()),
            }),
            audience: audience.to_string(),
            leeway_seconds,
        }
    }
}

/// The ZEGOCLOUD app's credentials, as a core config whose stream is filled per token.
#[derive(Debug, Clone)]
pub struct ZegoAccount {
    /// The AppId.
    pub app_id: u32,
    raw: RawZegoValues,
}

#[derive(Clone)]
struct RawZegoValues {
    server_secret: String,
    endpoint: Option<String>,
    is_test: bool,
}

impl std::fmt::Debug for RawZegoValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZegoCredentials")
            .field("endpoint", &self.endpoint)
            .field("is_test", &self.is_test)
            .finish_non_exhaustive()
    }
}

impl ZegoAccount {
    /// The core config for publishing `stream_id` with forwards to `cdn_urls`, validated by
    /// the core exactly as the plugin's settings are.
    pub fn config(
        &self,
        stream_id: &str,
        cdn_urls: &[String],
    ) -> Result<ZegoConfig, rtc_golive_core::config::ConfigError> {
        let mut settings = json!({
            "app_id": self.app_id,
            "server_secret": self.raw.server_secret,
            "is_test": self.raw.is_test,
            "stream_id": stream_id,
            "cdn_urls": cdn_urls,
        });
        if let Some(endpoint) = &self.raw.endpoint {
            settings["endpoint"] = json!(endpoint);
        }
        ZegoConfig::from_settings(&settings)
    }
}

/// The Alibaba Cloud account, as a core config whose room is filled per token.
#[derive(Clone)]
pub struct AliyunAccount {
    access_key_id: String,
    access_key_secret: String,
    endpoint: Option<String>,
    app_id: String,
    signature_version: String,
    expire_time: u32,
}

impl std::fmt::Debug for AliyunAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AliyunAccount")
            .field(
                "access_key_id",
                &rtc_golive_core::config::aliyun::mask(&self.access_key_id),
            )
            .field("endpoint", &self.endpoint)
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl AliyunAccount {
    /// The account's limiter key: Alibaba limits per account (its AccessKey ID).
    pub fn account(&self) -> &str {
        &self.access_key_id
    }

    /// The core config for joining `channel` as `user_id` / `display_name`.
    pub fn config(
        &self,
        channel: &str,
        user_id: &str,
        display_name: &str,
    ) -> Result<AliyunConfig, rtc_golive_core::config::ConfigError> {
        let mut settings = json!({
            "access_key_id": self.access_key_id,
            "access_key_secret": self.access_key_secret,
            "app_id": self.app_id,
            "signature_version": self.signature_version,
            "expire_time": self.expire_time,
            "channel_id": channel,
            "user_id": user_id,
            "display_name": display_name,
        });
        if let Some(endpoint) = &self.endpoint {
            settings["endpoint"] = json!(endpoint);
        }
        AliyunConfig::from_settings(&settings)
    }
}

/// The rates the broker keeps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// RTMPDispatchV2 calls per second, for the whole platform.
    pub zego_dispatch_per_second: u32,
    /// CDN rule calls (create and delete) per second.
    pub zego_cdn_per_second: u32,
    /// Alibaba Cloud calls per second.
    pub aliyun_per_second: u32,
    /// Go-lives per streamer (`sub`) per minute.
    pub sub_golives_per_minute: u32,
    /// Go-lives a streamer may start in a burst.
    pub sub_burst: u32,
    /// Requests that may wait for one vendor limit at once.
    pub queue_limit: u32,
    /// How much wider than `1 s / rate` vendor requests are spaced, in percent.
    pub margin_percent: u32,
}

impl BrokerConfig {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text, path.parent().unwrap_or(Path::new(".")))
            .map_err(|e| ConfigError(format!("{}: {e}", path.display())))
    }

    /// Validates the text of a config file; relative paths in it are taken from `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError(e.to_string()))?;
        let listen = raw.listen.parse::<SocketAddr>().map_err(|_| {
            ConfigError(format!(
                "listen: {:?} is not an address:port such as 127.0.0.1:8443",
                raw.listen
            ))
        })?;
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let tls = match (raw.tls_cert, raw.tls_key) {
            (Some(cert), Some(key)) => Some((resolve(cert), resolve(key))),
            (None, None) => None,
            _ => return Err(err("tls_cert and tls_key go together: set both or neither")),
        };
        if let Some(url) = &raw.redis_url {
            redis::Client::open(url.as_str())
                .map_err(|_| err("redis_url: not a redis:// or rediss:// URL"))?;
        }
        let admin_key = Secret {
            section: String::new(),
            key: "admin_key",
            inline: raw.admin_key,
            file: raw.admin_key_file,
            env: raw.admin_key_env,
        }
        .read(&resolve)?;
        let admin_key = match admin_key {
            Some(k) if k.len() < 16 => return Err(err("admin_key: use at least 16 characters")),
            k => k.map(|k| TokenKey(k.into_bytes())),
        };
        let client_ip_header = raw
            .client_ip_header
            .map(|name| {
                HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                    ConfigError(format!(
                        "client_ip_header: {name:?} is not an HTTP header name such as X-Forwarded-For"
                    ))
                })
            })
            .transpose()?;
        let tokens = tokens(raw.tokens, &resolve)?;
        let zego = raw
            .zego
            .map(|raw| zego_account(raw, &resolve))
            .transpose()?;
        let aliyun = raw
            .aliyun
            .map(|raw| aliyun_account(raw, &resolve))
            .transpose()?;
        if zego.is_none() && aliyun.is_none() {
            return Err(err("configure [zego] or [aliyun] (or both)"));
        }
        let limits = limits(&raw.limits)?;
        let lease = raw.sessions.lease_seconds.unwrap_or(LEASE_SECONDS);
        let sweep = raw.sessions.sweep_seconds.unwrap_or(5);
        if lease == 0 || sweep == 0 || sweep > lease {
            return Err(err(
                "[sessions]: lease_seconds and sweep_seconds must be positive, the sweep no longer than the lease",
            ));
        }
        let admin_listen = raw
            .admin_listen
            .map(|text| {
                text.parse::<SocketAddr>().map_err(|_| {
                    ConfigError(format!(
                        "admin_listen: {text:?} is not an address:port such as 127.0.0.1:9443"
                    ))
                })
            })
            .transpose()?;
        if admin_listen == Some(listen) {
            return Err(err("admin_listen: must differ from listen"));
        }
        let http = crate::connections::HttpSettings::from_raw(&raw.http, &limits)?;
        Ok(BrokerConfig {
            listen,
            tls,
            redis_url: raw.redis_url,
            allow_volatile_redis: raw.allow_volatile_redis.unwrap_or(false),
            state_path: resolve(
                raw.state_path
                    .unwrap_or_else(|| PathBuf::from("rtc-golive-broker.db")),
            ),
            admin_key,
            client_ip_header,
            tokens,
            zego,
            aliyun,
            limits,
            lease: Duration::from_secs(lease),
            sweep: Duration::from_secs(sweep),
            admin_listen,
            http,
        })
    }
}

fn err(text: &str) -> ConfigError {
    ConfigError(text.to_string())
}

/// A secret written inline (`<key>`), in a file (`<key>_file`, a path; trailing line breaks
/// trimmed; refused when every user may read it) or in an environment variable (`<key>_env`,
/// its name): at most one of the three.
struct Secret {
    /// `"[zego] "`, or empty for a top-level key.
    section: String,
    key: &'static str,
    inline: Option<String>,
    file: Option<PathBuf>,
    env: Option<String>,
}

impl Secret {
    /// The value, `None` when none of the three is set.
    fn read(self, resolve: &dyn Fn(PathBuf) -> PathBuf) -> Result<Option<String>, ConfigError> {
        let Secret {
            section,
            key,
            inline,
            file,
            env,
        } = self;
        let value = match (inline, file, env) {
            (None, None, None) => return Ok(None),
            (Some(value), None, None) => value,
            (None, Some(file), None) => read_secret_file(&resolve(file))
                .map_err(|e| ConfigError(format!("{section}{key}_file: {e}")))?,
            (None, None, Some(name)) => match std::env::var(&name) {
                Ok(value) => trim_line_breaks(value),
                Err(std::env::VarError::NotPresent) => {
                    return Err(ConfigError(format!(
                        "{section}{key}_env: the environment variable {name} is not set"
                    )))
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(ConfigError(format!(
                        "{section}{key}_env: the environment variable {name} is not UTF-8"
                    )))
                }
            },
            _ => {
                return Err(ConfigError(format!(
                    "{section}{key}: set only one of {key}, {key}_file and {key}_env"
                )))
            }
        };
        if value.is_empty() {
            return Err(ConfigError(format!("{section}{key}: the secret is empty")));
        }
        Ok(Some(value))
    }
}

/// `value` without its trailing line breaks (a file or variable written with `echo`).
fn trim_line_breaks(mut value: String) -> String {
    let kept = value.trim_end_matches(['\r', '\n']).len();
    value.truncate(kept);
    value
}

/// A secret file's text. On Unix, a file every user may read is refused: the secret would not
/// be one (other users of the machine, a backup, a container's other processes...).
fn read_secret_file(path: &Path) -> Result<String, String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let metadata =
            std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mode = metadata.permissions().mode();
        if mode & 0o004 != 0 {
            return Err(format!(
                "{} is readable by every user (mode {:o}): make it readable by the broker only, \
                 e.g. chmod o-rwx {}",
                path.display(),
                mode & 0o7777,
                path.display()
            ));
        }
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(trim_line_breaks(text))
}

fn tokens(
    raw: RawTokens,
    resolve: &dyn Fn(PathBuf) -> PathBuf,
) -> Result<TokenSettings, ConfigError> {
    let from_file = raw.hs256_key_file.is_some();
    let legacy = Secret {
        section: "[tokens] ".into(),
        key: "hs256_key",
        inline: raw.hs256_key,
        file: raw.hs256_key_file,
        env: raw.hs256_key_env,
    }
    .read(resolve)?
    .map(|key| hs256_bytes(key, from_file, "[tokens]"))
    .transpose()?;
    let mut keys = Vec::new();
    let mut signing = None;
    if let Some(key) = &legacy {
        keys.push(VerifyingKey::hs256(None, key));
    }
    for (i, raw_key) in raw.keys.into_iter().enumerate() {
        let label = match &raw_key.kid {
            Some(kid) => format!("[[tokens.keys]] kid {kid:?}"),
            None => format!("[[tokens.keys]] #{}", i + 1),
        };
        if raw_key
            .kid
            .as_deref()
            .is_some_and(|kid| kid.trim().is_empty())
        {
            return Err(ConfigError(format!("{label}: kid must not be empty")));
        }
        let from_file = raw_key.hs256_key_file.is_some();
        let secret = Secret {
            section: format!("{label} "),
            key: "hs256_key",
            inline: raw_key.hs256_key,
            file: raw_key.hs256_key_file,
            env: raw_key.hs256_key_env,
        }
        .read(resolve)?;
        let public = |file: PathBuf| {
            let file = resolve(file);
            std::fs::read(&file)
                .map_err(|e| ConfigError(format!("{label}: cannot read {}: {e}", file.display())))
        };
        let kid = raw_key.kid;
        let key = match (
            secret,
            raw_key.ed25519_public_key_file,
            raw_key.es256_public_key_file,
        ) {
            (Some(secret), None, None) => {
                let secret = hs256_bytes(secret, from_file, &label)?;
                if raw_key.sign {
                    if signing.is_some() {
                        return Err(ConfigError(format!(
                            "{label}: only one key may have sign = true"
                        )));
                    }
                    signing = Some(SigningKey {
                        kid: kid.clone(),
                        key: TokenKey(secret.clone()),
                    });
                }
                VerifyingKey::hs256(kid, &secret)
            }
            (None, Some(file), None) => VerifyingKey::ed25519_pem(kid, &public(file)?)
                .map_err(|e| ConfigError(format!("{label} ed25519_public_key_file: {e}")))?,
            (None, None, Some(file)) => VerifyingKey::es256_pem(kid, &public(file)?)
                .map_err(|e| ConfigError(format!("{label} es256_public_key_file: {e}")))?,
            _ => {
                return Err(ConfigError(format!(
                    "{label}: set one of hs256_key (or hs256_key_file, hs256_key_env), \
                     ed25519_public_key_file and es256_public_key_file"
                )))
            }
        };
        if raw_key.sign && key.alg != jsonwebtoken::Algorithm::HS256 {
            return Err(ConfigError(format!(
                "{label}: sign = true needs an HS256 key (the broker has only the public key)"
            )));
        }
        keys.push(key);
    }
    if let Some(file) = raw.jwks_file {
        let file = resolve(file);
        let text = std::fs::read_to_string(&file).map_err(|e| {
            ConfigError(format!(
                "[tokens] jwks_file: cannot read {}: {e}",
                file.display()
            ))
        })?;
        let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&text).map_err(|e| {
            ConfigError(format!(
                "[tokens] jwks_file: {} is not a JWKS: {e}",
                file.display()
            ))
        })?;
        for (i, jwk) in set.keys.iter().enumerate() {
            let key = VerifyingKey::from_jwk(jwk).map_err(|e| {
                ConfigError(format!(
                    "[tokens] jwks_file: key #{} (kid {:?}): {e}",
                    i + 1,
                    jwk.common.key_id.as_deref().unwrap_or("none")
                ))
            })?;
            keys.push(key);
        }
    }
    if keys.is_empty() {
        return Err(err(
            "[tokens]: set hs256_key (or hs256_key_file, hs256_key_env), [[tokens.keys]] or jwks_file",
        ));
    }
    let mut kids: Vec<&str> = keys.iter().filter_map(|k| k.kid.as_deref()).collect();
    kids.sort_unstable();
    if let Some(pair) = kids.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(ConfigError(format!(
            "[tokens]: two keys have kid {:?}: a kid names one key",
            pair[0]
        )));
    }
    // Without a key marked for signing, the legacy key signs, as it always did.
    if signing.is_none() {
        signing = legacy.map(|key| SigningKey {
            kid: None,
            key: TokenKey(key),
        });
    }
    if raw.audience.trim().is_empty() {
        return Err(err("[tokens] audience: must not be empty"));
    }
    let leeway_seconds = raw.leeway_seconds.unwrap_or(MAX_LEEWAY_SECONDS);
    if leeway_seconds > MAX_LEEWAY_SECONDS {
        return Err(err("[tokens] leeway_seconds: at most 60"));
    }
    Ok(TokenSettings {
        keys,
        signing,
        audience: raw.audience,
        leeway_seconds,
    })
}

/// An HS256 key's bytes, at least 32 (RFC 7518 §3.2: as many bits as the hash). A key file's
/// surrounding whitespace was always trimmed.
fn hs256_bytes(key: String, from_file: bool, label: &str) -> Result<Vec<u8>, ConfigError> {
    let key = if from_file {
        key.trim().as_bytes().to_vec()
    } else {
        key.into_bytes()
    };
    if key.len() < 32 {
        return Err(ConfigError(format!(
            "{label}: the HS256 key must be at least 32 bytes"
        )));
    }
    Ok(key)
}

/// A stream id that passes the core's checks, to validate the credentials without a token.
const PLACEHOLDER: &str = "config-check";

fn zego_account(
    raw: RawZego,
    resolve: &dyn Fn(PathBuf) -> PathBuf,
) -> Result<ZegoAccount, ConfigError> {
    let server_secret = Secret {
        section: "[zego] ".into(),
        key: "server_secret",
        inline: raw.server_secret,
        file: raw.server_secret_file,
        env: raw.server_secret_env,
    }
    .read(resolve)?
    .ok_or_else(|| {
        err("[zego]: set one of server_secret, server_secret_file and server_secret_env")
    })?;
    let account = ZegoAccount {
        app_id: raw.app_id,
        raw: RawZegoValues {
            server_secret,
            endpoint: raw.endpoint,
            is_test: raw.is_test,
        },
    };
    account
        .config(PLACEHOLDER, &[])
        .map_err(|e| ConfigError(format!("[zego] {}: {}", e.key, e.message.key)))?;
    Ok(account)
}

fn aliyun_account(
    raw: RawAliyun,
    resolve: &dyn Fn(PathBuf) -> PathBuf,
) -> Result<AliyunAccount, ConfigError> {
    let access_key_secret = Secret {
        section: "[aliyun] ".into(),
        key: "access_key_secret",
        inline: raw.access_key_secret,
        file: raw.access_key_secret_file,
        env: raw.access_key_secret_env,
    }
    .read(resolve)?
    .ok_or_else(|| {
        err("[aliyun]: set one of access_key_secret, access_key_secret_file and access_key_secret_env")
    })?;
    let account = AliyunAccount {
        access_key_id: raw.access_key_id,
        access_key_secret,
        endpoint: raw.endpoint,
        app_id: raw.app_id,
        signature_version: raw.signature_version.unwrap_or_else(|| "v2".into()),
        expire_time: raw.expire_time.unwrap_or(86_400),
    };
    account
        .config(PLACEHOLDER, PLACEHOLDER, PLACEHOLDER)
        .map_err(|e| ConfigError(format!("[aliyun] {}: {}", e.key, e.message.key)))?;
    Ok(account)
}

fn limits(raw: &RawLimits) -> Result<Limits, ConfigError> {
    let limits = Limits {
        zego_dispatch_per_second: raw
            .zego_dispatch_per_second
            .unwrap_or(ZEGO_DISPATCH_PER_SECOND),
        zego_cdn_per_second: raw.zego_cdn_per_second.unwrap_or(ZEGO_CDN_PER_SECOND),
        aliyun_per_second: raw.aliyun_per_second.unwrap_or(ALIYUN_PER_SECOND),
        sub_golives_per_minute: raw.sub_golives_per_minute.unwrap_or(SUB_GOLIVES_PER_MINUTE),
        sub_burst: raw.sub_burst.unwrap_or(SUB_BURST),
        queue_limit: raw.queue_limit.unwrap_or(QUEUE_LIMIT),
        margin_percent: raw.margin_percent.unwrap_or(MARGIN_PERCENT),
    };
    if limits.margin_percent > 100 {
        return Err(err("[limits] margin_percent: at most 100"));
    }
    let all = [
        limits.zego_dispatch_per_second,
        limits.zego_cdn_per_second,
        limits.aliyun_per_second,
        limits.sub_golives_per_minute,
        limits.sub_burst,
        limits.queue_limit,
    ];
    if all.contains(&0) {
        return Err(err("[limits]: every limit must be positive"));
    }
    Ok(limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
listen = "127.0.0.1:8080"
[tokens]
hs256_key = "0123456789abcdef0123456789abcdef"
audience = "obs"
[zego]
app_id = 1234567
server_secret = "0123456789abcdef0123456789abcdef"
"#;

    fn parse(text: &str) -> Result<BrokerConfig, ConfigError> {
        BrokerConfig::parse(text, Path::new("/"))
    }

    #[test]
    fn defaults_are_the_documented_limits() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.limits.zego_dispatch_per_second, 40);
        assert_eq!(c.limits.zego_cdn_per_second, 10);
        assert_eq!(c.limits.aliyun_per_second, 100);
        assert_eq!(c.lease, Duration::from_secs(60));
        assert_eq!(c.tokens.leeway_seconds, 60);
        assert!(c.aliyun.is_none() && c.redis_url.is_none());
        assert!(c.client_ip_header.is_none());
        let proxied = parse(&GOOD.replace("listen", "client_ip_header = \"X-Real-IP\"\nlisten"));
        assert_eq!(proxied.unwrap().client_ip_header.unwrap(), "x-real-ip");
        assert!(!format!("{c:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn each_problem_is_named() {
        let bad = |from: &str, to: &str, expect: &str| {
            let e = parse(&GOOD.replace(from, to)).unwrap_err().0;
            assert!(e.contains(expect), "{e:?} should mention {expect:?}");
        };
        bad("127.0.0.1:8080", "nowhere", "listen");
        bad(
            "\"0123456789abcdef0123456789abcdef\"\naud",
            "\"short\"\naud",
            "32 bytes",
        );
        bad(
            "audience = \"obs\"",
            "audience = \"obs\"\nleeway_seconds = 61",
            "at most 60",
        );
        bad("app_id = 1234567", "app_id = 0", "[zego] app_id");
        bad(
            "[zego]",
            "[zego]\nendpoint = \"ftp://x\"",
            "[zego] endpoint",
        );
        bad("listen", "redis_url = \"mysql://x\"\nlisten", "redis_url");
        bad("listen", "tls_cert = \"c.pem\"\nlisten", "tls_key");
        bad("listen", "colour = 1\nlisten", "colour");
        bad(
            "listen",
            "client_ip_header = \"X Forwarded\"\nlisten",
            "client_ip_header",
        );
        bad("[zego]", "[limits]\nqueue_limit = 0\n[zego]", "positive");
    }

    /// `GOOD` with its `[tokens]` section replaced by `tokens`.
    fn with_tokens(tokens: &str) -> Result<BrokerConfig, ConfigError> {
        let text = GOOD.replace(
            "[tokens]\nhs256_key = \"0123456789abcdef0123456789abcdef\"\naudience = \"obs\"\n",
            "",
        );
        assert_ne!(text, GOOD);
        parse(&format!("{text}\n[tokens]\naudience = \"obs\"\n{tokens}"))
    }

    const OLD: &str = "[[tokens.keys]]\nkid = \"2026-06\"\nhs256_key = \"old-0123456789abcdef0123456789abcdef\"\n";
    const NEW: &str = "[[tokens.keys]]\nkid = \"2026-12\"\nsign = true\nhs256_key = \"new-0123456789abcdef0123456789abcdef\"\n";

    #[test]
    fn the_legacy_key_alone_is_one_signing_key_without_kid() {
        let t = parse(GOOD).unwrap().tokens;
        assert_eq!(t.keys.len(), 1);
        assert_eq!(t.keys[0].kid, None);
        let signing = t.signing.unwrap();
        assert_eq!(signing.kid, None);
        assert_eq!(signing.key.0, b"0123456789abcdef0123456789abcdef");
    }

    #[test]
    fn rotation_keys_have_kids_and_one_signs() {
        let t = with_tokens(&format!(
            "hs256_key = \"0123456789abcdef0123456789abcdef\"\n{OLD}{NEW}"
        ))
        .unwrap()
        .tokens;
        let kids: Vec<_> = t.keys.iter().map(|k| k.kid.as_deref()).collect();
        assert_eq!(kids, [None, Some("2026-06"), Some("2026-12")]);
        assert_eq!(t.signing.as_ref().unwrap().kid.as_deref(), Some("2026-12"));
        assert!(!format!("{t:?}").contains("0123456789abcdef"));
        // Without a key marked, nothing signs (the legacy key does when there is one).
        let t = with_tokens(OLD).unwrap().tokens;
        assert!(t.signing.is_none());
        let t = with_tokens(&format!(
            "hs256_key = \"0123456789abcdef0123456789abcdef\"\n{OLD}"
        ))
        .unwrap()
        .tokens;
        assert_eq!(t.signing.unwrap().kid, None);
    }

    #[test]
    fn key_problems_are_named() {
        let bad = |tokens: &str, expect: &str| {
            let e = with_tokens(tokens).unwrap_err().0;
            assert!(e.contains(expect), "{e:?} should mention {expect:?}");
            assert!(!e.contains("0123456789abcdef"), "{e}");
        };
        bad("", "set hs256_key");
        bad(
            &format!("{NEW}{}", NEW.replace("2026-12", "2027")),
            "only one key may have sign = true",
        );
        bad(&format!("{OLD}{OLD}"), "two keys have kid \"2026-06\"");
        bad(&OLD.replace("2026-06", " "), "kid must not be empty");
        bad(
            &OLD.replace("old-0123456789abcdef0123456789abcdef", "short"),
            "[[tokens.keys]] kid \"2026-06\": the HS256 key must be at least 32 bytes",
        );
        bad(
            "[[tokens.keys]]\nkid = \"a\"\n",
            "[[tokens.keys]] kid \"a\": set one of hs256_key",
        );
        bad(
            &format!("{OLD}ed25519_public_key_file = \"/nonexistent.pem\"\n"),
            "set one of hs256_key",
        );
        bad(
            "[[tokens.keys]]\nkid = \"login\"\ned25519_public_key_file = \"/nonexistent.pem\"\n",
            "[[tokens.keys]] kid \"login\": cannot read /nonexistent.pem",
        );
        bad(
            "jwks_file = \"/nonexistent.json\"\n",
            "[tokens] jwks_file: cannot read",
        );
        bad(
            "[[tokens.keys]]\nhs256_key_env = \"RTC_GOLIVE_TEST_NOT_SET_EVER\"\n",
            "[[tokens.keys]] #1 hs256_key_env: the environment variable RTC_GOLIVE_TEST_NOT_SET_EVER is not set",
        );
        bad("colour = 1\n", "colour");
    }

    #[test]
    fn public_keys_and_a_jwks_come_from_files() {
        let dir = std::env::temp_dir().join(format!("broker-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ed = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        std::fs::write(dir.join("ed.pem"), ed.public_key_pem()).unwrap();
        std::fs::write(dir.join("ec.pem"), ec.public_key_pem()).unwrap();
        let x = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ed.public_key_raw(),
        );
        std::fs::write(
            dir.join("jwks.json"),
            serde_json::json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "jwks-ed"}]})
                .to_string(),
        )
        .unwrap();
        let text = GOOD.replace(
            "audience = \"obs\"\n",
            "audience = \"obs\"\njwks_file = \"jwks.json\"\n\
             [[tokens.keys]]\nkid = \"ed\"\ned25519_public_key_file = \"ed.pem\"\n\
             [[tokens.keys]]\nkid = \"ec\"\nes256_public_key_file = \"ec.pem\"\n",
        );
        let parsed = BrokerConfig::parse(&text, &dir);
        let swapped = BrokerConfig::parse(
            &text.replace("ed.pem", "ec.pem").replace(
                "es256_public_key_file = \"ec.pem\"",
                "es256_public_key_file = \"ed.pem\"",
            ),
            &dir,
        );
        let signing = BrokerConfig::parse(
            &text.replace("kid = \"ed\"\n", "kid = \"ed\"\nsign = true\n"),
            &dir,
        );
        let _ = std::fs::remove_dir_all(&dir);
        let t = parsed.unwrap().tokens;
        let keys: Vec<_> = t.keys.iter().map(|k| (k.kid.as_deref(), k.alg)).collect();
        use jsonwebtoken::Algorithm::{EdDSA, ES256, HS256};
        assert_eq!(
            keys,
            [
                (None, HS256),
                (Some("ed"), EdDSA),
                (Some("ec"), ES256),
                (Some("jwks-ed"), EdDSA)
            ]
        );
        assert!(swapped
            .unwrap_err()
            .0
            .contains("ed25519_public_key_file: not an Ed25519 public key"));
        assert!(signing
            .unwrap_err()
            .0
            .contains("sign = true needs an HS256 key"));
    }
}
