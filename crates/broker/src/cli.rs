//! The command line: `serve`, `token` and `revoke`.

use crate::config::BrokerConfig;
use crate::http::REVOKE_PATH;
use crate::local_store::{self, LocalStore};
use crate::redis_link::PREFIX;
use crate::revocation::{revoked_key, revoked_sub_key, SUB_REVOCATION_SECONDS};
use crate::token::{self, AliyunPin, Claims, Pin, ZegoPin};
use clap::{ArgGroup, Parser, Subcommand};
use rtc_golive_core::platform_api::ErrorCode;
use std::path::PathBuf;
use std::time::Duration;

/// The platform's broker for obs-rtc-golive's platform mode.
#[derive(Debug, Parser)]
#[command(name = "rtc-golive-broker", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serves the HTTP API.
    Serve {
        /// The broker's TOML config.
        #[arg(long)]
        config: PathBuf,
    },
    /// Prints a streamer token on stdout (its jti and expiry go to stderr); `token list` lists
    /// the tokens minted so.
    #[command(
        group(ArgGroup::new("pin").required(true).args(["zego_stream_id", "aliyun_channel"])),
        subcommand_negates_reqs = true,
        args_conflicts_with_subcommands = true
    )]
    Token {
        /// `list`, instead of minting.
        #[command(subcommand)]
        action: Option<TokenAction>,
        /// The broker's TOML config.
        #[arg(long, required = true)]
        config: Option<PathBuf>,
        /// The streamer (the token's `sub`).
        #[arg(long, required = true)]
        sub: Option<String>,
        /// The ZEGOCLOUD StreamId the streamer publishes.
        #[arg(long, conflicts_with_all = ["aliyun_channel", "aliyun_user", "aliyun_display_name"])]
        zego_stream_id: Option<String>,
        /// A CDN URL the broker forwards the stream to while live (repeatable).
        #[arg(long, requires = "zego_stream_id")]
        zego_cdn_url: Vec<String>,
        /// A ZEGOCLOUD StreamId the streamer may play through `/v1/play` (repeatable).
        #[arg(long, requires = "zego_stream_id")]
        zego_play_stream: Vec<String>,
        /// The stream stops when a CDN forward cannot be created (the plugin says why).
        #[arg(long, requires = "zego_cdn_url")]
        zego_cdn_required: bool,
        /// The Alibaba Cloud ARTC channel.
        #[arg(long, requires_all = ["aliyun_user", "aliyun_display_name"])]
        aliyun_channel: Option<String>,
        /// The user id in the channel.
        #[arg(long, requires = "aliyun_channel")]
        aliyun_user: Option<String>,
        /// The name the channel shows.
        #[arg(long, requires = "aliyun_channel")]
        aliyun_display_name: Option<String>,
        /// How long the token is valid (`30d`, `12h`, ...; at most 366 days).
        #[arg(long, default_value = "30d", value_parser = humantime::parse_duration)]
        ttl: Duration,
    },
    /// Revokes a token by its jti (or every token of a streamer), for every instance (through
    /// Redis, or through the running broker's admin API when there is no Redis), until the
    /// token expires.
    #[command(group(ArgGroup::new("which").required(true).args(["jti", "token", "sub"])))]
    Revoke {
        /// The broker's TOML config.
        #[arg(long)]
        config: PathBuf,
        /// The token's jti.
        #[arg(long, conflicts_with_all = ["token", "sub"])]
        jti: Option<String>,
        /// With --jti: the token's expiry (`exp`: Unix seconds, or RFC 3339 such as
        /// 2027-01-31T12:00:00Z), printed by `token`; the revocation is kept until then.
        /// Without it, for 367 days.
        #[arg(long, requires = "jti", value_parser = parse_exp)]
        exp: Option<u64>,
        /// The token itself (instead of --jti): its jti and expiry are read from it, once its
        /// signature checks out with the config's keys.
        #[arg(long, conflicts_with = "sub")]
        token: Option<String>,
        /// Every token of this streamer issued up to now (those minted afterwards, from the
        /// next second on, are accepted): a lost device, a banned account.
        #[arg(long)]
        sub: Option<String>,
    },
}

/// What `token` does besides minting.
#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Lists the tokens `token` minted that have not expired (not those a platform's login
    /// service minted), with whether they are revoked.
    List {
        /// The broker's TOML config.
        #[arg(long)]
        config: PathBuf,
        /// Only this streamer's.
        #[arg(long)]
        sub: Option<String>,
    },
}

