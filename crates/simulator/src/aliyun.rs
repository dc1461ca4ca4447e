//! The simulated Alibaba Cloud ApsaraVideo Live API (`live`, version `2016-11-01`, RPC style).
//!
//! Faithful to the vendor page of `CreateRoomRealTimeStreamAddress` (seed 003), the
//! `DescribeChannelParticipants` page and `shared/reference/cloud-apis.md`: both signatures (RPC
//! HMAC-SHA1, which Alibaba now calls "V2", and ACS3-HMAC-SHA256, "V3"), the gateway's common
//! error codes with their HTTP statuses, and the 100 QPS per account limit. Where the
//! documentation leaves a behaviour open, the choice made here is stated next to the code that
//! makes it.
//!
//! Every answer is JSON: `{"RequestId", ...}` with HTTP 200 on success, and
//! `{"RequestId", "HostId", "Code", "Message", "Recommend"}` with the code's 4xx/5xx status on
//! failure. The HTTP layer lives in the parent module; this one turns a request into an answer.
//!
//! The gateway checks a request in this order, the first failure answers:
//! 1. the query decodes (`InvalidParameter` when a name repeats or a value is not UTF-8);
//! 2. the common parameters are present (`MissingParameter`): V2 `Format`, `Version`,
//!    `SignatureMethod`, `SignatureVersion`, `SignatureNonce`, `Timestamp`, `AccessKeyId`,
//!    `Signature`, `Action`; V3 the `x-acs-action`, `x-acs-version`, `x-acs-date`,
//!    `x-acs-signature-nonce`, `x-acs-content-sha256` and `Authorization` headers;
//! 3. the API exists: `InvalidVersion`, then `InvalidApi.NotFound` (the gateway has to resolve
//!    the API before it knows how to authenticate it);
//! 4. the signature scheme is one it knows: `IncompleteSignature` (see `read_v2`, `read_v3`);
//! 5. the timestamp is `YYYY-MM-DDThh:mm:ssZ` (`InvalidTimeStamp.Format`);
//! 6. the AccessKeyId exists (`InvalidAccessKeyId.NotFound`);
//! 7. the timestamp is within 15 minutes of the simulator's clock (`InvalidTimeStamp.Expired`);
//! 8. the signature matches (`SignatureDoesNotMatch`);
//! 9. the nonce is new for that AccessKeyId (`SignatureNonceUsed`);
//! 10. the account is under its QPS (`Throttling.User`);
//! 11. an injected failure ([`AliyunControl::fail_next`]), then the action's own parameters.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use md5::{Digest, Md5};
use serde::Serialize;
use serde_json::{json, Value};

use super::rate_limit::RateLimiter;
use super::SimConfig;
use crate::verify::{self, parse_query, signatures_match, V3Verification};
use rtc_golive_core::signing::{percent, random_hex_nonce};

/// The only API version of ApsaraVideo Live.
const API_VERSION: &str = "2016-11-01";
/// What the error answers name as the host that served them.
const HOST_ID: &str = "live.aliyuncs.com";
/// The documented tolerance between a request's timestamp and the server clock (15 minutes).
const MAX_CLOCK_SKEW_SECS: u64 = 15 * 60;
/// How long a nonce stays used: past the clock window, a replay is refused by its timestamp.
const NONCE_WINDOW: Duration = Duration::from_secs(15 * 60);
const MAX_ID_LEN: usize = 64;
const MAX_DISPLAY_NAME_CHARS: usize = 40;
/// The documented default validity of an ingest address (10 hours).
const DEFAULT_EXPIRE_SECS: i64 = 36_000;
const DEFAULT_PAGE_SIZE: i64 = 10;
/// The docs give no maximum page size; 100 is the simulator's, and what the plugin asks for.
const MAX_PAGE_SIZE: i64 = 100;

/// The V2 common parameters, in the order their absence is reported.
const V2_COMMON: [&str; 9] = [
    "Format",
    "Version",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "Timestamp",
    "AccessKeyId",
    "Signature",
    "Action",
];
/// The V3 common headers (lower-case, as received) and the names the docs give them, in the
/// order their absence is reported. `x-acs-action` is not among them: it is what makes a request
/// a V3 one.
const V3_COMMON: [(&str, &str); 5] = [
    ("x-acs-version", "x-acs-version"),
    ("x-acs-date", "x-acs-date"),
    ("x-acs-signature-nonce", "x-acs-signature-nonce"),
    ("x-acs-content-sha256", "x-acs-content-sha256"),
    ("authorization", "Authorization"),
];

/// A code of the gateway or of the Live API, with its HTTP status and its message.
#[derive(Clone, Copy, Debug)]
struct Known {
    code: &'static str,
    status: u16,
    message: &'static str,
}

impl Known {
    fn error(self) -> ApiError {
        self.with_message(self.message.to_owned())
    }

    fn with_message(self, message: String) -> ApiError {
        ApiError {
            status: self.status,
            code: self.code.to_owned(),
            message,
        }
    }
}

/// The codes the simulator answers by itself, and the documented ones a test may inject; the
/// messages are those Alibaba's gateway sends.
mod codes {
    use super::Known;

    const fn known(code: &'static str, status: u16, message: &'static str) -> Known {
        Known {
            code,
            status,
            message,
        }
    }

    // Answered with a message naming the parameter; this one is for injected failures.
    pub(super) const MISSING_PARAMETER: Known = known(
        "MissingParameter",
        400,
        "The input parameter that is mandatory for processing this request is not supplied.",
    );
    pub(super) const INVALID_PARAMETER: Known = known(
        "InvalidParameter",
        400,
        "The specified parameter is not valid.",
    );
    pub(super) const INVALID_VERSION: Known = known(
        "InvalidVersion",
        400,
        "Specified parameter Version is not valid.",
    );
    pub(super) const API_NOT_FOUND: Known = known(
        "InvalidApi.NotFound",
        404,
        "Specified api is not found, please check your url and method.",
    );
    pub(super) const INCOMPLETE_SIGNATURE: Known = known(
        "IncompleteSignature",
        400,
        "The request signature does not conform to Aliyun standards.",
    );
    pub(super) const TIMESTAMP_FORMAT: Known = known(
        "InvalidTimeStamp.Format",
        400,
        "Specified time stamp or date value is not well formatted.",
    );
    pub(super) const ACCESS_KEY_NOT_FOUND: Known = known(
        "InvalidAccessKeyId.NotFound",
        404,
        "Specified access key is not found.",
    );
    pub(super) const TIMESTAMP_EXPIRED: Known = known(
        "InvalidTimeStamp.Expired",
        400,
        "Specified time stamp or date value is expired.",
    );
    pub(super) const SIGNATURE_MISMATCH: Known = known(
        "SignatureDoesNotMatch",
        400,
        "Specified signature is not matched with our calculation.",
    );
    pub(super) const NONCE_USED: Known = known(
        "SignatureNonceUsed",
        400,
        "Specified signature nonce was used already.",
    );
    pub(super) const THROTTLING: Known = known(
        "Throttling.User",
        400,
        "Request was denied due to user flow control.",
    );
    pub(super) const INPUT_INVALID: Known = known("InputInvalid", 400, "Illegal input parameters.");
    pub(super) const FORBIDDEN_RAM: Known = known(
        "Forbidden.RAM",
        403,
        "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
    );
    pub(super) const NO_AUTH: Known = known("NoAuth", 403, "No permission.");
    pub(super) const RESOURCE_NOT_EXIST: Known = known(
        "ResourceNotExist",
        404,
        "The requested resource does not exist, please check and try again.",
    );
    pub(super) const SERVER_ERROR: Known = known(
        "ServerError",
        500,
        "Unknown error, please try again later or submit a ticket for consultation.",
    );
    pub(super) const INTERNAL_ERROR: Known = known(
        "InternalError",
        500,
        "The request processing has failed due to some unknown error, exception or failure.",
    );
    pub(super) const SERVICE_UNAVAILABLE: Known = known(
        "ServiceUnavailable",
        503,
        "The request has failed due to a temporary failure of the server.",
    );

    /// The messages [`super::AliyunControl::fail_next`] answers for codes it knows.
    pub(super) const ALL: &[Known] = &[
        MISSING_PARAMETER,
        INVALID_PARAMETER,
        INVALID_VERSION,
        API_NOT_FOUND,
        INCOMPLETE_SIGNATURE,
        TIMESTAMP_FORMAT,
        ACCESS_KEY_NOT_FOUND,
        TIMESTAMP_EXPIRED,
        SIGNATURE_MISMATCH,
        NONCE_USED,
        THROTTLING,
        INPUT_INVALID,
        FORBIDDEN_RAM,
        NO_AUTH,
        RESOURCE_NOT_EXIST,
        SERVER_ERROR,
        INTERNAL_ERROR,
        SERVICE_UNAVAILABLE,
    ];
}

/// A failed call, as answered.
#[derive(Clone, Debug)]
struct ApiError {
    status: u16,
    code: String,
    message: String,
}

