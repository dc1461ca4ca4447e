//! The simulated ZEGOCLOUD server API (`GET https://rtc-api.zego.im/?Action=...`).
//!
//! Faithful to the vendor pages (seeds 000-002) and `shared/reference/cloud-apis.md`: the gateway
//! checks and codes, `RTMPDispatchV2`, `CreatCDNTransferRule` / `DeleteCDNTransferRule` and
//! `DescribeRTCStreamState`, with their per-AppId rate limits. Where the documentation leaves a
//! behaviour open, the choice made here is stated next to the code that makes it.
//!
//! Every answer is HTTP 200 with `{"Code", "Message", "RequestId", "Data"}`; the HTTP layer lives
//! in the parent module, this one only turns a query string into an answer.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{json, Value};

use super::rate_limit::RateLimiter;
use super::{SimConfig, ZegoApp};
use crate::verify::signatures_match;
use rtc_golive_core::signing::zego::sign;

/// The documented tolerance between a request's `Timestamp` and the server clock (±10 minutes).
const MAX_CLOCK_SKEW_SECS: u64 = 600;
/// CDN rules: "for one StreamId, Sequence strictly increasing over any 10 seconds".
const SEQUENCE_WINDOW: Duration = Duration::from_secs(10);
const MAX_STREAM_ID_LEN: usize = 256;

/// A documented return code with the message the simulator answers for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Code {
    value: i64,
    message: &'static str,
}

/// The return codes of the vendor pages, messages paraphrased from them.
mod codes {
    use super::Code;

    const fn code(value: i64, message: &'static str) -> Code {
        Code { value, message }
    }

    // "ok" is the Message of every success sample in the docs.
    pub(super) const OK: Code = code(0, "ok");

    pub(super) const APP_ID_FORMAT: Code = code(100000001, "AppId field format error");
    pub(super) const TIMESTAMP_EMPTY: Code = code(100000002, "Timestamp field is empty");
    pub(super) const TIMESTAMP_FORMAT: Code = code(100000003, "Timestamp field format error");
    pub(super) const SIGNATURE_EXPIRED: Code = code(100000004, "Signature expired");
    pub(super) const SIGNATURE_ERROR: Code = code(100000005, "Signature error");
    pub(super) const ACTION_EMPTY: Code = code(100000006, "Action is empty");
    pub(super) const ACTION_UNSUPPORTED: Code = code(100000007, "Unsupported Action");
    pub(super) const NONCE_EMPTY: Code = code(100000008, "SignatureNonce field is empty");
    pub(super) const SIGNATURE_EMPTY: Code = code(100000009, "Signature field is empty");
    pub(super) const SIGNATURE_VERSION_EMPTY: Code =
        code(100000013, "SignatureVersion field is empty");
    pub(super) const SIGNATURE_VERSION_UNSUPPORTED: Code =
        code(100000014, "Unsupported SignatureVersion");
    pub(super) const GATEWAY_INTERNAL: Code = code(100000015, "Gateway internal error");
    pub(super) const NOT_PRODUCTION: Code = code(
        100000016,
        "App is not configured for production environment (check IsTest)",
    );
    pub(super) const SERVICE_NOT_ENABLED: Code =
        code(100000017, "App has not enabled this service");

    pub(super) const DISPATCH_FAILED: Code = code(1001, "Dispatch failed");
    pub(super) const PUSH_NODE_EMPTY: Code = code(1002, "Publishing node is empty");
    pub(super) const PULL_NODE_EMPTY: Code = code(1003, "Playing node is empty");
    pub(super) const APP_NOT_ONLINE: Code = code(1005, "App is not online");
    pub(super) const INVALID_PARAMETER: Code = code(1006, "Invalid parameter");
    pub(super) const DISPATCH_RATE: Code = code(1010, "API call rate too high");
    pub(super) const CDN_URL_INVALID_ALT: Code = code(30001, "Invalid CDN address");
    pub(super) const RATE_TOO_HIGH: Code = code(30002, "API call rate too high");
    pub(super) const INTERNAL: Code = code(30003, "Internal error");
    pub(super) const IS_TEST_INCORRECT: Code = code(30004, "Incorrect isTest parameter");
    pub(super) const APP_ID_INVALID: Code = code(30005, "Invalid AppId");
    pub(super) const STREAM_ID_INVALID: Code = code(
        30009,
        "Invalid StreamId, stream name does not conform to specifications",
    );
    pub(super) const TYPE_INVALID: Code = code(30010, "Invalid dispatch action");
    pub(super) const CLIENT_IP_INVALID: Code = code(30011, "Invalid client IP address");

    pub(super) const CDN_INTERNAL_5000: Code = code(5000, "Internal error");
    pub(super) const CDN_INTERNAL_5001: Code = code(5001, "Internal error");
    pub(super) const CDN_INTERNAL_5002: Code = code(5002, "Internal error");
    pub(super) const CDN_AUTH_FAILED: Code = code(5003, "Authentication failed");
    pub(super) const CDN_URL_INVALID: Code = code(5004, "Invalid CDN address");
    pub(super) const CDN_INVALID_REQUEST: Code = code(5005, "Invalid request");
    pub(super) const CDN_INTERNAL_5006: Code = code(5006, "Internal error");
    pub(super) const CDN_RATE: Code = code(5007, "API call frequency is too high");

    // The DescribeRTCStreamState codes; the reference names them but quotes no message.
    pub(super) const STREAM_NOT_FOUND: Code = code(41004, "Stream does not exist");
    pub(super) const STREAM_CLOSED: Code = code(41006, "Stream is closed");

    /// Every code [`super::ZegoControl::fail_next`] may inject.
    pub(super) const DOCUMENTED: &[Code] = &[
        APP_ID_FORMAT,
        TIMESTAMP_EMPTY,
        TIMESTAMP_FORMAT,
        SIGNATURE_EXPIRED,
        SIGNATURE_ERROR,
        ACTION_EMPTY,
        ACTION_UNSUPPORTED,
        NONCE_EMPTY,
        SIGNATURE_EMPTY,
        SIGNATURE_VERSION_EMPTY,
        SIGNATURE_VERSION_UNSUPPORTED,
        GATEWAY_INTERNAL,
        NOT_PRODUCTION,
        SERVICE_NOT_ENABLED,
        DISPATCH_FAILED,
        PUSH_NODE_EMPTY,
        PULL_NODE_EMPTY,
        APP_NOT_ONLINE,
        INVALID_PARAMETER,
        DISPATCH_RATE,
        CDN_URL_INVALID_ALT,
        RATE_TOO_HIGH,
        INTERNAL,
        IS_TEST_INCORRECT,
        APP_ID_INVALID,
        STREAM_ID_INVALID,
        TYPE_INVALID,
        CLIENT_IP_INVALID,
        CDN_INTERNAL_5000,
        CDN_INTERNAL_5001,
        CDN_INTERNAL_5002,
        CDN_AUTH_FAILED,
        CDN_URL_INVALID,
        CDN_INVALID_REQUEST,
        CDN_INTERNAL_5006,
        CDN_RATE,
        STREAM_NOT_FOUND,
        STREAM_CLOSED,
    ];
}

/// The actions the simulator implements; any other `Action` gets 100000007.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Action {
    RtmpDispatch,
    CreateCdnRule,
    DeleteCdnRule,
    DescribeStreamState,
}

impl Action {
    const ALL: [Action; 4] = [
        Action::RtmpDispatch,
        Action::CreateCdnRule,
        Action::DeleteCdnRule,
        Action::DescribeStreamState,
    ];