/// `token`: the token, checked against the config's vendor sections.
pub fn token(
    config: &BrokerConfig,
    sub: &str,
    zego: Option<ZegoPin>,
    aliyun: Option<AliyunPin>,
    ttl: Duration,
) -> Result<(String, token::Claims), String> {
    if let Some(pin) = &zego {
        let account = config
            .zego
            .as_ref()
            .ok_or("the config has no [zego] section: it cannot serve this token")?;
        account
            .config(&pin.stream_id, &pin.cdn_urls)
            .map_err(|e| format!("the stream cannot be used: {} {}", e.key, e.message.key))?;
        for play in &pin.play {
            account.config(play, &[]).map_err(|e| {
                format!(
                    "the stream to play cannot be used: {} {}",
                    e.key, e.message.key
                )
            })?;
        }
    }
    if let Some(pin) = &aliyun {
        let account = config
            .aliyun
            .as_ref()
            .ok_or("the config has no [aliyun] section: it cannot serve this token")?;
        account
            .config(&pin.channel, &pin.user_id, &pin.display_name)
            .map_err(|e| format!("the seat cannot be used: {} {}", e.key, e.message.key))?;
    }
    token::mint(&config.tokens, sub, (zego, aliyun), ttl)
}

/// `--exp`: Unix seconds or an RFC 3339 time.
fn parse_exp(text: &str) -> Result<u64, String> {
    if let Ok(seconds) = text.trim().parse::<u64>() {
        return Ok(seconds);
    }
    humantime::parse_rfc3339_weak(text.trim())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .ok_or_else(|| format!("{text:?} is neither Unix seconds nor an RFC 3339 time"))
}

/// What `revoke --token` revokes: the token's jti and exp, when the config's keys accept its
/// signature; `Ok(None)` when it has expired (nothing to revoke).
pub fn revocation_of(config: &BrokerConfig, token: &str) -> Result<Option<(String, u64)>, String> {
    match token::verify(&config.tokens, token.trim()) {
        Ok(claims) => Ok(Some((claims.jti, claims.exp))),
        Err(ErrorCode::TokenExpired) => Ok(None),
        Err(ErrorCode::TokenAudience) => {
            Err("the token was made for another audience: not one this broker accepts".into())
        }
        Err(_) => Err(
            "not a token this config's keys accept (signature, kid, lifetime): nothing to revoke"
                .into(),
        ),
    }
}

/// What `revoke` revokes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// One token, kept until its `exp` when known.
    Token {
        /// Its id.
        jti: String,
        /// Its expiry, Unix seconds.
        exp: Option<u64>,
    },
    /// Every token of a streamer issued up to now.
    Streamer(String),
}

/// `revoke`: through Redis when configured, else through the running broker's admin API.
pub fn revoke(config: &BrokerConfig, what: &Revocation) -> Result<String, String> {
    if let Some(url) = &config.redis_url {
        let mut conn = redis_connection(url)?;
        let (key, value, seconds, done) = match what {
            Revocation::Token { jti, exp } => (
                revoked_key(jti),
                1,
                token::revocation_seconds(*exp),
                format!("revoked jti={jti} in Redis (every instance)"),
            ),
            Revocation::Streamer(sub) => {
                let now = unix_now();
                (
                    revoked_sub_key(sub),
                    now,
                    SUB_REVOCATION_SECONDS,
                    format!("revoked every token of sub={sub} issued until {now} in Redis (every instance)"),
                )
            }
        };
        redis::cmd("SET")
            .arg(key)
            .arg(value)
            .arg("EX")
            .arg(seconds)
            .query::<()>(&mut conn)
            .map_err(|e| format!("Redis refused the revocation: {e}"))?;
        return Ok(done);
    }
    let key = config
        .admin_key
        .as_ref()
        .ok_or("without redis_url, revoke goes through the broker's admin API: set admin_key")?;
    // The admin API is on admin_listen when the config has one, else on the public listener.
    let mut addr = config.admin_listen.unwrap_or(config.listen);
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let body = match what {
        Revocation::Token { jti, exp } => serde_json::json!({ "jti": jti, "exp": exp }),
        Revocation::Streamer(sub) => serde_json::json!({ "sub": sub }),
    };
    // The plugin's TLS trust: the system's store (SSL_CERT_FILE / SSL_CERT_DIR honoured) plus
    // the bundled roots.
    let response = reqwest::blocking::Client::builder()
        .use_preconfigured_tls((*rtc_golive_core::tls::client_config()).clone())
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?
        .post(format!("{scheme}://{addr}{REVOKE_PATH}"))
        .bearer_auth(String::from_utf8_lossy(&key.0))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .map_err(|e| format!("cannot reach the broker at {addr}: {e}"))?;
    let status = response.status();
    let text = response.text().unwrap_or_default();
    if !status.is_success() {
        return Err(format!("the broker refused ({status}): {text}"));
    }
    Ok(match what {
        Revocation::Token { jti, .. } => format!("revoked jti={jti} on the broker at {addr}"),
        Revocation::Streamer(sub) => {
            format!("revoked every token of sub={sub} on the broker at {addr}: {text}")
        }
    })
}

