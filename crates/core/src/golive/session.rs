//! A started stream: where it goes, what runs while it is live, and what is undone when it
//! stops.

use crate::background::StopSignal;
use crate::cdn_forwarding::{self, CdnRule};
use crate::config::{aliyun::AliyunConfig, platform::PlatformConfig, zego::ZegoConfig};
use crate::host::StreamControl;
use crate::lock::LockRecovered;
use crate::messages::Message;
use crate::platform_api::{ErrorCode, ForwardState, LiveAnswer, WireForward};
use crate::presence;
use crate::providers::platform;
use crate::providers::zego::{self, StreamState};
use crate::resolve::PlatformLease;
use crate::rtmp_target::IngestPlan;
use crate::shared::Shared;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a session holds of its vendor.
#[derive(Debug)]
pub(super) enum Vendor {
    /// A ZEGOCLOUD stream and the CDN forwards created for it.
    Zego {
        config: ZegoConfig,
        forwards: Vec<CdnRule>,
    },
    /// An Alibaba stream and its ingest address's cache key.
    Aliyun {
        config: AliyunConfig,
        address_key: String,
    },
    /// A stream through the platform's broker and the session it opened (which holds the CDN
    /// forwards on the broker's side).
    Platform {
        config: PlatformConfig,
        lease: PlatformLease,
    },
}

/// A started stream: where it goes and what must be undone when it stops.
#[derive(Debug)]
pub struct Session {
    pub(super) plan: IngestPlan,
    pub(super) vendor: Vendor,
    /// Set at the first activation; OBS activates again after every reconnect.
    pub(super) live: bool,
    /// OBS is reconnecting: the next target read moves to the next node.
    pub(super) failover_pending: bool,
    /// Index into `plan.nodes()` of the node handed out now.
    pub(super) current: usize,
    tasks: Vec<Arc<StopSignal>>,
}

impl Session {
    pub(super) fn new(plan: IngestPlan, vendor: Vendor) -> Self {
        Session {
            plan,
            vendor,
            live: false,
            failover_pending: false,
            current: 0,
            tasks: Vec::new(),
        }
    }

    /// The stream is live: starts the vendor's confirmation in the background. ZEGOCLOUD:
    /// DescribeRTCStreamState for up to 10 s. Alibaba: the presence check, when enabled.
    pub(super) fn start_live_checks(&mut self, shared: &Shared, control: Arc<dyn StreamControl>) {
        let background = shared.background.clone();
        let shared = shared.clone();
        let task = match &self.vendor {
            Vendor::Zego { config, .. } => {
                let config = config.clone();
                background.spawn("stream-state", move |stop| {
                    confirm_zego_stream(&shared, &config, &stop);
                })
            }
            Vendor::Aliyun {
                config,
                address_key,
            } if config.presence_check => {
                let (config, key) = (config.clone(), address_key.clone());
                let interval = Duration::from_secs(u64::from(config.presence_interval));
                background.spawn("presence", move |stop| {
                    presence::watch(&shared.http, &config, interval, &stop, || {
                        shared.alert(
                            Message::new(if config.presence_restart {
                                "Warn.PresenceLost.Restarting"
                            } else {
                                "Warn.PresenceLost"
                            })
                            .text(&config.user_id)
                            .text(&config.channel_id),
                        );
                        if config.presence_restart {
                            log::warn!(
                                "presence check: restarting the ingest with a fresh address"
                            );
                            shared.addresses.lock_recovered().remove(&key);
                            control.restart();
                        }
                    });
                })
            }
            Vendor::Aliyun { .. } => return,
            Vendor::Platform { config, lease } => {
                let Some(session) = lease.session.clone() else {
                    return;
                };
                let (config, every) = (config.clone(), lease.heartbeat);
                // Scoped: OBS quitting cuts a heartbeat in flight; the stop still goes out.
                let shared = shared.scoped();
                background.spawn("platform-heartbeat", move |stop| {
                    if let Some(reason) = heartbeat(&shared, &config, &session, every, &stop) {
                        // The streamer learns why, then the stream stops: it would go on to
                        // the vendor's node without the platform's session and forwards.
                        shared.alert(reason);
                        control.stop();
                    }
                })
            }
        };
        self.tasks.push(task);
    }
}

/// Ends a session: stops its background checks and deletes its CDN forwards, in the
/// background so that no OBS thread waits for it.
pub(super) fn release(shared: &Shared, session: Session) {
    for task in &session.tasks {
        task.stop();
    }
    match session.vendor {
        Vendor::Zego { config, forwards } => delete_forwards(shared, &config, forwards),
        Vendor::Platform { config, lease } => {
            if let Some(session) = lease.session {
                stop_platform_session(shared, config, session);
            }
        }
        Vendor::Aliyun { .. } => {}
    }
}

/// Tells the broker the stream ended, in the background, through the unscoped client: it is
/// clean-up, joined (bounded) at unload like the CDN deletes. When even that cannot reach the
/// broker, the session's lease ends its forwards.
fn stop_platform_session(shared: &Shared, config: PlatformConfig, session: String) {
    let http = shared.http.clone();
    shared.background.spawn("platform-stop", move |_| {
        match platform::stop(&http, &config, &session) {
            Ok(()) => log::info!("platform: session stopped"),
            Err(e) => log::warn!(
                "platform: the stop did not reach the broker ({e}); its lease ends the session"
            ),
        }
    });
}