    fn name(self) -> &'static str {
        match self {
            Action::RtmpDispatch => "RTMPDispatchV2",
            // The missing "e" is ZEGO's spelling, not a typo here.
            Action::CreateCdnRule => "CreatCDNTransferRule",
            Action::DeleteCdnRule => "DeleteCDNTransferRule",
            Action::DescribeStreamState => "DescribeRTCStreamState",
        }
    }

    fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|action| action.name() == name)
    }

    /// The documented per-AppId limit and the code answered above it.
    ///
    /// Each action is limited on its own (the pages give one limit per API). The delete page is
    /// not among the seeds; it is given the create page's limit. For DescribeRTCStreamState the
    /// docs name no rate code, so it answers the generic 30002.
    fn rate_limit(self, dispatch_qps: u32, test_env: bool) -> (u32, Code) {
        match self {
            Action::RtmpDispatch => (dispatch_qps, codes::DISPATCH_RATE),
            Action::CreateCdnRule | Action::DeleteCdnRule => {
                (if test_env { 5 } else { 10 }, codes::CDN_RATE)
            }
            Action::DescribeStreamState => (if test_env { 10 } else { 40 }, codes::RATE_TOO_HIGH),
        }
    }
}

/// One request the simulator received, as the test harness sees it.
#[derive(Clone)]
pub struct RecordedRequest {
    /// The `Action` parameter as sent (empty when missing).
    pub action: String,
    /// The whole decoded query, common parameters included.
    pub params: BTreeMap<String, String>,
    /// The `Code` the simulator answered.
    pub code: i64,
    /// When the request arrived, on the real clock (without `clock_offset_secs`).
    pub at: SystemTime,
}

impl fmt::Debug for RecordedRequest {
    /// Redacts `Signature`, so a failing assertion never prints one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params: BTreeMap<&str, &str> = self
            .params
            .iter()
            .map(|(name, value)| {
                let shown = if name == "Signature" {
                    "<redacted>"
                } else {
                    value.as_str()
                };
                (name.as_str(), shown)
            })
            .collect();
        f.debug_struct("RecordedRequest")
            .field("action", &self.action)
            .field("params", &params)
            .field("code", &self.code)
            .field("at", &self.at)
            .finish()
    }
}

/// A cheap, clonable handle on the simulated ZEGOCLOUD service: changes its behaviour at run time
/// and reads what it received. All clones share one state.
#[derive(Clone)]
pub struct ZegoControl {
    inner: Arc<Service>,
}

/// The answer to one query, ready for the HTTP layer.
pub(crate) struct ZegoReply {
    /// The JSON document to send with HTTP 200.
    pub(crate) body: String,
    /// How long to hold the answer back (the configured latency).
    pub(crate) latency: Duration,
}

struct Service {
    apps: HashMap<u32, ZegoApp>,
    clock_offset_secs: i64,
    dispatch_qps: u32,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    nodes: Vec<String>,
    latency: Duration,
    injected: HashMap<Action, VecDeque<Code>>,
    requests: Vec<RecordedRequest>,
    limiter: RateLimiter<(u32, Action)>,
    cdn: BTreeMap<(u32, String), CdnStream>,
    streams: HashMap<String, StreamLife>,
}

/// The CDN relays of one (AppId, StreamId) and the last accepted Sequence for the ordering rule.
#[derive(Default)]
struct CdnStream {
    rules: Vec<String>,
    last_sequence: Option<(Instant, i64)>,
}

struct StreamLife {
    created: SystemTime,
    closed: bool,
    /// The RTMP application URL it is published to (`rtmp://host:port/app`), when known.
    node: Option<String>,
}

type Params = BTreeMap<String, String>;

/// An authenticated request: the rest of the pipeline only runs for these.
struct Caller<'a> {
    app: &'a ZegoApp,
    action: Action,
}

impl ZegoControl {
    pub(crate) fn new(config: &SimConfig) -> ZegoControl {
        let apps = config
            .zego_apps
            .iter()
            .map(|app| (app.app_id, app.clone()))
            .collect();
        let state = State {
            nodes: config.zego_nodes.clone(),
            latency: config.latency,
            ..State::default()
        };
        ZegoControl {
            inner: Arc::new(Service {
                apps,
                clock_offset_secs: config.clock_offset_secs,
                dispatch_qps: config.zego_dispatch_qps,
                state: Mutex::new(state),
            }),
        }
    }

    /// Replaces the RTMP URL prefixes dispatch answers with, e.g. `rtmp://127.0.0.1:1935/live`:
    /// `RTMPDispatchV2` then answers `Data = ["{prefix}/{StreamId}", ...]` in this order. An empty
    /// list makes dispatch answer 1002 (push) / 1003 (pull).
    pub fn set_nodes(&self, nodes: Vec<String>) {
        self.state().nodes = nodes;
    }

    /// Sets the delay added before every answer (the request is processed on arrival, so a
    /// client that times out may still have changed state, as with the real service).
    pub fn set_latency(&self, latency: Duration) {
        self.state().latency = latency;
    }

    /// Makes the next `times` authenticated calls of `action` answer `code` with its documented
    /// message. Calls queue up: a second `fail_next` for the same action applies after the first.
    ///
    /// The injected answer replaces the action itself (no state changes), but only once the call
    /// passed the gateway and the rate limit, so an injected failure is never spent on a request
    /// that would have failed anyway.
    ///
    /// # Panics
    ///
    /// If `action` is not one the simulator implements or `code` is not a documented ZEGOCLOUD
    /// code: a typo in a test must not silently inject nothing.
    pub fn fail_next(&self, action: &str, code: i64, times: usize) {
        let action = Action::parse(action).unwrap_or_else(|| {
            panic!("fail_next: the simulator does not implement the action {action:?}")
        });
        let code = *codes::DOCUMENTED
            .iter()
            .find(|documented| documented.value == code)
            .unwrap_or_else(|| panic!("fail_next: {code} is not a documented ZEGOCLOUD code"));
        self.state()
            .injected
            .entry(action)
            .or_default()
            .extend(std::iter::repeat_n(code, times));
    }

    /// Every request received on the API path, in order of arrival, including the rejected ones.
    #[must_use]
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// Forgets the recorded requests (behaviour and state are kept).
    pub fn clear_requests(&self) {
        self.state().requests.clear();
    }

    /// The CDN URLs currently relayed for `stream_id`, in creation order.
    ///
    /// The real API has no way to list rules; this exists for the tests. Rules are kept per
    /// (AppId, StreamId); this lists the stream's rules under every configured app.
    #[must_use]
    pub fn cdn_rules(&self, stream_id: &str) -> Vec<String> {
        self.state()
            .cdn
            .iter()
            .filter(|((_, id), _)| id == stream_id)
            .flat_map(|(_, stream)| stream.rules.iter().cloned())
            .collect()
    }

    /// Marks `stream_id` as being published (`live`) or as stopped, for `DescribeRTCStreamState`
    /// and pull dispatch.
    ///
    /// The test harness wires this to the RTMP server's publish events. Going live again after a
    /// close starts a new stream (new `create_time`); marking a never-seen stream as stopped is
    /// ignored, so it keeps answering 41004. Stream ids are global to the simulator, not per app,
    /// because the RTMP server only knows the stream key.
    pub fn set_stream_live(&self, stream_id: &str, live: bool) {
        self.set_stream_live_at(stream_id, live, None);
    }

