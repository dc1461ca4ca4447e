//! The answers to the vendor requests, from JSON to JSON; no libobs.

use super::super::locale::ObsLocale;
use super::super::{shared, streaming_service};
use rtc_golive_core::config::ServiceKind;
use rtc_golive_core::config::ServiceSettings;
use rtc_golive_core::lock::LockRecovered;
use rtc_golive_core::messages::Message;
use rtc_golive_core::report::GoLiveReport;
use rtc_golive_core::resolve::test_connection;
use serde_json::{json, Map, Value};
use std::time::SystemTime;

/// `CancelStart`: gives up a Start Streaming still waiting for the vendor, which OBS's own
/// Stop Streaming cannot do (the frontend disables it, and obs-websocket's `StopStream`
/// refuses, until the output has connected). `{"ok": true, "cancelled": <starts given up>}`.
pub fn cancel_start(_request: Value) -> Value {
    match shared() {
        Some(shared) => {
            let cancelled = shared.cancel_starts();
            log::info!("CancelStart: {cancelled} start(s) given up");
            json!({"ok": true, "cancelled": cancelled})
        }
        None => json!({"ok": false, "error": "obs-rtc-golive has no HTTP client"}),
    }
}

fn render(message: &Message) -> String {
    message.render(&ObsLocale)
}

/// RFC 3339 in UTC, to the second.
fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// `GetStatus`: OBS's streaming service and the module's last go-live; never a secret.
pub fn get_status(_request: Value) -> Value {
    let current = streaming_service::current()
        .map(|(id, _)| id)
        .unwrap_or_default();
    let mut body = Map::new();
    body.insert("activeServiceType".into(), json!(current));
    body.insert(
        "activeServiceIsOurs".into(),
        json!(ServiceKind::from_id(&current).is_some()),
    );
    body.insert("pluginVersion".into(), json!(env!("CARGO_PKG_VERSION")));
    // Only read: a status request must not create the HTTP client.
    let (last, alert) = super::super::SHARED
        .lock_recovered()
        .as_ref()
        .map_or((None, None), |s| {
            (s.status.last_go_live(), s.status.last_alert())
        });
    if let Some((at, message)) = alert {
        body.insert(
            "lastAlert".into(),
            json!({"time": rfc3339(at), "text": render(&message)}),
        );
    }
    body.insert("hasLastGoLive".into(), json!(last.is_some()));
    if let Some((kind, report)) = last {
        body.insert("lastGoLive".into(), go_live_json(kind, &report));
    }
    Value::Object(body)
}

fn go_live_json(kind: ServiceKind, report: &GoLiveReport) -> Value {
    // obs_data arrays hold objects only, so each warning is {"text": ...}.
    let warnings: Vec<Value> = report
        .warnings
        .iter()
        .map(|w| json!({"text": render(w)}))
        .collect();
    json!({
        "provider": kind.id(),
        "ok": report.error.is_none(),
        "time": rfc3339(report.at),
        "node": report.node,
        "requestId": report.request_id,
        "latencyMs": u64::try_from(report.latency.as_millis()).unwrap_or(u64::MAX),
        "error": report.error.as_ref().map(render).unwrap_or_default(),
        "warnings": warnings,
    })
}

/// `TestConnection`: `{"serviceType"?, "settings"?}`, defaulting to OBS's streaming service.
pub fn test(request: Value) -> Value {
    let current = streaming_service::current();
    let requested = request
        .get("serviceType")
        .and_then(Value::as_str)
        .map(str::to_string);
    let type_id = requested
        .clone()
        .or_else(|| current.as_ref().map(|(id, _)| id.clone()))
        .unwrap_or_default();
    let Some(kind) = ServiceKind::from_id(&type_id) else {
        let message = if requested.is_some() {
            Message::new("Ui.Ws.UnknownType").text(&type_id)
        } else {
            Message::new("Ui.Ws.NotOurs").text(&type_id)
        };
        return json!({"ok": false, "serviceType": type_id, "error": render(&message)});
    };
    let settings = match request.get("settings") {
        Some(settings) if settings.is_object() => settings.clone(),
        _ => current
            .filter(|(id, _)| *id == type_id)
            .map(|(_, settings)| settings)
            .unwrap_or_else(|| json!({})),
    };
    let Some(shared) = shared() else {
        return json!({"ok": false, "serviceType": type_id, "error": render(&Message::new("Error.Internal"))});
    };
    let report = test_connection(&ServiceSettings::parse(kind, &settings), &shared);
    let mut body = match go_live_json(kind, &report) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    body.remove("provider");
    body.insert("serviceType".into(), json!(kind.id()));
    if report.error.is_some() {
        if let Some(error) = ServiceSettings::config_error(kind, &settings) {
            body.insert("field".into(), json!(error.key));
        }
    }
    Value::Object(body)
}