/// The Redis key of a token `token` minted (its claims, until it expires).
fn minted_key(jti: &str) -> String {
    format!("{PREFIX}:token:{jti}")
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Records a token `token` minted, for `token list`: in Redis with `redis_url`, else in the
/// state file.
pub fn record_minted(config: &BrokerConfig, claims: &Claims) -> Result<(), String> {
    let json = serde_json::to_string(claims).map_err(|e| e.to_string())?;
    match &config.redis_url {
        Some(url) => {
            let mut conn = redis_connection(url)?;
            redis::cmd("SET")
                .arg(minted_key(&claims.jti))
                .arg(json)
                .arg("EX")
                .arg(claims.exp.saturating_sub(unix_now()).max(1))
                .query::<()>(&mut conn)
                .map_err(|e| format!("Redis refused the token's record: {e}"))
        }
        None => LocalStore::open(&config.state_path)
            .and_then(|store| {
                store.run_here(|c| {
                    local_store::record_token(c, &claims.jti, &claims.sub, claims.exp, &json)
                })
            })
            .map_err(|e| e.to_string()),
    }
}

/// One line of `token list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The token's claims.
    pub claims: Claims,
    /// Revoked (its jti, or every token of its streamer).
    pub revoked: bool,
}

impl std::fmt::Display for Listed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let time = |t: u64| {
            humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_secs(t))
        };
        let pin = match self.claims.pin() {
            Some(Pin::Zego(pin)) => format!("zego:{}", pin.stream_id),
            Some(Pin::Aliyun(pin)) => format!("aliyun:{}/{}", pin.channel, pin.user_id),
            None => "-".into(),
        };
        write!(
            f,
            "{}  sub={}  {}  issued {}  expires {}  {}",
            self.claims.jti,
            self.claims.sub,
            pin,
            time(self.claims.iat),
            time(self.claims.exp),
            if self.revoked { "REVOKED" } else { "valid" }
        )
    }
}

/// `token list`: the unexpired tokens `token` minted (`sub`'s only, when given), oldest first.
pub fn list(config: &BrokerConfig, sub: Option<&str>) -> Result<Vec<Listed>, String> {
    let now = unix_now();
    let mut listed = match &config.redis_url {
        Some(url) => {
            let mut conn = redis_connection(url)?;
            // SCAN, not KEYS: it never blocks Redis for the other instances.
            let keys: Vec<String> =
                redis::Commands::scan_match::<_, String>(&mut conn, format!("{PREFIX}:token:*"))
                    .map_err(|e| e.to_string())?
                    .collect();
            let mut listed = Vec::new();
            for key in keys {
                let Some(json) = redis::cmd("GET")
                    .arg(&key)
                    .query::<Option<String>>(&mut conn)
                    .map_err(|e| e.to_string())?
                else {
                    continue;
                };
                let Ok(claims) = serde_json::from_str::<Claims>(&json) else {
                    continue;
                };
                let jti_revoked: bool = redis::cmd("EXISTS")
                    .arg(revoked_key(&claims.jti))
                    .query(&mut conn)
                    .map_err(|e| e.to_string())?;
                let sub_before: Option<u64> = redis::cmd("GET")
                    .arg(revoked_sub_key(&claims.sub))
                    .query(&mut conn)
                    .map_err(|e| e.to_string())?;
                let revoked = jti_revoked || sub_before.is_some_and(|b| claims.iat <= b);
                listed.push(Listed { claims, revoked });
            }
            listed
        }
        None => {
            let store = LocalStore::open(&config.state_path).map_err(|e| e.to_string())?;
            let (tokens, jtis, subs) = store
                .run_here(|c| {
                    Ok((
                        local_store::minted_tokens(c, now)?,
                        local_store::revocations(c, now)?,
                        local_store::sub_revocations(c, now)?,
                    ))
                })
                .map_err(|e| e.to_string())?;
            tokens
                .into_iter()
                .filter_map(|json| serde_json::from_str::<Claims>(&json).ok())
                .map(|claims| {
                    let revoked = jtis.iter().any(|(jti, _)| *jti == claims.jti)
                        || subs
                            .iter()
                            .any(|(s, before)| *s == claims.sub && claims.iat <= *before);
                    Listed { claims, revoked }
                })
                .collect()
        }
    };
    listed.retain(|l| l.claims.exp >= now && sub.is_none_or(|s| l.claims.sub == s));
    listed.sort_by_key(|l| (l.claims.iat, l.claims.jti.clone()));
    Ok(listed)
}

fn redis_connection(url: &str) -> Result<redis::Connection, String> {
    redis::Client::open(url)
        .map_err(|e| e.to_string())?
        .get_connection_with_timeout(Duration::from_secs(3))
        .map_err(|e| format!("cannot reach Redis: {e}"))
}