    /// [`Self::set_stream_live`], knowing where the stream is published: `node` is the RTMP
    /// application URL (`rtmp://host:port/app`, the publisher's `tcUrl`). Pull dispatch then
    /// answers that node, as ZEGOCLOUD plays a stream from where it is.
    pub fn set_stream_live_at(&self, stream_id: &str, live: bool, node: Option<&str>) {
        let fresh = || StreamLife {
            created: SystemTime::now(),
            closed: false,
            node: node.map(str::to_owned),
        };
        let mut state = self.state();
        match (state.streams.get_mut(stream_id), live) {
            (Some(life), true) if life.closed => *life = fresh(),
            (Some(life), true) => {
                if node.is_some() {
                    life.node = node.map(str::to_owned);
                }
            }
            (Some(life), false) => life.closed = true,
            (None, true) => {
                state.streams.insert(stream_id.to_owned(), fresh());
            }
            // Stopping a stream never seen.
            (None, false) => {}
        }
    }

    /// Answers one API query (the part of the URL after `?`) at the current time.
    pub(crate) fn handle(&self, query: &str) -> ZegoReply {
        self.handle_at(query, SystemTime::now(), Instant::now())
    }

    /// [`Self::handle`] at a given wall-clock time (signature window, `at`) and monotonic time
    /// (rate limits, Sequence window), so the tests need no sleeping.
    fn handle_at(&self, query: &str, wall: SystemTime, mono: Instant) -> ZegoReply {
        let params = parse_query(query);
        let mut state = self.state();
        let (code, data) = self.answer(&mut state, &params, wall, mono);
        // Only names and outcomes are logged: never the Signature (nor, of course, the secret).
        log::info!(
            "zego sim: {} AppId={} StreamId={} -> {} {}",
            param(&params, "Action"),
            param(&params, "AppId"),
            param(&params, "StreamId"),
            code.value,
            code.message
        );
        state.requests.push(RecordedRequest {
            action: param(&params, "Action").to_owned(),
            params,
            code: code.value,
            at: wall,
        });
        let latency = state.latency;
        drop(state);
        ZegoReply {
            body: render(code, data),
            latency,
        }
    }

    fn answer(
        &self,
        state: &mut State,
        params: &Params,
        wall: SystemTime,
        mono: Instant,
    ) -> (Code, Value) {
        let caller = match self.authenticate(params, wall) {
            Ok(caller) => caller,
            Err(code) => return (code, Value::Null),
        };
        let service = &self.inner;
        let (limit, limited) = caller
            .action
            .rate_limit(service.dispatch_qps, caller.app.test_env);
        if !state
            .limiter
            .admit((caller.app.app_id, caller.action), limit, mono)
        {
            return (limited, Value::Null);
        }
        if let Some(code) = state
            .injected
            .get_mut(&caller.action)
            .and_then(VecDeque::pop_front)
        {
            return (code, Value::Null);
        }
        let outcome = match caller.action {
            Action::RtmpDispatch => dispatch(state, caller.app, params),
            Action::CreateCdnRule => cdn_rule(state, caller.app, params, mono, RuleChange::Create),
            Action::DeleteCdnRule => cdn_rule(state, caller.app, params, mono, RuleChange::Delete),
            Action::DescribeStreamState => describe(state, caller.app, params),
        };
        outcome.unwrap_or_else(|code| (code, Value::Null))
    }

    /// The gateway, in the order its checks are documented to apply.
    fn authenticate(&self, params: &Params, wall: SystemTime) -> Result<Caller<'_>, Code> {
        let action = match param(params, "Action") {
            "" => return Err(codes::ACTION_EMPTY),
            name => Action::parse(name).ok_or(codes::ACTION_UNSUPPORTED)?,
        };
        let app_id: u32 = param(params, "AppId")
            .parse()
            .map_err(|_| codes::APP_ID_FORMAT)?;
        let timestamp: i64 = match param(params, "Timestamp") {
            "" => return Err(codes::TIMESTAMP_EMPTY),
            text => text.parse().map_err(|_| codes::TIMESTAMP_FORMAT)?,
        };
        let nonce = param(params, "SignatureNonce");
        if nonce.is_empty() {
            return Err(codes::NONCE_EMPTY);
        }
        let signature = param(params, "Signature");
        if signature.is_empty() {
            return Err(codes::SIGNATURE_EMPTY);
        }
        match param(params, "SignatureVersion") {
            "" => return Err(codes::SIGNATURE_VERSION_EMPTY),
            "2.0" => {}
            _ => return Err(codes::SIGNATURE_VERSION_UNSUPPORTED),
        }
        let server_now = unix_secs(wall) + self.inner.clock_offset_secs;
        if timestamp.abs_diff(server_now) > MAX_CLOCK_SKEW_SECS {
            return Err(codes::SIGNATURE_EXPIRED);
        }
        let app = self.inner.apps.get(&app_id).ok_or(codes::SIGNATURE_ERROR)?;
        // The docs define the nonce as 16 hex characters (8 random bytes) but name no code for a
        // malformed one; 100000008 means "empty". A malformed nonce is a malformed signature input,
        // so it is answered like a wrong signature, 100000005.
        let nonce_well_formed = nonce.len() == 16 && nonce.bytes().all(|b| b.is_ascii_hexdigit());
        let expected = sign(app_id, nonce, &app.server_secret, timestamp);
        if !nonce_well_formed || !signatures_match(&expected, signature) {
            return Err(codes::SIGNATURE_ERROR);
        }
        check_environment(app, param(params, "IsTest"))?;
        Ok(Caller { app, action })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panics while holding the lock must not turn every later call into a panic.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// IsTest against the app's environment. Only exactly `true`/`false` (or absent) is accepted.
///
/// A test-environment app called without `IsTest=true` is being called in production, where it
/// does not exist: 100000016. A production app called with `IsTest=true`: 30004.
fn check_environment(app: &ZegoApp, is_test: &str) -> Result<(), Code> {
    match (is_test, app.test_env) {
        ("true", true) | ("" | "false", false) => Ok(()),
        ("" | "false", true) => Err(codes::NOT_PRODUCTION),
        _ => Err(codes::IS_TEST_INCORRECT),
    }
}

/// `RTMPDispatchV2`: StreamId, Sequence, Type, optional ClientIP.
fn dispatch(state: &State, app: &ZegoApp, params: &Params) -> Result<(Code, Value), Code> {
    let stream_id = stream_id(app, params)?;
    sequence(params).ok_or(codes::INVALID_PARAMETER)?;
    let push = match param(params, "Type") {
        "push" => true,
        "pull" => false,
        _ => return Err(codes::TYPE_INVALID),
    };
    // An empty ClientIP is the optional parameter left out, not an invalid address.
    let client_ip = param(params, "ClientIP");
    if !client_ip.is_empty() && client_ip.parse::<Ipv4Addr>().is_err() {
        return Err(codes::CLIENT_IP_INVALID);
    }
    // Pull: only a stream being published can be played, from the node it is published to
    // when known. For a stream nobody publishes the page documents no code of its own; 1003
    // ("Playing node is empty") is the documented answer for "nothing to play from".
    let nodes = if push {
        state.nodes.clone()
    } else {
        match state.streams.get(stream_id) {
            Some(life) if !life.closed => match &life.node {
                Some(node) => vec![node.clone()],
                None => state.nodes.clone(),
            },
            _ => Vec::new(),
        }
    };
    if nodes.is_empty() {
        return Err(if push {
            codes::PUSH_NODE_EMPTY
        } else {
            codes::PULL_NODE_EMPTY
        });
    }
    let urls: Vec<String> = nodes
        .iter()
        .map(|prefix| format!("{}/{stream_id}", prefix.trim_end_matches('/')))
        .collect();
    Ok((codes::OK, json!(urls)))
}

#[derive(Clone, Copy)]
enum RuleChange {
    Create,
    Delete,
}

/// `CreatCDNTransferRule` / `DeleteCDNTransferRule`: StreamId, CDNUrl, Sequence. `Data` is null.
///
/// A rule is identified by its URL without the query string, because the docs say a delete must
/// match the created URL but "query parameters may differ" (e.g. a refreshed CDN auth token).
/// Creating a rule that exists answers 0 and stores the newest URL; deleting a rule that does not
/// exist also answers 0 (the docs name no code for it, and a client retrying a delete whose answer
/// it lost must not see a failure).
fn cdn_rule(
    state: &mut State,
    app: &ZegoApp,
    params: &Params,
    now: Instant,
    change: RuleChange,
) -> Result<(Code, Value), Code> {
    let stream_id = stream_id(app, params)?;
    let url = param(params, "CDNUrl");
    if !is_rtmp_url(url) {
        return Err(codes::CDN_URL_INVALID);
    }
    // Sequence is documented as a String that must increase, so it must be a number; the docs name
    // no code for an out-of-order or malformed one, 5005 "Invalid request" is the closest.
    let sequence = sequence(params).ok_or(codes::CDN_INVALID_REQUEST)?;
    let stream = state
        .cdn
        .entry((app.app_id, stream_id.to_owned()))
        .or_default();
    // Accepted sequences within the window are strictly increasing, so the last accepted one is
    // their maximum: comparing with it alone enforces the rule.
    if let Some((at, last)) = stream.last_sequence {
        if now.saturating_duration_since(at) < SEQUENCE_WINDOW && sequence <= last {
            return Err(codes::CDN_INVALID_REQUEST);
        }
    }
    stream.last_sequence = Some((now, sequence));
    let identity = rule_identity(url);
    let existing = stream
        .rules
        .iter()
        .position(|rule| rule_identity(rule) == identity);
    match (change, existing) {
        (RuleChange::Create, Some(index)) => stream.rules[index] = url.to_owned(),
        (RuleChange::Create, None) => stream.rules.push(url.to_owned()),
        (RuleChange::Delete, Some(index)) => {
            stream.rules.remove(index);
        }
        (RuleChange::Delete, None) => {}
    }
    Ok((codes::OK, Value::Null))
}

/// `DescribeRTCStreamState`: StreamId, Sequence.
///
/// `create_time` is Unix seconds as a string, the format of ZEGO's stream-created callback; the
/// API page's own sample is not in the reference. The docs name no code for a malformed StreamId
/// or Sequence here; they get 30009 and 1006 as in dispatch.
fn describe(state: &State, app: &ZegoApp, params: &Params) -> Result<(Code, Value), Code> {
    let stream_id = stream_id(app, params)?;
    sequence(params).ok_or(codes::INVALID_PARAMETER)?;
    match state.streams.get(stream_id) {
        None => Err(codes::STREAM_NOT_FOUND),
        Some(life) if life.closed => Err(codes::STREAM_CLOSED),
        Some(life) => Ok((
            codes::OK,
            json!({ "create_time": unix_secs(life.created).to_string(), "close_time": "" }),
        )),
    }
}

/// StreamId: 1..=256 of `[0-9A-Za-z_-]`, prefixed `zegotest-<AppId>-` in the test environment.
fn stream_id<'p>(app: &ZegoApp, params: &'p Params) -> Result<&'p str, Code> {
    let id = param(params, "StreamId");
    let well_formed = (1..=MAX_STREAM_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let in_environment = !app.test_env || id.starts_with(&format!("zegotest-{}-", app.app_id));
    if well_formed && in_environment {
        Ok(id)
    } else {
        Err(codes::STREAM_ID_INVALID)
    }
}

