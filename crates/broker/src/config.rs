//! The broker's TOML config: read once at start, validated, and turned into typed values.
//!
//! The vendor sections are checked with the core's own validation (the same rules as the
//! plugin's settings), with a placeholder for what each token pins, so a bad AppId or endpoint
//! is refused at start and not at the first go-live.

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
const MAX_LEEWAY_SECONDS: u64 = 60;

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
    admin_key: Option<String>,
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
    audience: String,
    leeway_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZego {
    app_id: u32,
    server_secret: String,
    endpoint: Option<String>,
    #[serde(default)]
    is_test: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAliyun {
    access_key_id: String,
    access_key_secret: String,
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
    /// The HS256 key.
    pub key: TokenKey,
    /// The `aud` every token must carry.
    pub audience: String,
    /// Clock leeway for `exp` (at most 60 s).
    pub leeway_seconds: u64,
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
        let admin_key = match raw.admin_key {
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
        let zego = raw.zego.map(zego_account).transpose()?;
        let aliyun = raw.aliyun.map(aliyun_account).transpose()?;
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

fn tokens(
    raw: RawTokens,
    resolve: &dyn Fn(PathBuf) -> PathBuf,
) -> Result<TokenSettings, ConfigError> {
    let key = match (raw.hs256_key, raw.hs256_key_file) {
        (Some(key), None) => key.into_bytes(),
        (None, Some(file)) => {
            let file = resolve(file);
            let text = std::fs::read_to_string(&file).map_err(|e| {
                ConfigError(format!(
                    "[tokens] hs256_key_file: cannot read {}: {e}",
                    file.display()
                ))
            })?;
            text.trim().as_bytes().to_vec()
        }
        _ => {
            return Err(err(
                "[tokens]: set exactly one of hs256_key and hs256_key_file",
            ))
        }
    };
    // RFC 7518 §3.2: an HS256 key must have at least as many bits as the hash.
    if key.len() < 32 {
        return Err(err("[tokens]: the HS256 key must be at least 32 bytes"));
    }
    if raw.audience.trim().is_empty() {
        return Err(err("[tokens] audience: must not be empty"));
    }
    let leeway_seconds = raw.leeway_seconds.unwrap_or(MAX_LEEWAY_SECONDS);
    if leeway_seconds > MAX_LEEWAY_SECONDS {
        return Err(err("[tokens] leeway_seconds: at most 60"));
    }
    Ok(TokenSettings {
        key: TokenKey(key),
        audience: raw.audience,
        leeway_seconds,
    })
}

/// A stream id that passes the core's checks, to validate the credentials without a token.
const PLACEHOLDER: &str = "config-check";

fn zego_account(raw: RawZego) -> Result<ZegoAccount, ConfigError> {
    let account = ZegoAccount {
        app_id: raw.app_id,
        raw: RawZegoValues {
            server_secret: raw.server_secret,
            endpoint: raw.endpoint,
            is_test: raw.is_test,
        },
    };
    account
        .config(PLACEHOLDER, &[])
        .map_err(|e| ConfigError(format!("[zego] {}: {}", e.key, e.message.key)))?;
    Ok(account)
}

fn aliyun_account(raw: RawAliyun) -> Result<AliyunAccount, ConfigError> {
    let account = AliyunAccount {
        access_key_id: raw.access_key_id,
        access_key_secret: raw.access_key_secret,
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
}