impl ApiError {
    /// Alibaba's wording for a missing common or action parameter.
    fn missing(name: &str) -> ApiError {
        codes::MISSING_PARAMETER.with_message(format!(
            "The input parameter \"{name}\" that is mandatory for processing this request is not \
             supplied."
        ))
    }

    /// The Live API's `InputInvalid`, whose documented message is just `%s.`.
    fn input_invalid(detail: String) -> ApiError {
        codes::INPUT_INVALID.with_message(format!("{detail}."))
    }
}

/// The actions the simulator implements; any other gets `InvalidApi.NotFound`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Action {
    CreateAddress,
    DescribeParticipants,
}

impl Action {
    const ALL: [Action; 2] = [Action::CreateAddress, Action::DescribeParticipants];

    fn name(self) -> &'static str {
        match self {
            Action::CreateAddress => "CreateRoomRealTimeStreamAddress",
            Action::DescribeParticipants => "DescribeChannelParticipants",
        }
    }

    fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|action| action.name() == name)
    }
}

/// How a request is signed: V3 requests name their action in a header, V2 ones in the query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    V2,
    V3,
}

impl Scheme {
    fn of(headers: &BTreeMap<String, String>) -> Scheme {
        if headers.contains_key("x-acs-action") {
            Scheme::V3
        } else {
            Scheme::V2
        }
    }

    fn label(self) -> &'static str {
        match self {
            Scheme::V2 => "v2",
            Scheme::V3 => "v3",
        }
    }
}

/// Whether an API request is meant for Alibaba Cloud rather than ZEGOCLOUD: it carries the V3
/// `x-acs-action` header (`headers` have lower-case names), or the V2 parameters
/// `SignatureMethod` or `AccessKeyId`, which no ZEGOCLOUD request has.
pub(crate) fn is_aliyun_request(query: &str, headers: &BTreeMap<String, String>) -> bool {
    headers.contains_key("x-acs-action")
        || query.split('&').any(|pair| {
            let name = pair.split_once('=').map_or(pair, |(name, _)| name);
            let name = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
            name == "SignatureMethod" || name == "AccessKeyId"
        })
}

/// One request the simulator received, as the test harness sees it.
#[derive(Clone, Debug)]
pub struct AliyunRecordedRequest {
    /// The action as sent (`Action` for V2, `x-acs-action` for V3), empty when missing.
    pub action: String,
    /// The decoded query parameters without `Signature` (V2 common parameters included); empty
    /// when the query could not be decoded.
    pub params: BTreeMap<String, String>,
    /// `"v2"` (RPC HMAC-SHA1) or `"v3"` (ACS3-HMAC-SHA256).
    pub signature_version: &'static str,
    /// The time the request says it was signed at, as sent (V2 `Timestamp`, V3 `x-acs-date`,
    /// `YYYY-MM-DDThh:mm:ssZ`), empty when missing.
    pub signed_at: String,
    /// The error `Code` answered, empty on success.
    pub code: String,
    /// The HTTP status answered.
    pub status: u16,
    /// When the request arrived, on the real clock (without `clock_offset_secs`).
    pub at: SystemTime,
}

/// What the HTTP layer received, with everything a verifier needs.
pub(crate) struct AliyunRequest<'a> {
    /// The upper-case HTTP method.
    pub(crate) method: &'a str,
    /// The path, without the query.
    pub(crate) path: &'a str,
    /// The raw query string, without the `?`.
    pub(crate) query: &'a str,
    /// The headers, lower-case names.
    pub(crate) headers: &'a BTreeMap<String, String>,
    /// The raw body.
    pub(crate) body: &'a [u8],
}

/// The answer to one request, ready for the HTTP layer.
pub(crate) struct AliyunReply {
    /// The HTTP status.
    pub(crate) status: u16,
    /// The JSON document.
    pub(crate) body: String,
    /// How long to hold the answer back (the configured latency).
    pub(crate) latency: Duration,
}

/// A cheap, clonable handle on the simulated ApsaraVideo Live service: changes its behaviour at
/// run time and reads what it received. All clones share one state.
#[derive(Clone)]
pub struct AliyunControl {
    inner: Arc<Service>,
}

struct Service {
    /// AccessKeyId -> AccessKey secret.
    secrets: HashMap<String, String>,
    clock_offset_secs: i64,
    qps: u32,
    /// The RTMP base without a trailing `/`, e.g. `rtmp://127.0.0.1:1935/live`.
    rtmp_base: String,
    /// The path of `rtmp_base` (`/live`): the start of the URI every auth_key signs.
    app_path: String,
    /// Signs the auth_keys. Random per simulator, so no address outlives the simulator.
    auth_private_key: String,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    latency: Duration,
    injected: HashMap<Action, VecDeque<ApiError>>,
    requests: Vec<AliyunRecordedRequest>,
    limiter: RateLimiter<String>,
    nonces: NonceLog,
    /// Stream name -> the channel user its address joins as.
    issued: HashMap<String, Member>,
    /// Stream name -> join order, for the issued addresses being published.
    publishing: HashMap<String, u64>,
    /// (AppId, ChannelId) -> users added by the harness, with their join order.
    extra: HashMap<(String, String), Vec<(String, u64)>>,
    /// The last join order given: participants are listed in the order they joined.
    joins: u64,
}

/// The channel user an ingest address joins as.
struct Member {
    app: String,
    channel: String,
    user: String,
}

/// The nonces used in the last 15 minutes, per AccessKeyId.
#[derive(Default)]
struct NonceLog {
    used: HashSet<(String, String)>,
    by_age: VecDeque<(Instant, (String, String))>,
}

impl NonceLog {
    /// Marks `nonce` used by `access_key_id` at `now`; false when it already was.
    fn use_once(&mut self, access_key_id: &str, nonce: &str, now: Instant) -> bool {
        while let Some((at, _)) = self.by_age.front() {
            if now.saturating_duration_since(*at) < NONCE_WINDOW {
                break;
            }
            if let Some((_, expired)) = self.by_age.pop_front() {
                self.used.remove(&expired);
            }
        }
        let entry = (access_key_id.to_owned(), nonce.to_owned());
        if !self.used.insert(entry.clone()) {
            return false;
        }
        self.by_age.push_back((now, entry));
        true
    }
}

type Params = BTreeMap<String, String>;

/// What a request claims before its signature is checked.
struct Claim {
    action: Action,
    access_key_id: String,
    /// Unix seconds.
    timestamp: i64,
    nonce: String,
}