/// Sends the heartbeat every `every` until stopped, telling the streamer once of each CDN
/// forward the broker reports failed (it creates them after answering the go-live). Returns why
/// the stream must stop when the broker refuses it for good: the token expired, was revoked or
/// is no longer accepted (its key was retired), or the broker no longer knows the session (its
/// lease lapsed, so its CDN forwards are gone). Other failures (the network, the broker
/// restarting) are retried.
fn heartbeat(
    shared: &Shared,
    config: &PlatformConfig,
    session: &str,
    every: Duration,
    stop: &StopSignal,
) -> Option<Message> {
    let mut reported = Vec::new();
    while stop.sleep(every) {
        match platform::live(&shared.http, config, session) {
            Ok(answer) => {
                log::debug!("platform: heartbeat, lease {} s", answer.lease_seconds);
                if let Some(reason) = required_forward_failed(&answer) {
                    log::warn!("platform: a required CDN forward failed, stopping");
                    return Some(reason);
                }
                report_forwards(shared, &answer.forwards, &mut reported);
            }
            Err(_) if stop.is_stopped() => return None,
            Err(e) => match e.code().and_then(stopped_by) {
                Some(reason) => {
                    log::warn!("platform: the broker refused the heartbeat, stopping: {e}");
                    return Some(reason);
                }
                None => log::warn!("platform: heartbeat failed, retrying: {e}"),
            },
        }
    }
    None
}

/// The streamer's text for a heartbeat refusal that ends the stream, `None` for one that may
/// pass.
fn stopped_by(code: ErrorCode) -> Option<Message> {
    match code {
        ErrorCode::TokenExpired
        | ErrorCode::TokenRevoked
        | ErrorCode::TokenInvalid
        | ErrorCode::TokenAudience
        | ErrorCode::TokenMissing => {
            let (meaning, action) = platform::describe_code(code);
            Some(
                Message::new("Platform.Stopped.Token")
                    .text(platform::wire_name(code))
                    .key_arg(meaning)
                    .key_arg(action),
            )
        }
        ErrorCode::SessionUnknown => Some(Message::new("Platform.Stopped.SessionLost")),
        _ => None,
    }
}

/// The streamer's text when the token requires every CDN forward and the broker reports one
/// failed: the stream stops, as direct mode's `cdn_required` does.
fn required_forward_failed(answer: &LiveAnswer) -> Option<Message> {
    if !answer.cdn_required {
        return None;
    }
    let failed = answer
        .forwards
        .iter()
        .find(|f| f.state == ForwardState::Failed)?;
    Some(
        Message::new("Platform.Stopped.CdnRequired")
            .text(failed.warning.clone().unwrap_or_default()),
    )
}

/// Tells the streamer once of each forward the broker could not create, and logs each state
/// change; `reported` holds the `(index, state)` pairs already seen.
fn report_forwards(
    shared: &Shared,
    forwards: &[WireForward],
    reported: &mut Vec<(usize, ForwardState)>,
) {
    for forward in forwards {
        if reported.contains(&(forward.index, forward.state)) {
            continue;
        }
        reported.push((forward.index, forward.state));
        match (forward.state, &forward.warning) {
            (ForwardState::Failed, warning) => {
                let warning = warning.clone().unwrap_or_default();
                log::warn!("platform: CDN forward {} failed: {warning}", forward.cdn);
                shared.alert(Message::new("Platform.Warn.Broker").text(warning));
            }
            (state, _) => log::info!("platform: CDN forward {}: {state:?}", forward.cdn),
        }
    }
}

/// Deletes `rules` in the background.
pub(super) fn delete_forwards(shared: &Shared, config: &ZegoConfig, rules: Vec<CdnRule>) {
    if rules.is_empty() {
        return;
    }
    let (task_shared, config) = (shared.clone(), config.clone());
    shared.background.spawn("cdn-delete", move |_| {
        cdn_forwarding::delete_all(
            &task_shared.http,
            &config,
            &task_shared.sequence,
            &task_shared.cdn_journal,
            &rules,
            &task_shared.background,
        );
    });
}

/// After publishing, asks ZEGOCLOUD for up to 10 s whether it sees the stream, and logs it.
fn confirm_zego_stream(shared: &Shared, config: &ZegoConfig, stop: &StopSignal) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = None;
    while Instant::now() < deadline && !stop.is_stopped() {
        match zego::describe_stream_state(&shared.http, config, &shared.sequence) {
            Ok(StreamState::Live) => {
                log::info!("ZEGOCLOUD sees stream {} live", config.stream_id);
                return;
            }
            Ok(state) => last = Some(format!("{state:?}")),
            Err(e) => last = Some(e.to_string()),
        }
        if !stop.sleep(Duration::from_secs(1)) {
            return;
        }
    }
    if !stop.is_stopped() {
        log::warn!(
            "ZEGOCLOUD does not report stream {} as live 10 s after publishing (last answer: {})",
            config.stream_id,
            last.unwrap_or_default()
        );
    }
}