fn sequence(params: &Params) -> Option<i64> {
    param(params, "Sequence").parse().ok()
}

/// `rtmp://host...` or `rtmps://host...` (scheme in any case), with a non-empty host.
fn is_rtmp_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("rtmp://")
        .or_else(|| lower.strip_prefix("rtmps://"))
    else {
        return false;
    };
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    !host.is_empty() && !url.chars().any(char::is_whitespace)
}

fn rule_identity(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// A parameter's value, empty when absent: the gateway treats both the same ("field is empty").
fn param<'p>(params: &'p Params, name: &str) -> &'p str {
    params.get(name).map_or("", String::as_str)
}

/// Decodes `a=1&b=%2F` like a form: `+` is a space, and the first occurrence of a name wins.
fn parse_query(query: &str) -> Params {
    let mut params = Params::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        params.entry(decode(name)).or_insert_with(|| decode(value));
    }
    params
}

fn decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

fn unix_secs(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Envelope {
    code: i64,
    message: &'static str,
    request_id: String,
    data: Value,
}

fn render(code: Code, data: Value) -> String {
    let envelope = Envelope {
        code: code.value,
        message: code.message,
        request_id: next_request_id(),
        data,
    };
    serde_json::to_string(&envelope).expect("a JSON value always serializes")
}

/// A unique 19-digit RequestId, like the docs' samples (`5094436160208407316`).
///
/// Sequential from a time-derived start, so ids differ between simulator runs (as the real
/// service's do) yet never repeat within one; the start leaves 10^18 ids of room below 10^19.
fn next_request_id() -> String {
    const FIRST_19_DIGITS: u64 = 1_000_000_000_000_000_000;
    static NEXT: LazyLock<AtomicU64> = LazyLock::new(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        // Lossless: the remainder is below 8 * 10^18.
        let offset = (nanos % u128::from(8 * FIRST_19_DIGITS)) as u64;
        AtomicU64::new(FIRST_19_DIGITS + offset)
    });
    NEXT.fetch_add(1, Ordering::Relaxed).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{
        apps, query, remove, set, signed_with, APP_ID, SECRET, TEST_APP_ID, TEST_SECRET,
    };

    /// The simulator's wall clock in these tests (offset 0 unless a test says otherwise).
    const NOW: i64 = 1_700_000_000;
    const NODE: &str = "rtmp://127.0.0.1:1935/live";

    /// Drives [`ZegoControl::handle_at`] on a fixed clock, so no test sleeps.
    struct Fixture {
        control: ZegoControl,
        wall: SystemTime,
        mono: Instant,
    }

    impl Fixture {
        fn new() -> Fixture {
            Fixture::with(SimConfig {
                zego_apps: apps(),
                zego_nodes: vec![NODE.to_owned()],
                ..SimConfig::default()
            })
        }

        fn with(config: SimConfig) -> Fixture {
            Fixture {
                control: ZegoControl::new(&config),
                wall: UNIX_EPOCH + Duration::from_secs(NOW as u64),
                mono: Instant::now(),
            }
        }

        fn call(&self, params: &[(String, String)]) -> Value {
            self.call_at_ms(0, params)
        }

        /// A call `ms` milliseconds after the fixture's start, on both clocks.
        fn call_at_ms(&self, ms: u64, params: &[(String, String)]) -> Value {
            let elapsed = Duration::from_millis(ms);
            let reply =
                self.control
                    .handle_at(&query(params), self.wall + elapsed, self.mono + elapsed);
            serde_json::from_str(&reply.body).expect("the answer is JSON")
        }
    }

    fn code(answer: &Value) -> i64 {
        answer["Code"].as_i64().expect("Code is a number")
    }

    fn dispatch_params(stream_id: &str) -> Vec<(String, String)> {
        signed_with(
            APP_ID,
            SECRET,
            "RTMPDispatchV2",
            NOW,
            &[
                ("StreamId", stream_id),
                ("Sequence", "1617249600001"),
                ("Type", "push"),
            ],
        )
    }

    fn test_env_params(action: &str, stream_id: &str) -> Vec<(String, String)> {
        let mut params = signed_with(
            TEST_APP_ID,
            TEST_SECRET,
            action,
            NOW,
            &[("StreamId", stream_id), ("Sequence", "1"), ("Type", "push")],
        );
        set(&mut params, "IsTest", "true");
        params
    }

    fn cdn_params(
        action: &str,
        stream_id: &str,
        url: &str,
        sequence: i64,
    ) -> Vec<(String, String)> {
        signed_with(
            APP_ID,
            SECRET,
            action,
            NOW,
            &[
                ("StreamId", stream_id),
                ("CDNUrl", url),
                ("Sequence", &sequence.to_string()),
            ],
        )
    }

    fn describe_params(stream_id: &str) -> Vec<(String, String)> {
        signed_with(
            APP_ID,
            SECRET,
            "DescribeRTCStreamState",
            NOW,
            &[("StreamId", stream_id), ("Sequence", "1")],
        )
    }

    #[test]
    fn signed_dispatch_answers_the_node_urls_with_the_stream_id() {
        let fixture = Fixture::new();
        fixture.control.set_nodes(vec![
            NODE.to_owned(),
            // A trailing slash must not double the separator.
            "rtmp://10.0.0.2:1935/1540531164/".to_owned(),
        ]);
        let answer = fixture.call(&dispatch_params("caodantest"));
        assert_eq!(code(&answer), 0);
        assert_eq!(answer["Message"], "ok");
        assert_eq!(
            answer["Data"],
            json!([
                "rtmp://127.0.0.1:1935/live/caodantest",
                "rtmp://10.0.0.2:1935/1540531164/caodantest"
            ])
        );
    }

    #[test]
    fn pull_dispatch_answers_the_same_shape_for_a_published_stream() {
        let fixture = Fixture::new();
        let mut params = dispatch_params("s1");
        set(&mut params, "Type", "pull");
        fixture.control.set_stream_live("s1", true);
        let answer = fixture.call(&params);
        assert_eq!(code(&answer), 0);
        assert_eq!(answer["Data"], json!(["rtmp://127.0.0.1:1935/live/s1"]));
    }

    #[test]
    fn pull_dispatch_follows_the_stream_to_its_node_and_refuses_an_unpublished_one() {
        let fixture = Fixture::new();
        let mut params = dispatch_params("s1");
        set(&mut params, "Type", "pull");
        let unpublished = fixture.call(&params);
        assert_eq!(code(&unpublished), 1003);
        assert_eq!(unpublished["Message"], "Playing node is empty");
        fixture
            .control
            .set_stream_live_at("s1", true, Some("rtmp://127.0.0.1:2001/live"));
        set(&mut params, "Sequence", "1617249600002");
        assert_eq!(
            fixture.call(&params)["Data"],
            json!(["rtmp://127.0.0.1:2001/live/s1"])
        );
        // Republished elsewhere without an end seen (the first node died).
        fixture
            .control
            .set_stream_live_at("s1", true, Some("rtmp://127.0.0.1:2002/live"));
        set(&mut params, "Sequence", "1617249600003");
        assert_eq!(
            fixture.call(&params)["Data"],
            json!(["rtmp://127.0.0.1:2002/live/s1"])
        );
        fixture.control.set_stream_live("s1", false);
        set(&mut params, "Sequence", "1617249600004");
        assert_eq!(code(&fixture.call(&params)), 1003);
    }

    #[test]
    fn request_ids_are_unique_19_digit_strings() {
        let fixture = Fixture::new();
        let ids: std::collections::HashSet<String> = (0..30)
            .map(|_| {
                let answer = fixture.call(&dispatch_params("s1"));
                answer["RequestId"].as_str().expect("a string").to_owned()
            })
            .collect();
        assert_eq!(ids.len(), 30);
        for id in &ids {
            assert_eq!(id.len(), 19, "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_digit()), "{id}");
        }
    }

    #[test]
    fn every_answer_has_the_four_fields_and_errors_carry_null_data() {
        let fixture = Fixture::new();
        let mut params = dispatch_params("s1");
        remove(&mut params, "Action");
        let answer = fixture.call(&params);
        let fields: Vec<&String> = answer.as_object().expect("an object").keys().collect();
        assert_eq!(fields, ["Code", "Data", "Message", "RequestId"]);
        assert_eq!(code(&answer), 100000006);
        assert_eq!(answer["Message"], "Action is empty");
        assert!(answer["Data"].is_null());
    }

    /// Signs `params` again with `nonce`, so only the nonce's format can be at fault.
    fn resign_with_nonce(params: &mut Vec<(String, String)>, nonce: &str) {
        set(params, "SignatureNonce", nonce);
        set(params, "Signature", &sign(APP_ID, nonce, SECRET, NOW));
    }

    #[test]
    fn gateway_answers_each_documented_code() {
        type Mutation = fn(&mut Vec<(String, String)>);
        let cases: &[(&str, Mutation, i64)] = &[
            ("no Action", |p| remove(p, "Action"), 100000006),
            ("empty Action", |p| set(p, "Action", ""), 100000006),
            // The legacy action answers ip:port and is deliberately not simulated.
            (
                "unsupported Action",
                |p| set(p, "Action", "RTMPDispatch"),
                100000007,
            ),
            (
                "misspelled Action",
                |p| set(p, "Action", "CreateCDNTransferRule"),
                100000007,
            ),
            ("AppId not a number", |p| set(p, "AppId", "12ab"), 100000001),
            (
                "AppId over uint32",
                |p| set(p, "AppId", "4294967296"),
                100000001,
            ),
            ("no AppId", |p| remove(p, "AppId"), 100000001),
            ("no Timestamp", |p| remove(p, "Timestamp"), 100000002),
            (
                "Timestamp not a number",
                |p| set(p, "Timestamp", "1700000000.5"),
                100000003,
            ),
            (
                "no SignatureNonce",
                |p| remove(p, "SignatureNonce"),
                100000008,
            ),
            ("no Signature", |p| remove(p, "Signature"), 100000009),
            (
                "no SignatureVersion",
                |p| remove(p, "SignatureVersion"),
                100000013,
            ),
            (
                "SignatureVersion 1.0",
                |p| set(p, "SignatureVersion", "1.0"),
                100000014,
            ),
            (
                "Timestamp 11 minutes old",
                |p| set(p, "Timestamp", "1699999340"),
                100000004,
            ),
            (
                "one signature digit changed",
                |p| {
                    let (_, signature) = p.iter_mut().find(|(n, _)| n == "Signature").unwrap();
                    let flipped = if signature.ends_with('0') { '1' } else { '0' };
                    signature.pop();
                    signature.push(flipped);
                },
                100000005,
            ),
            (
                "upper-case signature",
                |p| {
                    let (_, signature) = p.iter_mut().find(|(n, _)| n == "Signature").unwrap();
                    *signature = signature.to_ascii_uppercase();
                },
                100000005,
            ),
            (
                "signed nonce of 15 hex",
                |p| resign_with_nonce(p, "4fd24687296dd9f"),
                100000005,
            ),
            (
                "signed non-hex nonce",
                |p| resign_with_nonce(p, "4fd24687296dd9fz"),
                100000005,
            ),
            (
                "IsTest=true for a production app",
                |p| set(p, "IsTest", "true"),
                30004,
            ),
            (
                "IsTest neither true nor false",
                |p| set(p, "IsTest", "yes"),
                30004,
            ),
        ];
        let fixture = Fixture::new();
        for (case, mutate, expected) in cases {
            let mut params = dispatch_params("s1");
            mutate(&mut params);
            let answer = fixture.call(&params);
            assert_eq!(code(&answer), *expected, "{case}");
            let documented = codes::DOCUMENTED
                .iter()
                .find(|c| c.value == *expected)
                .unwrap();
            assert_eq!(answer["Message"], documented.message, "{case}");
        }
        // The unmodified request passes, so each failure above is due to its mutation alone.
        assert_eq!(code(&fixture.call(&dispatch_params("s1"))), 0);
        let mut params = dispatch_params("s1");
        set(&mut params, "IsTest", "false");
        assert_eq!(code(&fixture.call(&params)), 0);
        let mut nonce_upper = dispatch_params("s1");
        resign_with_nonce(&mut nonce_upper, "4FD24687296DD9F3");
        assert_eq!(
            code(&fixture.call(&nonce_upper)),
            0,
            "hex digits in either case"
        );
    }

    #[test]
    fn unknown_app_and_wrong_secret_are_signature_errors() {
        let fixture = Fixture::new();
        let unknown = signed_with(42, SECRET, "RTMPDispatchV2", NOW, &[("StreamId", "s1")]);
        assert_eq!(code(&fixture.call(&unknown)), 100000005);
        let wrong_secret = signed_with(
            APP_ID,
            "00000000000000000000000000000000",
            "RTMPDispatchV2",
            NOW,
            &[("StreamId", "s1")],
        );
        assert_eq!(code(&fixture.call(&wrong_secret)), 100000005);
    }

    #[test]
    fn gateway_checks_apply_in_documented_order() {
        let fixture = Fixture::new();
        // Everything is wrong: the Action check comes first.
        let everything_wrong = vec![
            ("Action".to_owned(), "Nope".to_owned()),
            ("AppId".to_owned(), "x".to_owned()),
        ];
        assert_eq!(code(&fixture.call(&everything_wrong)), 100000007);
        // Then AppId before Timestamp, Timestamp before the nonce and the signature.
        let mut params = dispatch_params("s1");
        set(&mut params, "AppId", "x");
        remove(&mut params, "Timestamp");
        assert_eq!(code(&fixture.call(&params)), 100000001);
        let mut params = dispatch_params("s1");
        remove(&mut params, "Timestamp");
        remove(&mut params, "SignatureNonce");
        remove(&mut params, "Signature");
        assert_eq!(code(&fixture.call(&params)), 100000002);
        // An expired timestamp is reported before the signature is even looked at.
        let mut params = dispatch_params("s1");
        set(&mut params, "Timestamp", &(NOW - 601).to_string());
        set(&mut params, "Signature", "bad");
        assert_eq!(code(&fixture.call(&params)), 100000004);
        // The environment is checked after the signature.
        let mut params = dispatch_params("s1");
        set(&mut params, "Signature", "bad");
        set(&mut params, "IsTest", "true");
        assert_eq!(code(&fixture.call(&params)), 100000005);
        // And the action's own parameters last.
        let mut params = dispatch_params("bad id");
        set(&mut params, "IsTest", "true");
        assert_eq!(code(&fixture.call(&params)), 30004);
    }

    #[test]
    fn timestamp_window_is_ten_minutes_either_way() {
        let fixture = Fixture::new();
        for (skew, expected) in [(-601, 100000004), (-600, 0), (600, 0), (601, 100000004)] {
            let params = signed_with(
                APP_ID,
                SECRET,
                "RTMPDispatchV2",
                NOW + skew,
                &[("StreamId", "s1"), ("Sequence", "1"), ("Type", "push")],
            );
            assert_eq!(code(&fixture.call(&params)), expected, "skew {skew}");
        }
    }

    #[test]
    fn clock_offset_moves_the_window() {
        for (offset, expected) in [(599, 0), (601, 100000004), (-599, 0), (-601, 100000004)] {
            let fixture = Fixture::with(SimConfig {
                zego_apps: apps(),
                zego_nodes: vec![NODE.to_owned()],
                clock_offset_secs: offset,
                ..SimConfig::default()
            });
            assert_eq!(
                code(&fixture.call(&dispatch_params("s1"))),
                expected,
                "offset {offset}"
            );
        }
    }

    #[test]
    fn test_environment_app_needs_is_test_and_the_stream_prefix() {
        let fixture = Fixture::new();
        let good = test_env_params("RTMPDispatchV2", "zegotest-123456789-test");
        let answer = fixture.call(&good);
        assert_eq!(code(&answer), 0);
        assert_eq!(
            answer["Data"],
            json!([format!("{NODE}/zegotest-123456789-test")])
        );

        let mut production_call = good.clone();
        remove(&mut production_call, "IsTest");
        assert_eq!(code(&fixture.call(&production_call)), 100000016);
        set(&mut production_call, "IsTest", "false");
        assert_eq!(code(&fixture.call(&production_call)), 100000016);

        for stream_id in ["test", "zegotest-999-test", "zegotest-123456789test"] {
            let params = test_env_params("RTMPDispatchV2", stream_id);
            assert_eq!(code(&fixture.call(&params)), 30009, "{stream_id}");
        }
        // The prefix is a test-environment rule only.
        assert_eq!(code(&fixture.call(&dispatch_params("zegotest-1-x"))), 0);
    }

    #[test]
    fn dispatch_validates_its_parameters() {
        let fixture = Fixture::new();
        let longest = "a".repeat(256);
        let too_long = "a".repeat(257);
        let cases: &[(&str, &str, i64)] = &[
            ("StreamId", "Az09_-", 0),
            ("StreamId", &longest, 0),
            ("StreamId", &too_long, 30009),
            ("StreamId", "", 30009),
            ("StreamId", "a b", 30009),
            ("StreamId", "a.b", 30009),
            ("StreamId", "流", 30009),
            ("Sequence", "", 1006),
            ("Sequence", "12x", 1006),
            ("Sequence", "-5", 0),
            ("Type", "publish", 30010),
            ("Type", "PUSH", 30010),
            ("Type", "", 30010),
            ("ClientIP", "119.23.242.129", 0),
            ("ClientIP", "", 0),
            ("ClientIP", "::1", 30011),
            ("ClientIP", "1.2.3", 30011),
            ("ClientIP", "256.1.1.1", 30011),
        ];
        for (name, value, expected) in cases {
            let mut params = dispatch_params("s1");
            set(&mut params, name, value);
            assert_eq!(code(&fixture.call(&params)), *expected, "{name}={value:?}");
        }
    }

    #[test]
    fn no_nodes_answers_push_or_pull_node_empty() {
        let fixture = Fixture::new();
        fixture.control.set_nodes(Vec::new());
        let answer = fixture.call(&dispatch_params("s1"));
        assert_eq!(code(&answer), 1002);
        assert_eq!(answer["Message"], "Publishing node is empty");
        let mut pull = dispatch_params("s1");
        set(&mut pull, "Type", "pull");
        assert_eq!(code(&fixture.call(&pull)), 1003);
    }

    #[test]
    fn forty_first_dispatch_within_a_second_is_rate_limited() {
        let fixture = Fixture::new();
        for i in 0..40 {
            assert_eq!(
                code(&fixture.call_at_ms(i * 20, &dispatch_params("s1"))),
                0,
                "call {i}"
            );
        }
        let answer = fixture.call_at_ms(999, &dispatch_params("s1"));
        assert_eq!(code(&answer), 1010);
        assert_eq!(answer["Message"], "API call rate too high");
        // The limit is per AppId: another app is unaffected.
        let other = test_env_params("RTMPDispatchV2", "zegotest-123456789-s1");
        assert_eq!(code(&fixture.call_at_ms(999, &other)), 0);
        // One second after the first call, it has left the window.
        assert_eq!(code(&fixture.call_at_ms(1_000, &dispatch_params("s1"))), 0);
    }

    #[test]
    fn dispatch_limit_is_configurable_and_counts_only_authenticated_calls() {
        let fixture = Fixture::with(SimConfig {
            zego_apps: apps(),
            zego_nodes: vec![NODE.to_owned()],
            zego_dispatch_qps: 2,
            ..SimConfig::default()
        });
        let mut forged = dispatch_params("s1");
        set(&mut forged, "Signature", "0123");
        for _ in 0..5 {
            assert_eq!(code(&fixture.call(&forged)), 100000005);
        }
        assert_eq!(code(&fixture.call(&dispatch_params("s1"))), 0);
        assert_eq!(code(&fixture.call(&dispatch_params("s1"))), 0);
        assert_eq!(code(&fixture.call(&dispatch_params("s1"))), 1010);
    }

    #[test]
    fn fail_next_injects_the_documented_code_the_given_number_of_times() {
        let fixture = Fixture::new();
        fixture.control.fail_next("RTMPDispatchV2", 1001, 2);
        fixture.control.fail_next("RTMPDispatchV2", 30003, 1);
        // A call rejected by the gateway does not spend an injected failure.
        let mut unsigned = dispatch_params("s1");
        remove(&mut unsigned, "Signature");
        assert_eq!(code(&fixture.call(&unsigned)), 100000009);
        // Other actions are unaffected.
        assert_eq!(code(&fixture.call(&describe_params("s1"))), 41004);

        let first = fixture.call(&dispatch_params("s1"));
        assert_eq!(
            (code(&first), first["Message"].as_str()),
            (1001, Some("Dispatch failed"))
        );
        assert!(first["Data"].is_null());
        assert_eq!(code(&fixture.call(&dispatch_params("s1"))), 1001);
        let third = fixture.call(&dispatch_params("s1"));
        assert_eq!(
            (code(&third), third["Message"].as_str()),
            (30003, Some("Internal error"))
        );
        assert_eq!(code(&fixture.call(&dispatch_params("s1"))), 0);
    }

    #[test]
    fn injected_cdn_failure_changes_no_state() {
        let fixture = Fixture::new();
        fixture.control.fail_next("CreatCDNTransferRule", 5002, 1);
        let url = "rtmp://cdn.example.com/live/s1";
        assert_eq!(
            code(&fixture.call(&cdn_params("CreatCDNTransferRule", "s1", url, 1))),
            5002
        );
        assert!(fixture.control.cdn_rules("s1").is_empty());
        // Nor did it consume the Sequence: the same one is accepted on retry.
        assert_eq!(
            code(&fixture.call(&cdn_params("CreatCDNTransferRule", "s1", url, 1))),
            0
        );
        assert_eq!(fixture.control.cdn_rules("s1"), [url]);
    }

    #[test]
    #[should_panic(expected = "does not implement the action \"RTMPDispatchv2\"")]
    fn fail_next_rejects_an_unknown_action() {
        Fixture::new().control.fail_next("RTMPDispatchv2", 1001, 1);
    }

    #[test]
    #[should_panic(expected = "1234 is not a documented ZEGOCLOUD code")]
    fn fail_next_rejects_an_undocumented_code() {
        Fixture::new().control.fail_next("RTMPDispatchV2", 1234, 1);
    }

    #[test]
    fn requests_are_recorded_in_order_with_decoded_params() {
        let fixture = Fixture::new();
        let cdn_url = "rtmp://cdn.example.com/live/s1?token=a+b/c&x=1";
        fixture.call(&cdn_params("CreatCDNTransferRule", "s1", cdn_url, 7));
        let mut unsigned = dispatch_params("s2");
        remove(&mut unsigned, "Signature");
        fixture.call(&unsigned);

        let requests = fixture.control.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].action, "CreatCDNTransferRule");
        assert_eq!(requests[0].code, 0);
        assert_eq!(requests[0].params["CDNUrl"], cdn_url);
        assert_eq!(requests[0].params["Sequence"], "7");
        assert_eq!(requests[0].params["AppId"], APP_ID.to_string());
        assert_eq!(requests[0].at, fixture.wall);
        assert_eq!(requests[1].action, "RTMPDispatchV2");
        assert_eq!(requests[1].code, 100000009);
        assert_eq!(requests[1].params["StreamId"], "s2");

        fixture.control.clear_requests();
        assert!(fixture.control.requests().is_empty());
    }

    #[test]
    fn recorded_request_debug_hides_the_signature() {
        let fixture = Fixture::new();
        let params = dispatch_params("s1");
        let signature = params
            .iter()
            .find(|(n, _)| n == "Signature")
            .unwrap()
            .1
            .clone();
        fixture.call(&params);
        let shown = format!("{:?}", fixture.control.requests());
        assert!(!shown.contains(&signature), "{shown}");
        assert!(
            shown.contains("<redacted>") && shown.contains("\"s1\""),
            "{shown}"
        );
    }

    #[test]
    fn query_decoding_is_form_style() {
        let params = parse_query("a=1+2&b=%2Fx%3F&a=ignored&flag&=empty-name&c=");
        assert_eq!(params["a"], "1 2");
        assert_eq!(params["b"], "/x?");
        assert_eq!(params["flag"], "");
        assert_eq!(params[""], "empty-name");
        assert_eq!(params["c"], "");
    }

    #[test]
    fn cdn_rules_are_created_and_deleted() {
        let fixture = Fixture::new();
        let first = "rtmp://cdn.example.com/live/s1?token=old";
        let refreshed = "rtmp://cdn.example.com/live/s1?token=new";
        let second = "rtmps://other.example.com:443/app/s1";

        let answer = fixture.call(&cdn_params("CreatCDNTransferRule", "s1", first, 1));
        assert_eq!((code(&answer), &answer["Data"]), (0, &Value::Null));
        assert_eq!(fixture.control.cdn_rules("s1"), [first]);
        // Idempotent create; a different query string is the same rule, the newest URL is kept.
        assert_eq!(
            code(&fixture.call(&cdn_params("CreatCDNTransferRule", "s1", first, 2))),
            0
        );
        assert_eq!(
            code(&fixture.call(&cdn_params("CreatCDNTransferRule", "s1", refreshed, 3))),
            0
        );
        assert_eq!(fixture.control.cdn_rules("s1"), [refreshed]);
        assert_eq!(
            code(&fixture.call(&cdn_params("CreatCDNTransferRule", "s1", second, 4))),
            0
        );
        assert_eq!(fixture.control.cdn_rules("s1"), [refreshed, second]);
        assert!(fixture.control.cdn_rules("s2").is_empty());

        // Delete matches the created URL regardless of its query string.
        let delete = cdn_params(
            "DeleteCDNTransferRule",
            "s1",
            "rtmp://cdn.example.com/live/s1",
            5,
        );
        assert_eq!(code(&fixture.call(&delete)), 0);
        assert_eq!(fixture.control.cdn_rules("s1"), [second]);
        // Deleting a rule that does not exist is a success too.
        let again = cdn_params("DeleteCDNTransferRule", "s1", first, 6);
        assert_eq!(code(&fixture.call(&again)), 0);
        assert_eq!(fixture.control.cdn_rules("s1"), [second]);
    }

    #[test]
    fn cdn_rules_are_kept_per_app() {
        let fixture = Fixture::new();
        let url = "rtmp://cdn.example.com/live/x";
        let stream = "zegotest-123456789-x";
        let mut test_env = signed_with(
            TEST_APP_ID,
            TEST_SECRET,
            "CreatCDNTransferRule",
            NOW,
            &[("StreamId", stream), ("CDNUrl", url), ("Sequence", "1")],
        );
        set(&mut test_env, "IsTest", "true");
        assert_eq!(code(&fixture.call(&test_env)), 0);
        // The production app deleting the same stream id does not touch the test app's rule.
        assert_eq!(
            code(&fixture.call(&cdn_params("DeleteCDNTransferRule", stream, url, 1))),
            0
        );
        assert_eq!(fixture.control.cdn_rules(stream), [url]);
    }

    #[test]
    fn cdn_url_must_be_rtmp() {
        let fixture = Fixture::new();
        for (sequence, url) in (1..).zip([
            "http://cdn.example.com/live/s1",
            "rtmp://",
            "rtmp:///live",
            "cdn.example.com/live/s1",
            "rtmp://cdn.example.com/live/s 1",
            "",
        ]) {
            let answer = fixture.call(&cdn_params("CreatCDNTransferRule", "s1", url, sequence));
            assert_eq!(code(&answer), 5004, "{url:?}");
            assert_eq!(answer["Message"], "Invalid CDN address");
        }
        let upper = "RTMP://cdn.example.com/live/s1";
        assert_eq!(
            code(&fixture.call(&cdn_params("CreatCDNTransferRule", "s1", upper, 100))),
            0
        );
        let mut no_url = cdn_params("DeleteCDNTransferRule", "s1", "", 101);
        remove(&mut no_url, "CDNUrl");
        assert_eq!(code(&fixture.call(&no_url)), 5004);
    }

    #[test]
    fn cdn_stream_id_is_validated() {
        let fixture = Fixture::new();
        let url = "rtmp://cdn.example.com/live/s1";
        assert_eq!(
            code(&fixture.call(&cdn_params("CreatCDNTransferRule", "a/b", url, 1))),
            30009
        );
        let mut test_env = test_env_params("CreatCDNTransferRule", "no-prefix");
        set(&mut test_env, "CDNUrl", url);
        assert_eq!(code(&fixture.call(&test_env)), 30009);
    }

    #[test]
    fn cdn_sequence_must_increase_within_ten_seconds() {
        let fixture = Fixture::new();
        let url = "rtmp://cdn.example.com/live/s1";
        let at = |ms: u64, action: &str, sequence: i64| {
            code(&fixture.call_at_ms(ms, &cdn_params(action, "s1", url, sequence)))
        };
        assert_eq!(at(0, "CreatCDNTransferRule", 100), 0);
        // Same or lower within 10 s: 5005, whichever of create/delete carries it.
        assert_eq!(at(1_000, "CreatCDNTransferRule", 100), 5005);
        assert_eq!(at(2_000, "DeleteCDNTransferRule", 99), 5005);
        assert_eq!(
            fixture.control.cdn_rules("s1"),
            [url],
            "a refused delete changes nothing"
        );
        // Higher is fine, and the create/delete share one sequence.
        assert_eq!(at(3_000, "DeleteCDNTransferRule", 101), 0);
        assert!(fixture.control.cdn_rules("s1").is_empty());
        assert_eq!(at(12_999, "CreatCDNTransferRule", 50), 5005);
        // Ten seconds after the last accepted one, any sequence starts afresh.
        assert_eq!(at(13_000, "CreatCDNTransferRule", 50), 0);
        // Each stream has its own sequence.
        let other = cdn_params("CreatCDNTransferRule", "s2", url, 1);
        assert_eq!(code(&fixture.call_at_ms(13_001, &other)), 0);
        // Sequence must be a number.
        let mut malformed = cdn_params("CreatCDNTransferRule", "s3", url, 1);
        set(&mut malformed, "Sequence", "abc");
        let answer = fixture.call(&malformed);
        assert_eq!(
            (code(&answer), answer["Message"].as_str()),
            (5005, Some("Invalid request"))
        );
    }

    #[test]
    fn cdn_rate_limit_is_ten_per_second_and_five_in_test_env() {
        let fixture = Fixture::new();
        let url = "rtmp://cdn.example.com/live/s1";
        for sequence in 1..=10 {
            let params = cdn_params("CreatCDNTransferRule", "s1", url, sequence);
            assert_eq!(code(&fixture.call(&params)), 0, "call {sequence}");
        }
        let answer = fixture.call(&cdn_params("CreatCDNTransferRule", "s1", url, 11));
        assert_eq!(
            (code(&answer), answer["Message"].as_str()),
            (5007, Some("API call frequency is too high"))
        );

        for sequence in 1..=6 {
            let mut params = test_env_params("DeleteCDNTransferRule", "zegotest-123456789-s1");
            set(&mut params, "CDNUrl", url);
            set(&mut params, "Sequence", &sequence.to_string());
            let expected = if sequence <= 5 { 0 } else { 5007 };
            assert_eq!(
                code(&fixture.call(&params)),
                expected,
                "test-env call {sequence}"
            );
        }
    }

    #[test]
    fn describe_follows_the_stream_life() {
        let fixture = Fixture::new();
        let answer = fixture.call(&describe_params("s1"));
        assert_eq!(
            (code(&answer), answer["Message"].as_str()),
            (41004, Some("Stream does not exist"))
        );
        // Stopping a stream that never went live is ignored.
        fixture.control.set_stream_live("s1", false);
        assert_eq!(code(&fixture.call(&describe_params("s1"))), 41004);

        let before = unix_secs(SystemTime::now());
        fixture.control.set_stream_live("s1", true);
        let answer = fixture.call(&describe_params("s1"));
        assert_eq!(code(&answer), 0);
        assert_eq!(answer["Data"]["close_time"], "");
        let created: i64 = answer["Data"]["create_time"]
            .as_str()
            .and_then(|text| text.parse().ok())
            .expect("create_time is Unix seconds");
        assert!(
            (before..=before + 5).contains(&created),
            "{created} vs {before}"
        );
        assert_eq!(code(&fixture.call(&describe_params("other"))), 41004);

        fixture.control.set_stream_live("s1", false);
        let answer = fixture.call(&describe_params("s1"));
        assert_eq!(
            (code(&answer), answer["Message"].as_str()),
            (41006, Some("Stream is closed"))
        );
        fixture.control.set_stream_live("s1", true);
        assert_eq!(code(&fixture.call(&describe_params("s1"))), 0);
    }

    #[test]
    fn describe_validates_and_limits() {
        let fixture = Fixture::new();
        let mut bad_sequence = describe_params("s1");
        set(&mut bad_sequence, "Sequence", "");
        assert_eq!(code(&fixture.call(&bad_sequence)), 1006);
        assert_eq!(code(&fixture.call(&describe_params("s 1"))), 30009);
        // Two calls above were authenticated and counted: 38 more reach the limit of 40.
        for i in 0..38 {
            assert_eq!(
                code(&fixture.call(&describe_params("s1"))),
                41004,
                "call {i}"
            );
        }
        assert_eq!(code(&fixture.call(&describe_params("s1"))), 30002);

        let test_env = test_env_params("DescribeRTCStreamState", "zegotest-123456789-s1");
        for i in 0..10 {
            assert_eq!(code(&fixture.call(&test_env)), 41004, "test-env call {i}");
        }
        assert_eq!(code(&fixture.call(&test_env)), 30002);
    }

    #[test]
    fn every_documented_code_has_a_distinct_value_and_a_message() {
        let mut values: Vec<i64> = codes::DOCUMENTED.iter().map(|c| c.value).collect();
        values.sort_unstable();
        values.dedup();
        assert_eq!(values.len(), codes::DOCUMENTED.len());
        assert!(codes::DOCUMENTED.iter().all(|c| !c.message.is_empty()));
    }
}