impl AliyunControl {
    pub(crate) fn new(config: &SimConfig) -> AliyunControl {
        let secrets = config
            .aliyun_keys
            .iter()
            .map(|key| (key.access_key_id.clone(), key.access_key_secret.clone()))
            .collect();
        let rtmp_base = config.aliyun_rtmp_base.trim_end_matches('/').to_owned();
        let app_path = rtmp_base
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|start| rest[start..].to_owned()))
            .unwrap_or_default();
        AliyunControl {
            inner: Arc::new(Service {
                secrets,
                clock_offset_secs: config.clock_offset_secs,
                qps: config.aliyun_qps,
                rtmp_base,
                app_path,
                auth_private_key: random_hex_nonce(16),
                state: Mutex::new(State {
                    latency: config.latency,
                    ..State::default()
                }),
            }),
        }
    }

    /// Sets the delay added before every answer (the request is processed on arrival, so a
    /// client that times out may still have changed state, as with the real service).
    pub fn set_latency(&self, latency: Duration) {
        self.state().latency = latency;
    }

    /// Makes the next `times` authenticated calls of `action` answer HTTP `status` with `code`.
    ///
    /// The message is Alibaba's for the codes the simulator knows (e.g. `Forbidden.RAM`,
    /// `SignatureDoesNotMatch`, `Throttling.User`, `ServerError`), a generic one for any other
    /// code. Calls queue up: a second `fail_next` for the same action applies after the first.
    /// The injected answer replaces the action itself (no state changes), but only once the call
    /// passed the gateway and the rate limit, so an injected failure is never spent on a request
    /// that would have failed anyway.
    ///
    /// # Panics
    ///
    /// If `action` is not one the simulator implements, or `status` is not 4xx/5xx: a typo in a
    /// test must not silently inject nothing, or a success.
    pub fn fail_next(&self, action: &str, code: &str, status: u16, times: usize) {
        let action = Action::parse(action).unwrap_or_else(|| {
            panic!("fail_next: the simulator does not implement the action {action:?}")
        });
        assert!(
            (400..=599).contains(&status),
            "fail_next: HTTP {status} is not an error status"
        );
        let message = codes::ALL
            .iter()
            .find(|known| known.code == code)
            .map_or_else(
                || format!("The request failed with {code}."),
                |known| known.message.to_owned(),
            );
        let error = ApiError {
            status,
            code: code.to_owned(),
            message,
        };
        self.state()
            .injected
            .entry(action)
            .or_default()
            .extend(std::iter::repeat_n(error, times));
    }

    /// Whether a publish of stream `name` with `auth_key` is allowed now: the key is one this
    /// simulator issued for that name and it has not expired (on the simulator's clock).
    ///
    /// The test harness wires this to the RTMP server's publish callback. As with Alibaba's URL
    /// authentication (type A), the key is checked by recomputing its MD5 rather than looked up,
    /// so every address issued stays valid until it expires, as documented: there is no way to
    /// revoke one, and asking for a new one does not invalidate the old.
    #[must_use]
    pub fn check_publish(&self, name: &str, auth_key: &str) -> bool {
        self.check_publish_at(name, auth_key, SystemTime::now())
    }

    fn check_publish_at(&self, name: &str, auth_key: &str, wall: SystemTime) -> bool {
        let mut parts = auth_key.splitn(4, '-');
        let (Some(expiry), Some(rand), Some(uid), Some(hash)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let Ok(expires_at) = expiry.parse::<i64>() else {
            return false;
        };
        let expected = self.inner.auth_hash(name, expiry, rand, uid);
        signatures_match(&expected, hash) && self.inner.now(wall) < expires_at
    }

    /// Marks stream `name` as being published (`live`) or stopped, for
    /// `DescribeChannelParticipants`: while published, the user its address was issued for is in
    /// the channel.
    ///
    /// The test harness feeds this from the RTMP server's publish events. A name no address was
    /// issued for joins no channel and is ignored.
    pub fn set_publishing(&self, name: &str, live: bool) {
        let mut state = self.state();
        if !live {
            state.publishing.remove(name);
        } else if state.issued.contains_key(name) && !state.publishing.contains_key(name) {
            let order = state.next_join();
            state.publishing.insert(name.to_owned(), order);
        }
    }

    /// Puts `user` in channel `channel` of app `app`, as an ARTC client that joined would be, so
    /// the RTMP user is not alone in the participant list. Adding a user twice does nothing.
    pub fn add_participant(&self, app: &str, channel: &str, user: &str) {
        let mut state = self.state();
        let key = (app.to_owned(), channel.to_owned());
        if state
            .extra
            .get(&key)
            .is_some_and(|users| users.iter().any(|(known, _)| known == user))
        {
            return;
        }
        let order = state.next_join();
        state
            .extra
            .entry(key)
            .or_default()
            .push((user.to_owned(), order));
    }

    /// Every request routed to Alibaba Cloud, in order of arrival, including the rejected ones.
    #[must_use]
    pub fn requests(&self) -> Vec<AliyunRecordedRequest> {
        self.state().requests.clone()
    }

    /// Forgets the recorded requests (behaviour and state are kept).
    pub fn clear_requests(&self) {
        self.state().requests.clear();
    }

    /// How many `CreateRoomRealTimeStreamAddress` requests were received, whatever their answer.
    #[must_use]
    pub fn create_calls(&self) -> usize {
        self.state()
            .requests
            .iter()
            .filter(|request| request.action == Action::CreateAddress.name())
            .count()
    }

    /// Answers one request at the current time.
    pub(crate) fn handle(&self, request: &AliyunRequest<'_>) -> AliyunReply {
        let wall = SystemTime::now();
        let scheme = Scheme::of(request.headers);
        let params = parse_query(request.query);
        let mut state = self.state();
        let outcome = match &params {
            Some(params) => self.answer(&mut state, request, scheme, params, wall),
            // A signature covers a map of names: a repeated one cannot be verified.
            None => Err(codes::INVALID_PARAMETER.with_message(
                "The query string is not valid: a parameter is repeated or is not UTF-8."
                    .to_owned(),
            )),
        };
        let mut params = params.unwrap_or_default();
        let (action, signed_at) = match scheme {
            Scheme::V2 => (param(&params, "Action"), param(&params, "Timestamp")),
            Scheme::V3 => (
                param(request.headers, "x-acs-action"),
                param(request.headers, "x-acs-date"),
            ),
        };
        let (action, signed_at) = (action.to_owned(), signed_at.to_owned());
        params.remove("Signature");

        let request_id = request_id();
        let (status, code, body) = match outcome {
            Ok(mut answer) => {
                answer["RequestId"] = Value::from(request_id.as_str());
                (200, String::new(), answer.to_string())
            }
            Err(error) => {
                let body = ErrorBody {
                    request_id: &request_id,
                    host_id: HOST_ID,
                    code: &error.code,
                    message: &error.message,
                    recommend: format!(
                        "https://api.aliyun.com/troubleshoot?q={}&product=live",
                        percent::encode(&error.code)
                    ),
                };
                let body = serde_json::to_string(&body).expect("strings always serialize");
                (error.status, error.code, body)
            }
        };
        // Names and outcomes only: never a secret, a signature, or an address (its auth_key).
        log::info!(
            "aliyun sim: {} {action} AppId={} ChannelId={} UserId={} -> {status} {code}",
            scheme.label(),
            param(&params, "AppId"),
            param(&params, "ChannelId"),
            param(&params, "UserId"),
        );
        state.requests.push(AliyunRecordedRequest {
            action,
            params,
            signature_version: scheme.label(),
            signed_at,
            code,
            status,
            at: wall,
        });
        let latency = state.latency;
        drop(state);
        AliyunReply {
            status,
            body,
            latency,
        }
    }

    fn answer(
        &self,
        state: &mut State,
        request: &AliyunRequest<'_>,
        scheme: Scheme,
        params: &Params,
        wall: SystemTime,
    ) -> Result<Value, ApiError> {
        let mono = Instant::now();
        let claim = match scheme {
            Scheme::V2 => read_v2(params)?,
            Scheme::V3 => read_v3(request, params)?,
        };
        let service = &self.inner;
        let secret = service
            .secrets
            .get(&claim.access_key_id)
            .ok_or_else(|| codes::ACCESS_KEY_NOT_FOUND.error())?;
        if claim.timestamp.abs_diff(service.now(wall)) > MAX_CLOCK_SKEW_SECS {
            return Err(codes::TIMESTAMP_EXPIRED.error());
        }
        match scheme {
            Scheme::V2 => {
                if !verify::rpc(request.method, params, secret) {
                    return Err(rpc_signature_mismatch(request.method, params));
                }
            }
            Scheme::V3 => match verify::v3(
                request.method,
                request.path,
                params,
                request.headers,
                request.body,
                secret,
            ) {
                V3Verification::Valid { .. } => {}
                // The V3 string to sign is a hash of the canonical request, which only the
                // signer builds; the message keeps to the gateway's first sentence.
                V3Verification::SignatureMismatch { .. } => {
                    return Err(codes::SIGNATURE_MISMATCH.error())
                }
                V3Verification::MalformedAuthorization => {
                    return Err(codes::INCOMPLETE_SIGNATURE.error())
                }
            },
        }
        // Only a correctly signed request spends its nonce: a forgery must not burn one.
        if !state
            .nonces
            .use_once(&claim.access_key_id, &claim.nonce, mono)
        {
            return Err(codes::NONCE_USED.error());
        }
        // The documented limit is per account, shared by every action.
        if !state.limiter.admit(claim.access_key_id, service.qps, mono) {
            return Err(codes::THROTTLING.error());
        }
        if let Some(injected) = state
            .injected
            .get_mut(&claim.action)
            .and_then(VecDeque::pop_front)
        {
            return Err(injected);
        }
        let now = service.now(wall);
        match claim.action {
            Action::CreateAddress => service.create_address(state, params, now),
            Action::DescribeParticipants => describe_participants(state, params, now),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panics while holding the lock must not turn every later call into a panic.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn next_join(&mut self) -> u64 {
        self.joins += 1;
        self.joins
    }
}

impl Service {
    /// The simulator's clock, in Unix seconds.
    fn now(&self, wall: SystemTime) -> i64 {
        unix_secs(wall) + self.clock_offset_secs
    }

    /// `CreateRoomRealTimeStreamAddress`: AppId, ChannelId, UserId, DisplayName, ExpireTime.
    ///
    /// The stream name is `<AppId>.<ChannelId>.<UserId>`: URL-safe, readable in test output, and
    /// unambiguous because `.` cannot occur in the ids (Alibaba's own is an opaque token). One
    /// user of a channel therefore always gets the same name, which is how the docs' "UserId
    /// must be unique in the channel" shows here: a new address for the same user replaces the
    /// old one in the channel. The address carries a type-A auth_key,
    /// `<expiry>-<rand>-0-md5("<path>-<expiry>-<rand>-0-<private key>")`.
    fn create_address(
        &self,
        state: &mut State,
        params: &Params,
        now: i64,
    ) -> Result<Value, ApiError> {
        let app = identifier(params, "AppId")?;
        let channel = identifier(params, "ChannelId")?;
        let user = identifier(params, "UserId")?;
        let display_name = required(params, "DisplayName")?;
        if display_name.chars().count() > MAX_DISPLAY_NAME_CHARS {
            return Err(ApiError::input_invalid(format!(
                "DisplayName is invalid: it can be up to {MAX_DISPLAY_NAME_CHARS} characters long"
            )));
        }
        // Documented as an integer: an Int32 of seconds, positive.
        let expire = optional_integer(
            params,
            "ExpireTime",
            DEFAULT_EXPIRE_SECS,
            1..=i64::from(i32::MAX),
        )?;
        let name = format!("{app}.{channel}.{user}");
        let expiry = (now + expire).to_string();
        let rand = random_hex_nonce(16);
        let hash = self.auth_hash(&name, &expiry, &rand, "0");
        state.issued.insert(
            name.clone(),
            Member {
                app: app.to_owned(),
                channel: channel.to_owned(),
                user: user.to_owned(),
            },
        );
        Ok(json!({
            "RtmpAddress": format!("{}/{name}?auth_key={expiry}-{rand}-0-{hash}", self.rtmp_base),
        }))
    }

    /// The MD5 part of a type-A auth_key for stream `name`.
    fn auth_hash(&self, name: &str, expiry: &str, rand: &str, uid: &str) -> String {
        let signed = format!(
            "{}/{name}-{expiry}-{rand}-{uid}-{}",
            self.app_path, self.auth_private_key
        );
        hex::encode(Md5::digest(signed.as_bytes()))
    }
}

/// The V2 claim: common parameters, API, scheme and timestamp.
///
/// A `SignatureMethod` other than `HMAC-SHA1` or a `SignatureVersion` other than `1.0` is a
/// signature the gateway cannot check; the docs name no code for it, so it gets
/// `IncompleteSignature` ("does not conform to Aliyun standards"), like a malformed V3 one.
/// `Format` must be present but `XML` is answered in JSON too: the plugin only asks for JSON.
fn read_v2(params: &Params) -> Result<Claim, ApiError> {
    if let Some(missing) = V2_COMMON.iter().find(|name| param(params, name).is_empty()) {
        return Err(ApiError::missing(missing));
    }
    let action = resolve(param(params, "Version"), param(params, "Action"))?;
    if param(params, "SignatureMethod") != "HMAC-SHA1" || param(params, "SignatureVersion") != "1.0"
    {
        return Err(codes::INCOMPLETE_SIGNATURE.error());
    }
    Ok(Claim {
        action,
        access_key_id: param(params, "AccessKeyId").to_owned(),
        timestamp: parse_timestamp(param(params, "Timestamp"))?,
        nonce: param(params, "SignatureNonce").to_owned(),
    })
}

/// The V3 claim: common headers, API, Authorization header and date.
///
/// A malformed Authorization header (another scheme, a missing part, `host` or an `x-acs-*`
/// header left unsigned) gets `IncompleteSignature`, the gateway's code for a signature that
/// "does not conform to Aliyun standards", rather than `SignatureDoesNotMatch`: nothing was
/// computed to mismatch, and the streamer's fix is the client, not the secret.
fn read_v3(request: &AliyunRequest<'_>, query: &Params) -> Result<Claim, ApiError> {
    let headers = request.headers;
    if let Some((_, shown)) = V3_COMMON
        .iter()
        .find(|(name, _)| param(headers, name).is_empty())
    {
        return Err(ApiError::missing(shown));
    }
    let action = resolve(
        param(headers, "x-acs-version"),
        param(headers, "x-acs-action"),
    )?;
    // The verifier is the one parser of the Authorization header: a first pass with no secret
    // reads its Credential (or finds it malformed) without a second parser. Its verdict on the
    // signature is ignored; the real check comes once the secret is known.
    let access_key_id = match verify::v3(
        request.method,
        request.path,
        query,
        headers,
        request.body,
        "",
    ) {
        V3Verification::Valid { access_key_id }
        | V3Verification::SignatureMismatch { access_key_id } => access_key_id,
        V3Verification::MalformedAuthorization => return Err(codes::INCOMPLETE_SIGNATURE.error()),
    };
    Ok(Claim {
        action,
        access_key_id,
        timestamp: parse_timestamp(param(headers, "x-acs-date"))?,
        nonce: param(headers, "x-acs-signature-nonce").to_owned(),
    })
}

/// The API a version and an action name.
fn resolve(version: &str, action: &str) -> Result<Action, ApiError> {
    if version != API_VERSION {
        return Err(codes::INVALID_VERSION.error());
    }
    Action::parse(action).ok_or_else(|| codes::API_NOT_FOUND.error())
}

/// `YYYY-MM-DDThh:mm:ssZ` (UTC) to Unix seconds.
fn parse_timestamp(text: &str) -> Result<i64, ApiError> {
    // humantime also takes fractional seconds and a space for the `T`; the docs allow neither.
    let bytes = text.as_bytes();
    if bytes.len() != 20 || bytes[10] != b'T' || bytes[19] != b'Z' {
        return Err(codes::TIMESTAMP_FORMAT.error());
    }
    humantime::parse_rfc3339(text)
        .map(unix_secs)
        .map_err(|_| codes::TIMESTAMP_FORMAT.error())
}

/// `SignatureDoesNotMatch` with the string the server signed, as Alibaba answers it.
///
/// Rebuilt here for the message only (the verification is [`verify::rpc`]). It holds
/// the AccessKeyId, never the secret nor the received signature.
fn rpc_signature_mismatch(method: &str, params: &Params) -> ApiError {
    let mut signed = params.clone();
    signed.remove("Signature");
    let string_to_sign = format!(
        "{method}&%2F&{}",
        percent::encode(&percent::canonical_query(&signed))
    );
    let known = codes::SIGNATURE_MISMATCH;
    known.with_message(format!(
        "{} server string to sign is:{string_to_sign}",
        known.message
    ))
}

/// `DescribeChannelParticipants`: AppId, ChannelId, PageNum (1), PageSize (10), Order (desc).
///
/// The participants are the users whose issued address is being published in that channel,
/// plus the users added with [`AliyunControl::add_participant`], ordered by when they joined
/// (`desc`, the documented default, lists the latest first). A user both publishing and added
/// is listed once. `TotalPage` is 0 for an empty channel; a page past the end is empty.
fn describe_participants(state: &State, params: &Params, now: i64) -> Result<Value, ApiError> {
    let app = identifier(params, "AppId")?;
    let channel = identifier(params, "ChannelId")?;
    let page_num = optional_integer(params, "PageNum", 1, 1..=i64::from(i32::MAX))?;
    let page_size = optional_integer(params, "PageSize", DEFAULT_PAGE_SIZE, 1..=MAX_PAGE_SIZE)?;
    let descending = match param(params, "Order") {
        "" | "desc" => true,
        "asc" => false,
        _ => {
            return Err(ApiError::input_invalid(
                "Order is invalid: use asc or desc".to_owned(),
            ))
        }
    };

    let publishing = state.publishing.iter().filter_map(|(name, &order)| {
        let member = state.issued.get(name)?;
        (member.app == app && member.channel == channel).then_some((member.user.as_str(), order))
    });
    let added = state
        .extra
        .get(&(app.to_owned(), channel.to_owned()))
        .into_iter()
        .flatten()
        .map(|(user, order)| (user.as_str(), *order));
    let mut joined: Vec<(&str, u64)> = publishing.chain(added).collect();
    joined.sort_by_key(|&(_, order)| order);
    let mut seen = HashSet::new();
    joined.retain(|&(user, _)| seen.insert(user));
    if descending {
        joined.reverse();
    }

    let total = joined.len();
    // Both are bounded above by i32::MAX, so they fit a usize.
    let (page_num, page_size) = (page_num as usize, page_size as usize);
    let users: Vec<&str> = joined
        .iter()
        .skip((page_num - 1).saturating_mul(page_size))
        .take(page_size)
        .map(|&(user, _)| user)
        .collect();
    Ok(json!({
        "Times": now,
        "TotalNum": total,
        "TotalPage": total.div_ceil(page_size),
        "UserList": users,
    }))
}

/// A mandatory parameter: empty counts as missing, as at the gateway.
fn required<'p>(params: &'p Params, name: &str) -> Result<&'p str, ApiError> {
    match param(params, name) {
        "" => Err(ApiError::missing(name)),
        value => Ok(value),
    }
}

/// AppId, ChannelId, UserId: up to 64 of `[A-Za-z0-9_-]`.
fn identifier<'p>(params: &'p Params, name: &str) -> Result<&'p str, ApiError> {
    let id = required(params, name)?;
    let well_formed = id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if well_formed {
        Ok(id)
    } else {
        Err(ApiError::input_invalid(format!(
            "{name} is invalid: it can be up to {MAX_ID_LEN} characters long and contain \
             letters, digits, underscores (_) and hyphens (-)"
        )))
    }
}

/// An optional integer parameter within `range`, `default` when absent.
fn optional_integer(
    params: &Params,
    name: &str,
    default: i64,
    range: RangeInclusive<i64>,
) -> Result<i64, ApiError> {
    match param(params, name) {
        "" => Ok(default),
        text => text
            .parse()
            .ok()
            .filter(|value| range.contains(value))
            .ok_or_else(|| {
                ApiError::input_invalid(format!(
                    "{name} is invalid: it must be an integer from {} to {}",
                    range.start(),
                    range.end()
                ))
            }),
    }
}

/// A parameter's (or header's) value, empty when absent.
fn param<'p>(params: &'p BTreeMap<String, String>, name: &str) -> &'p str {
    params.get(name).map_or("", String::as_str)
}

fn unix_secs(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// An upper-case UUID-shaped RequestId, like the docs' `F8DB7E25-6A35-161A-AA41-B7A658AF****`.
fn request_id() -> String {
    let hex = random_hex_nonce(16).to_ascii_uppercase();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The error document, fields in the gateway's order.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorBody<'a> {
    request_id: &'a str,
    host_id: &'static str,
    code: &'a str,
    message: &'a str,
    recommend: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AliyunKey, Simulator};
    use rtc_golive_core::signing::aliyun_rpc::{self, RpcCall};
    use rtc_golive_core::signing::aliyun_v3::{self, V3Request};

    const KEY_ID: &str = "LTAI5tSimulatorKey01";
    const SECRET: &str = "simulatorSecretNumberOne0123456";
    const OTHER_KEY_ID: &str = "LTAI5tSimulatorKey02";
    const OTHER_SECRET: &str = "simulatorSecretNumberTwo0123456";
    const RTMP_BASE: &str = "rtmp://127.0.0.1:1935/live";
    const CREATE: &str = "CreateRoomRealTimeStreamAddress";
    const DESCRIBE: &str = "DescribeChannelParticipants";
    const DISPLAY_NAME: &str = "主播 小明";

    fn keys() -> Vec<AliyunKey> {
        vec![
            AliyunKey {
                access_key_id: KEY_ID.to_owned(),
                access_key_secret: SECRET.to_owned(),
            },
            AliyunKey {
                access_key_id: OTHER_KEY_ID.to_owned(),
                access_key_secret: OTHER_SECRET.to_owned(),
            },
        ]
    }

    fn start() -> Simulator {
        start_with(SimConfig::default())
    }

    fn start_with(config: SimConfig) -> Simulator {
        Simulator::start(SimConfig {
            aliyun_keys: keys(),
            aliyun_rtmp_base: RTMP_BASE.to_owned(),
            ..config
        })
        .expect("the simulator starts")
    }

    fn map(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|&(name, value)| (name.to_owned(), value.to_owned()))
            .collect()
    }

    fn create_params(channel: &str, user: &str) -> Params {
        map(&[
            ("AppId", "app-1"),
            ("ChannelId", channel),
            ("UserId", user),
            ("DisplayName", DISPLAY_NAME),
            ("ExpireTime", "3600"),
        ])
    }

    /// Who signs, when, with which nonce.
    struct Signer<'a> {
        key_id: &'a str,
        secret: &'a str,
        at: SystemTime,
        nonce: String,
    }

    impl Signer<'_> {
        fn default_key() -> Signer<'static> {
            Signer {
                key_id: KEY_ID,
                secret: SECRET,
                at: SystemTime::now(),
                nonce: random_hex_nonce(16),
            }
        }
    }

    /// A V2-signed query, decoded, so a test can change it after signing.
    fn v2_params(action: &str, params: &Params, signer: &Signer<'_>) -> Params {
        let call = RpcCall {
            method: "GET",
            action,
            version: API_VERSION,
            params,
        };
        let query = aliyun_rpc::signed_query(
            &call,
            signer.key_id,
            signer.secret,
            &signer.nonce,
            signer.at,
        );
        parse_query(&query).expect("the signer's query decodes")
    }

    /// The query and headers of a V3-signed GET, as the plugin sends them.
    fn v3_request(
        sim: &Simulator,
        action: &str,
        params: &Params,
        signer: &Signer<'_>,
    ) -> (String, BTreeMap<String, String>) {
        let host = sim.base_url().trim_start_matches("http://").to_owned();
        let request = V3Request {
            method: "GET",
            host: &host,
            path: "/",
            action,
            version: API_VERSION,
            query: params,
            body: b"",
        };
        let signed = aliyun_v3::sign_request(
            &request,
            signer.key_id,
            signer.secret,
            &signer.nonce,
            signer.at,
        );
        let mut headers = signed.headers;
        // The HTTP client writes Host itself, from the URL, as the plugin's does.
        headers.remove("host");
        (signed.query, headers)
    }

    /// Sends a GET and reads the JSON answer.
    fn send(sim: &Simulator, query: &str, headers: &BTreeMap<String, String>) -> (u16, Value) {
        let client = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("a client");
        let mut request = client.get(format!("{}/?{query}", sim.base_url()));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send().expect("an answer");
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
        let body = response.text().expect("a body");
        (status, serde_json::from_str(&body).expect("a JSON answer"))
    }

    fn send_v2(sim: &Simulator, params: &Params) -> (u16, Value) {
        send(sim, &percent::canonical_query(params), &BTreeMap::new())
    }

    fn v2(sim: &Simulator, action: &str, params: &Params) -> (u16, Value) {
        send_v2(sim, &v2_params(action, params, &Signer::default_key()))
    }

    fn v3(sim: &Simulator, action: &str, params: &Params) -> (u16, Value) {
        let (query, headers) = v3_request(sim, action, params, &Signer::default_key());
        send(sim, &query, &headers)
    }

    /// The status and Code of an error answer, after checking its shape.
    fn error(answer: &(u16, Value)) -> (u16, &str) {
        let (status, body) = answer;
        let fields: Vec<&String> = body.as_object().expect("an object").keys().collect();
        assert_eq!(
            fields,
            ["Code", "HostId", "Message", "Recommend", "RequestId"],
            "{body}"
        );
        let code = body["Code"].as_str().expect("Code is a string");
        assert_eq!(body["HostId"], HOST_ID);
        assert_eq!(
            body["Recommend"],
            format!("https://api.aliyun.com/troubleshoot?q={code}&product=live")
        );
        assert_request_id(&body["RequestId"]);
        (*status, code)
    }

    fn assert_request_id(id: &Value) {
        let id = id.as_str().expect("RequestId is a string");
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
        assert!(
            id.chars()
                .all(|c| c == '-' || c.is_ascii_digit() || c.is_ascii_uppercase()),
            "{id}"
        );
    }

    /// Splits an address into its stream name and auth_key after checking its prefix.
    fn name_and_key(address: &str) -> (String, String) {
        let rest = address
            .strip_prefix(&format!("{RTMP_BASE}/"))
            .unwrap_or_else(|| panic!("{address} is not under {RTMP_BASE}"));
        let (name, key) = rest.split_once("?auth_key=").expect("an auth_key");
        (name.to_owned(), key.to_owned())
    }

    fn unix_now() -> i64 {
        unix_secs(SystemTime::now())
    }

    /// Checks a successful create and returns the stream name and auth_key.
    fn assert_created(answer: &(u16, Value), expire_secs: i64, before: i64) -> (String, String) {
        let (status, body) = answer;
        assert_eq!(*status, 200, "{body}");
        let fields: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(fields, ["RequestId", "RtmpAddress"]);
        assert_request_id(&body["RequestId"]);
        let (name, key) = name_and_key(body["RtmpAddress"].as_str().expect("a string"));
        let parts: Vec<&str> = key.split('-').collect();
        assert_eq!(parts.len(), 4, "{key}");
        let expiry: i64 = parts[0].parse().expect("expiry is Unix seconds");
        assert!(
            (before + expire_secs..=unix_now() + expire_secs).contains(&expiry),
            "expiry {expiry}, created at {before}"
        );
        assert_eq!(parts[1].len(), 32);
        assert!(parts[1].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(parts[2], "0");
        assert_eq!(parts[3].len(), 32);
        assert!(parts[3]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        (name, key)
    }

    #[test]
    fn v2_create_answers_an_address_the_simulator_accepts() {
        let sim = start();
        let before = unix_now();
        let answer = v2(&sim, CREATE, &create_params("room_1", "obs-1"));
        let (name, key) = assert_created(&answer, 3600, before);
        assert_eq!(name, "app-1.room_1.obs-1");
        assert!(sim.aliyun().check_publish(&name, &key));

        let requests = sim.aliyun().requests();
        assert_eq!(requests.len(), 1);
        let recorded = &requests[0];
        assert_eq!(recorded.action, CREATE);
        assert_eq!(recorded.signature_version, "v2");
        assert_eq!((recorded.status, recorded.code.as_str()), (200, ""));
        assert_eq!(recorded.params["DisplayName"], DISPLAY_NAME);
        assert_eq!(recorded.params["AccessKeyId"], KEY_ID);
        assert!(!recorded.params.contains_key("Signature"));
        assert_eq!(sim.aliyun().create_calls(), 1);
        // ZEGOCLOUD saw nothing.
        assert!(sim.zego().requests().is_empty());

        sim.aliyun().clear_requests();
        assert!(sim.aliyun().requests().is_empty());
        assert_eq!(sim.aliyun().create_calls(), 0);
    }

    #[test]
    fn v3_create_with_a_non_ascii_display_name_and_default_expiry() {
        let sim = start();
        let mut params = create_params("room_1", "obs-3");
        params.remove("ExpireTime");
        let before = unix_now();
        let answer = v3(&sim, CREATE, &params);
        let (name, key) = assert_created(&answer, DEFAULT_EXPIRE_SECS, before);
        assert_eq!(name, "app-1.room_1.obs-3");
        assert!(sim.aliyun().check_publish(&name, &key));

        let recorded = &sim.aliyun().requests()[0];
        assert_eq!(recorded.action, CREATE);
        assert_eq!(recorded.signature_version, "v3");
        assert_eq!(recorded.params, params);
    }

    #[test]
    fn missing_common_parameters_are_named() {
        let sim = start();
        let signed = v2_params(
            CREATE,
            &create_params("room_1", "obs-1"),
            &Signer::default_key(),
        );
        for name in V2_COMMON {
            let mut params = signed.clone();
            params.remove(name);
            let answer = send_v2(&sim, &params);
            assert_eq!(error(&answer), (400, "MissingParameter"), "{name}");
            assert_eq!(
                answer.1["Message"],
                format!(
                    "The input parameter \"{name}\" that is mandatory for processing this \
                     request is not supplied."
                )
            );
        }
        // An action parameter is checked the same way, once the call is authenticated.
        let mut params = create_params("room_1", "obs-1");
        params.remove("UserId");
        let answer = v2(&sim, CREATE, &params);
        assert_eq!(error(&answer), (400, "MissingParameter"));
        assert!(answer.1["Message"].as_str().unwrap().contains("\"UserId\""));

        for (header, shown) in V3_COMMON {
            let signer = Signer::default_key();
            let (query, mut headers) =
                v3_request(&sim, CREATE, &create_params("room_1", "obs-1"), &signer);
            headers.remove(header);
            let answer = send(&sim, &query, &headers);
            assert_eq!(error(&answer), (400, "MissingParameter"), "{header}");
            assert!(
                answer.1["Message"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("\"{shown}\"")),
                "{}",
                answer.1
            );
        }
        // The call without Action has no action to count.
        assert_eq!(
            sim.aliyun().create_calls(),
            V2_COMMON.len() - 1 + 1 + V3_COMMON.len()
        );
        assert!(sim.zego().requests().is_empty());
    }

    #[test]
    fn unknown_access_key_is_not_found() {
        let sim = start();
        let signer = Signer {
            key_id: "LTAI5tNobodyKnowsMe",
            ..Signer::default_key()
        };
        let params = v2_params(CREATE, &create_params("room_1", "obs-1"), &signer);
        let answer = send_v2(&sim, &params);
        assert_eq!(error(&answer), (404, "InvalidAccessKeyId.NotFound"));
        assert_eq!(answer.1["Message"], "Specified access key is not found.");

        let (query, headers) = v3_request(&sim, CREATE, &create_params("r", "u"), &signer);
        assert_eq!(
            error(&send(&sim, &query, &headers)),
            (404, "InvalidAccessKeyId.NotFound")
        );
    }

    #[test]
    fn timestamps_within_fifteen_minutes_pass() {
        let sim = start();
        let minutes = |m: i64| {
            let now = SystemTime::now();
            let skew = Duration::from_secs(m.unsigned_abs() * 60);
            if m < 0 {
                now - skew
            } else {
                now + skew
            }
        };
        for (skew, expected) in [(-14, 200), (14, 200), (-16, 400), (16, 400)] {
            let signer = || Signer {
                at: minutes(skew),
                ..Signer::default_key()
            };
            let params = v2_params(CREATE, &create_params("room_1", "obs-1"), &signer());
            let (status, body) = send_v2(&sim, &params);
            assert_eq!(status, expected, "v2 skew {skew} min: {body}");
            if expected == 400 {
                assert_eq!(body["Code"], "InvalidTimeStamp.Expired");
            }
            let (query, headers) =
                v3_request(&sim, CREATE, &create_params("room_1", "obs-1"), &signer());
            let (status, body) = send(&sim, &query, &headers);
            assert_eq!(status, expected, "v3 skew {skew} min: {body}");
            if expected == 400 {
                assert_eq!(body["Code"], "InvalidTimeStamp.Expired");
            }
        }

        let mut params = v2_params(CREATE, &create_params("r", "u"), &Signer::default_key());
        params.insert("Timestamp".to_owned(), "2024-05-01T08:00:00.5Z".to_owned());
        assert_eq!(
            error(&send_v2(&sim, &params)),
            (400, "InvalidTimeStamp.Format")
        );
    }

    #[test]
    fn clock_offset_moves_the_window() {
        let sim = start_with(SimConfig {
            clock_offset_secs: 20 * 60,
            ..SimConfig::default()
        });
        let answer = v2(&sim, CREATE, &create_params("room_1", "obs-1"));
        assert_eq!(error(&answer), (400, "InvalidTimeStamp.Expired"));
        let signer = Signer {
            at: SystemTime::now() + Duration::from_secs(20 * 60),
            ..Signer::default_key()
        };
        let params = v2_params(CREATE, &create_params("room_1", "obs-1"), &signer);
        assert_eq!(send_v2(&sim, &params).0, 200);
        let signer = Signer {
            nonce: random_hex_nonce(16),
            ..signer
        };
        let (query, headers) = v3_request(&sim, CREATE, &create_params("room_1", "obs-2"), &signer);
        assert_eq!(send(&sim, &query, &headers).0, 200);

        // The signed time is recorded as sent, whichever the scheme.
        let signed_at: Vec<String> = sim
            .aliyun()
            .requests()
            .into_iter()
            .map(|request| request.signed_at)
            .collect();
        assert_eq!(
            signed_at[1..],
            [params["Timestamp"].clone(), headers["x-acs-date"].clone()]
        );
        assert_eq!(signed_at[0].len(), "2024-01-01T00:00:00Z".len());
    }

    #[test]
    fn a_bad_signature_echoes_the_string_to_sign_without_secrets() {
        let sim = start();
        let signer = Signer {
            secret: OTHER_SECRET,
            ..Signer::default_key()
        };
        let params = v2_params(CREATE, &create_params("room_1", "obs-1"), &signer);
        let answer = send_v2(&sim, &params);
        assert_eq!(error(&answer), (400, "SignatureDoesNotMatch"));
        let message = answer.1["Message"].as_str().unwrap();
        let (sentence, string_to_sign) = message
            .split_once(" server string to sign is:")
            .expect("the string to sign is echoed");
        assert_eq!(
            sentence,
            "Specified signature is not matched with our calculation."
        );
        assert!(
            string_to_sign.starts_with(&format!(
                "GET&%2F&AccessKeyId%3D{KEY_ID}%26Action%3D{CREATE}"
            )),
            "{string_to_sign}"
        );
        for secret in [SECRET, OTHER_SECRET, params["Signature"].as_str()] {
            assert!(!message.contains(secret), "{message}");
            assert!(!message.contains(&percent::encode(secret)), "{message}");
        }

        let (query, headers) = v3_request(&sim, CREATE, &create_params("room_1", "obs-1"), &signer);
        let answer = send(&sim, &query, &headers);
        assert_eq!(error(&answer), (400, "SignatureDoesNotMatch"));

        // A parameter changed after signing is a mismatch too.
        let mut tampered = v2_params(
            CREATE,
            &create_params("room_1", "obs-1"),
            &Signer::default_key(),
        );
        tampered.insert("UserId".to_owned(), "obs-2".to_owned());
        assert_eq!(
            error(&send_v2(&sim, &tampered)),
            (400, "SignatureDoesNotMatch")
        );
        assert_eq!(sim.aliyun().requests()[2].code, "SignatureDoesNotMatch");
    }

    #[test]
    fn unsupported_signature_schemes_are_incomplete_signatures() {
        let sim = start();
        let (query, mut headers) = v3_request(
            &sim,
            CREATE,
            &create_params("room_1", "obs-1"),
            &Signer::default_key(),
        );
        let authorization =
            headers["authorization"].replacen("ACS3-HMAC-SHA256", "ACS3-HMAC-SM3", 1);
        headers.insert("authorization".to_owned(), authorization);
        let answer = send(&sim, &query, &headers);
        assert_eq!(error(&answer), (400, "IncompleteSignature"));
        assert_eq!(
            answer.1["Message"],
            "The request signature does not conform to Aliyun standards."
        );

        let mut params = v2_params(CREATE, &create_params("r", "u"), &Signer::default_key());
        params.insert("SignatureMethod".to_owned(), "HMAC-SHA256".to_owned());
        assert_eq!(error(&send_v2(&sim, &params)), (400, "IncompleteSignature"));
    }

    #[test]
    fn a_reused_nonce_is_refused_per_access_key() {
        let sim = start();
        let nonce = random_hex_nonce(16);
        let signer = Signer {
            nonce: nonce.clone(),
            ..Signer::default_key()
        };
        let params = v2_params(CREATE, &create_params("room_1", "obs-1"), &signer);
        assert_eq!(send_v2(&sim, &params).0, 200);
        let replay = send_v2(&sim, &params);
        assert_eq!(error(&replay), (400, "SignatureNonceUsed"));
        assert_eq!(
            replay.1["Message"],
            "Specified signature nonce was used already."
        );
        // The same nonce in a V3 call of the same account is a reuse too.
        let (query, headers) = v3_request(
            &sim,
            DESCRIBE,
            &map(&[("AppId", "a"), ("ChannelId", "c")]),
            &signer,
        );
        assert_eq!(
            error(&send(&sim, &query, &headers)),
            (400, "SignatureNonceUsed")
        );

        // Another account has its own nonces.
        let other = Signer {
            key_id: OTHER_KEY_ID,
            secret: OTHER_SECRET,
            nonce,
            at: SystemTime::now(),
        };
        let params = v2_params(CREATE, &create_params("room_1", "obs-1"), &other);
        assert_eq!(send_v2(&sim, &params).0, 200);

        // A forged request does not spend the nonce it carries.
        let fresh = random_hex_nonce(16);
        let forger = Signer {
            secret: OTHER_SECRET,
            nonce: fresh.clone(),
            ..Signer::default_key()
        };
        let forged = v2_params(CREATE, &create_params("r", "u"), &forger);
        assert_eq!(
            error(&send_v2(&sim, &forged)),
            (400, "SignatureDoesNotMatch")
        );
        let genuine = Signer {
            nonce: fresh,
            ..Signer::default_key()
        };
        let params = v2_params(CREATE, &create_params("r", "u"), &genuine);
        assert_eq!(send_v2(&sim, &params).0, 200);
    }

    #[test]
    fn the_account_limit_is_shared_by_its_actions() {
        let sim = start_with(SimConfig {
            aliyun_qps: 3,
            ..SimConfig::default()
        });
        let describe = map(&[("AppId", "app-1"), ("ChannelId", "room_1")]);
        // Signed ahead, so the calls fit well within one second.
        let queries: Vec<String> = [CREATE, DESCRIBE, CREATE, DESCRIBE]
            .iter()
            .map(|&action| {
                let params = if action == CREATE {
                    create_params("room_1", "obs-1")
                } else {
                    describe.clone()
                };
                percent::canonical_query(&v2_params(action, &params, &Signer::default_key()))
            })
            .collect();
        let other = Signer {
            key_id: OTHER_KEY_ID,
            secret: OTHER_SECRET,
            ..Signer::default_key()
        };
        let other_query = percent::canonical_query(&v2_params(DESCRIBE, &describe, &other));
        let started = Instant::now();
        let answers: Vec<(u16, Value)> = queries
            .iter()
            .map(|query| send(&sim, query, &BTreeMap::new()))
            .collect();
        let other_answer = send(&sim, &other_query, &BTreeMap::new());
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "5 loopback calls took {:?}: too slow to test a one-second window",
            started.elapsed()
        );
        for (i, (status, body)) in answers[..3].iter().enumerate() {
            assert_eq!(*status, 200, "call {i}: {body}");
        }
        assert_eq!(error(&answers[3]), (400, "Throttling.User"));
        assert_eq!(
            answers[3].1["Message"],
            "Request was denied due to user flow control."
        );
        assert_eq!(other_answer.0, 200, "another account is not throttled");
    }

    #[test]
    fn fail_next_injects_the_code_and_status_given() {
        let sim = start();
        let control = sim.aliyun();
        control.fail_next(CREATE, "Forbidden.RAM", 403, 2);
        control.fail_next(CREATE, "Vendor.Specific", 503, 1);

        // A call the gateway rejects does not spend an injected failure.
        let mut unsigned = v2_params(CREATE, &create_params("r", "u"), &Signer::default_key());
        unsigned.remove("Signature");
        assert_eq!(error(&send_v2(&sim, &unsigned)), (400, "MissingParameter"));
        // Other actions are unaffected.
        let describe = map(&[("AppId", "app-1"), ("ChannelId", "room_1")]);
        assert_eq!(v2(&sim, DESCRIBE, &describe).0, 200);

        let first = v2(&sim, CREATE, &create_params("r", "u"));
        assert_eq!(error(&first), (403, "Forbidden.RAM"));
        assert_eq!(
            first.1["Message"],
            "User not authorized to operate on the specified resource, or this API doesn't \
             support RAM."
        );
        assert_eq!(
            error(&v3(&sim, CREATE, &create_params("r", "u"))),
            (403, "Forbidden.RAM")
        );
        let third = v2(&sim, CREATE, &create_params("r", "u"));
        assert_eq!(error(&third), (503, "Vendor.Specific"));
        assert_eq!(
            third.1["Message"],
            "The request failed with Vendor.Specific."
        );
        assert_eq!(v2(&sim, CREATE, &create_params("r", "u")).0, 200);

        let codes: Vec<(u16, String)> = control
            .requests()
            .iter()
            .map(|request| (request.status, request.code.clone()))
            .collect();
        assert_eq!(
            codes,
            [
                (400, "MissingParameter".to_owned()),
                (200, String::new()),
                (403, "Forbidden.RAM".to_owned()),
                (403, "Forbidden.RAM".to_owned()),
                (503, "Vendor.Specific".to_owned()),
                (200, String::new()),
            ]
        );
        assert_eq!(control.create_calls(), 5);
    }

    #[test]
    #[should_panic(expected = "does not implement the action \"CreateRoomRealTimeStreamAdress\"")]
    fn fail_next_rejects_an_unknown_action() {
        start()
            .aliyun()
            .fail_next("CreateRoomRealTimeStreamAdress", "ServerError", 500, 1);
    }

    #[test]
    #[should_panic(expected = "HTTP 200 is not an error status")]
    fn fail_next_rejects_a_success_status() {
        start().aliyun().fail_next(CREATE, "ServerError", 200, 1);
    }

    #[test]
    fn unknown_actions_and_versions_are_refused() {
        let sim = start();
        let answer = v2(
            &sim,
            "DeleteChannel",
            &map(&[("AppId", "a"), ("ChannelId", "c")]),
        );
        assert_eq!(error(&answer), (404, "InvalidApi.NotFound"));
        assert_eq!(sim.aliyun().requests()[0].action, "DeleteChannel");
        assert_eq!(
            error(&v3(
                &sim,
                "createroomrealtimestreamaddress",
                &create_params("r", "u")
            )),
            (404, "InvalidApi.NotFound")
        );

        let mut params = v2_params(CREATE, &create_params("r", "u"), &Signer::default_key());
        params.insert("Version".to_owned(), "2014-11-11".to_owned());
        let answer = send_v2(&sim, &params);
        assert_eq!(error(&answer), (400, "InvalidVersion"));
        assert_eq!(
            answer.1["Message"],
            "Specified parameter Version is not valid."
        );
    }

    #[test]
    fn a_repeated_parameter_is_invalid() {
        let sim = start();
        let params = v2_params(CREATE, &create_params("r", "u"), &Signer::default_key());
        let query = format!("{}&UserId=other", percent::canonical_query(&params));
        assert_eq!(
            error(&send(&sim, &query, &BTreeMap::new())),
            (400, "InvalidParameter")
        );
        let recorded = &sim.aliyun().requests()[0];
        assert!(recorded.params.is_empty());
        assert_eq!(recorded.signature_version, "v2");
    }

    #[test]
    fn create_validates_its_parameters() {
        let sim = start();
        let longest_id = "a".repeat(64);
        let too_long_id = "a".repeat(65);
        let longest_name = "名".repeat(40);
        let too_long_name = "名".repeat(41);
        let cases: &[(&str, &str, u16)] = &[
            ("ChannelId", &longest_id, 200),
            ("ChannelId", &too_long_id, 400),
            ("AppId", &too_long_id, 400),
            ("UserId", "obs 1", 400),
            ("UserId", "obs.1", 400),
            ("UserId", "Az09_-", 200),
            ("DisplayName", &longest_name, 200),
            ("DisplayName", &too_long_name, 400),
            ("ExpireTime", "1", 200),
            ("ExpireTime", "0", 400),
            ("ExpireTime", "-5", 400),
            ("ExpireTime", "10h", 400),
            ("ExpireTime", "2147483648", 400),
        ];
        for &(name, value, expected) in cases {
            let mut params = create_params("room_1", "obs-1");
            params.insert(name.to_owned(), value.to_owned());
            let answer = v2(&sim, CREATE, &params);
            if expected == 200 {
                assert_eq!(answer.0, 200, "{name}={value}: {}", answer.1);
                continue;
            }
            assert_eq!(error(&answer), (400, "InputInvalid"), "{name}={value}");
            let message = answer.1["Message"].as_str().unwrap();
            assert!(
                message.starts_with(&format!("{name} is invalid: ")),
                "{message}"
            );
            assert!(message.ends_with('.'), "{message}");
        }
        let answer = v3(&sim, CREATE, &{
            let mut params = create_params("room_1", "obs-1");
            params.insert("ChannelId".to_owned(), too_long_id.clone());
            params
        });
        assert_eq!(error(&answer), (400, "InputInvalid"));
        assert_eq!(
            answer.1["Message"],
            "ChannelId is invalid: it can be up to 64 characters long and contain letters, \
             digits, underscores (_) and hyphens (-)."
        );
        let mut params = create_params("room_1", "obs-1");
        params.insert("DisplayName".to_owned(), too_long_name);
        assert_eq!(
            v2(&sim, CREATE, &params).1["Message"],
            "DisplayName is invalid: it can be up to 40 characters long."
        );
    }

    #[test]
    fn check_publish_refuses_tampered_and_expired_keys() {
        let sim = start();
        let control = sim.aliyun();
        let before = unix_now();
        let (name, key) = assert_created(
            &v2(&sim, CREATE, &create_params("room_1", "obs-1")),
            3600,
            before,
        );
        assert!(control.check_publish(&name, &key));

        let parts: Vec<&str> = key.split('-').collect();
        let flip = |text: &str| {
            let last = if text.ends_with('0') { "1" } else { "0" };
            format!("{}{last}", &text[..text.len() - 1])
        };
        let later: i64 = parts[0].parse::<i64>().unwrap() + 3600;
        let tampered = [
            format!("{}-{}-{}-{}", parts[0], parts[1], parts[2], flip(parts[3])),
            format!("{later}-{}-{}-{}", parts[1], parts[2], parts[3]),
            format!("{}-{}-{}-{}", parts[0], flip(parts[1]), parts[2], parts[3]),
            format!("{}-{}-1-{}", parts[0], parts[1], parts[3]),
            format!("{}-{}-{}", parts[0], parts[1], parts[3]),
            parts[3].to_owned(),
            String::new(),
            key.to_ascii_uppercase(),
        ];
        for bad in &tampered {
            assert!(!control.check_publish(&name, bad), "{bad}");
        }
        assert!(!control.check_publish("app-1.room_1.obs-2", &key));
        assert!(!control.check_publish(&format!("{name}x"), &key));

        // Valid until the second it expires, on the simulator's clock.
        let expiry = UNIX_EPOCH + Duration::from_secs(parts[0].parse().unwrap());
        assert!(control.check_publish_at(&name, &key, expiry - Duration::from_secs(1)));
        assert!(!control.check_publish_at(&name, &key, expiry));
        assert!(!control.check_publish_at(&name, &key, expiry + Duration::from_secs(3600)));

        // A new address for the same user does not revoke the old one (no revoke API).
        let (again, new_key) = assert_created(
            &v3(&sim, CREATE, &create_params("room_1", "obs-1")),
            3600,
            before,
        );
        assert_eq!(again, name);
        assert_ne!(new_key, key);
        assert!(control.check_publish(&name, &new_key));
        assert!(control.check_publish(&name, &key));

        // Keys are signed with a private key of each simulator.
        assert!(!start().aliyun().check_publish(&name, &key));
    }

    #[test]
    fn participants_follow_publishing() {
        let sim = start();
        let control = sim.aliyun();
        let describe = |params: &[(&str, &str)]| {
            let mut all = map(&[("AppId", "app-1"), ("ChannelId", "room_1")]);
            all.extend(map(params));
            let (status, body) = v2(&sim, DESCRIBE, &all);
            assert_eq!(status, 200, "{body}");
            body
        };
        let users = |body: &Value| -> Vec<String> {
            body["UserList"]
                .as_array()
                .expect("UserList is an array")
                .iter()
                .map(|user| user.as_str().expect("a user id").to_owned())
                .collect()
        };

        let before = unix_now();
        let empty = describe(&[]);
        let fields: Vec<&String> = empty.as_object().unwrap().keys().collect();
        assert_eq!(
            fields,
            ["RequestId", "Times", "TotalNum", "TotalPage", "UserList"]
        );
        assert_request_id(&empty["RequestId"]);
        let times = empty["Times"].as_i64().expect("Times is Unix seconds");
        assert!((before..=unix_now()).contains(&times), "{times}");
        assert_eq!(
            (&empty["TotalNum"], &empty["TotalPage"]),
            (&json!(0), &json!(0))
        );
        assert!(users(&empty).is_empty());

        let address = |user: &str| {
            let (name, _) = assert_created(
                &v2(&sim, CREATE, &create_params("room_1", user)),
                3600,
                before,
            );
            name
        };
        let obs_1 = address("obs-1");
        let obs_2 = address("obs-2");
        // Issued but not published: not in the channel yet.
        assert!(users(&describe(&[])).is_empty());

        control.set_publishing(&obs_1, true);
        assert_eq!(users(&describe(&[])), ["obs-1"]);
        control.add_participant("app-1", "room_1", "viewer-9");
        control.add_participant("app-1", "room_2", "elsewhere");
        control.add_participant("app-2", "room_1", "other-app");
        control.set_publishing(&obs_2, true);
        // Publishing again, adding again, or an event for a name never issued changes nothing.
        control.set_publishing(&obs_1, true);
        control.add_participant("app-1", "room_1", "viewer-9");
        control.set_publishing("app-1.room_1.ghost", true);

        let all = describe(&[]);
        assert_eq!(
            users(&all),
            ["obs-2", "viewer-9", "obs-1"],
            "latest first by default"
        );
        assert_eq!(
            (&all["TotalNum"], &all["TotalPage"]),
            (&json!(3), &json!(1))
        );
        assert_eq!(
            users(&describe(&[("Order", "asc")])),
            ["obs-1", "viewer-9", "obs-2"]
        );
        let page_2 = describe(&[("Order", "asc"), ("PageSize", "2"), ("PageNum", "2")]);
        assert_eq!(users(&page_2), ["obs-2"]);
        assert_eq!(
            (&page_2["TotalNum"], &page_2["TotalPage"]),
            (&json!(3), &json!(2))
        );
        assert!(users(&describe(&[("PageNum", "3"), ("PageSize", "2")])).is_empty());

        control.set_publishing(&obs_1, false);
        assert_eq!(users(&describe(&[("Order", "asc")])), ["viewer-9", "obs-2"]);
        // Publishing again joins anew, so the user is now the latest.
        control.set_publishing(&obs_1, true);
        assert_eq!(users(&describe(&[])), ["obs-1", "obs-2", "viewer-9"]);
        // A user both publishing and added by the harness is listed once.
        control.add_participant("app-1", "room_1", "obs-2");
        let all = describe(&[]);
        assert_eq!(users(&all), ["obs-1", "obs-2", "viewer-9"]);
        assert_eq!(all["TotalNum"], 3);

        for (name, value) in [
            ("PageSize", "101"),
            ("PageSize", "0"),
            ("PageNum", "0"),
            ("Order", "ASC"),
        ] {
            let mut params = map(&[("AppId", "app-1"), ("ChannelId", "room_1")]);
            params.insert(name.to_owned(), value.to_owned());
            let answer = v3(&sim, DESCRIBE, &params);
            assert_eq!(error(&answer), (400, "InputInvalid"), "{name}={value}");
        }
        let answer = v2(&sim, DESCRIBE, &map(&[("AppId", "app-1")]));
        assert_eq!(error(&answer), (400, "MissingParameter"));
    }

    #[test]
    fn latency_delays_the_answers() {
        let sim = start_with(SimConfig {
            latency: Duration::from_millis(300),
            ..SimConfig::default()
        });
        let started = Instant::now();
        assert_eq!(
            v2(&sim, DESCRIBE, &map(&[("AppId", "a"), ("ChannelId", "c")])).0,
            200
        );
        assert!(started.elapsed() >= Duration::from_millis(300));

        sim.aliyun().set_latency(Duration::ZERO);
        let started = Instant::now();
        v2(&sim, DESCRIBE, &map(&[("AppId", "a"), ("ChannelId", "c")]));
        assert!(started.elapsed() < Duration::from_millis(300));
    }

    #[test]
    fn nonces_are_forgotten_after_fifteen_minutes() {
        let mut log = NonceLog::default();
        let t0 = Instant::now();
        assert!(log.use_once("key", "n1", t0));
        assert!(!log.use_once("key", "n1", t0 + NONCE_WINDOW - Duration::from_secs(1)));
        assert!(log.use_once("other", "n1", t0));
        assert!(log.use_once("key", "n1", t0 + NONCE_WINDOW));
    }

    #[test]
    fn routing_tells_alibaba_requests_apart() {
        let none = BTreeMap::new();
        assert!(is_aliyun_request("AccessKeyId=x", &none));
        assert!(is_aliyun_request("a=1&SignatureMethod=HMAC-SHA1", &none));
        assert!(is_aliyun_request("Access%4BeyId=x", &none));
        assert!(!is_aliyun_request(
            "Action=RTMPDispatchV2&AppId=1&SignatureNonce=ab&SignatureVersion=2.0",
            &none
        ));
        assert!(!is_aliyun_request("", &none));
        let v3_headers = map(&[("x-acs-action", "DescribeChannelParticipants")]);
        assert!(is_aliyun_request("", &v3_headers));
    }
}
