//! The broker's counters and gauges, rendered in Prometheus's text format for `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

/// Counters by label value, and the gauges the broker keeps itself.
#[derive(Debug, Default)]
pub struct Metrics {
    golives: Mutex<BTreeMap<&'static str, u64>>,
    vendor_requests: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    waiting: Mutex<BTreeMap<&'static str, i64>>,
    missed: Mutex<BTreeMap<&'static str, u64>>,
    swept: AtomicI64,
}

/// A request waiting for its slot, counted in the queue depth until dropped.
pub struct Waiting<'a> {
    metrics: &'a Metrics,
    limit: &'static str,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        *self.metrics.lock_waiting().entry(self.limit).or_default() -= 1;
    }
}

/// What `/metrics` shows besides the counters, read when it is asked.
#[derive(Debug, Clone, Copy)]
pub struct Gauges {
    /// The limiter's mode name.
    pub limiter_mode: &'static str,
    /// Whether Redis is configured and up (1), configured and away (0), or absent (-1).
    pub redis_up: i64,
    /// This instance's live sessions (whose go-live or heartbeat it answered within a lease).
    pub sessions: u64,
    /// Live sessions on the whole platform (lease running, in the store).
    pub platform_sessions: u64,
}

impl Metrics {
    /// Counts a go-live answered with `result` (`ok` or an error code).
    pub fn golive(&self, result: &'static str) {
        *self
            .golives
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(result)
            .or_default() += 1;
    }

    /// Counts a vendor request of `api` that ended with `outcome` (`ok`, `rate_limited`,
    /// `error`).
    pub fn vendor_request(&self, api: &'static str, outcome: &'static str) {
        *self
            .vendor_requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((api, outcome))
            .or_default() += 1;
    }

    /// A request starts waiting for a slot of `limit`.
    pub fn waiting(&self, limit: &'static str) -> Waiting<'_> {
        *self.lock_waiting().entry(limit).or_default() += 1;
        Waiting {
            metrics: self,
            limit,
        }
    }

    /// Counts slots of `limit` given up because they were reached too late.
    pub fn missed_slots(&self, limit: &'static str, n: u32) {
        if n > 0 {
            *self
                .missed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(limit)
                .or_default() += u64::from(n);
        }
    }

    /// Counts sessions whose lease lapsed and which this instance cleaned up.
    pub fn swept(&self, n: usize) {
        self.swept.fetch_add(n as i64, Ordering::Relaxed);
    }

    fn lock_waiting(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, i64>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The text format, with `gauges`.
    pub fn render(&self, gauges: Gauges) -> String {
        let mut out = String::new();
        out.push_str("# HELP rtc_golive_golives_total Go-live requests answered, by result.\n");
        out.push_str("# TYPE rtc_golive_golives_total counter\n");
        for (result, n) in self
            .golives
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(out, "rtc_golive_golives_total{{result=\"{result}\"}} {n}");
        }
        out.push_str("# HELP rtc_golive_vendor_requests_total Requests sent to a vendor, by API and outcome.\n");
        out.push_str("# TYPE rtc_golive_vendor_requests_total counter\n");
        for ((api, outcome), n) in self
            .vendor_requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "rtc_golive_vendor_requests_total{{api=\"{api}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP rtc_golive_queue_depth Requests waiting for a vendor slot, by limit.\n",
        );
        out.push_str("# TYPE rtc_golive_queue_depth gauge\n");
        for (limit, n) in self.lock_waiting().iter() {
            let _ = writeln!(out, "rtc_golive_queue_depth{{limit=\"{limit}\"}} {n}");
        }
        out.push_str(
            "# HELP rtc_golive_limiter_mode The limiter's mode (1 for the current one).\n",
        );
        out.push_str("# TYPE rtc_golive_limiter_mode gauge\n");
        for mode in ["shared", "local fallback", "local"] {
            let on = u8::from(mode == gauges.limiter_mode);
            let _ = writeln!(out, "rtc_golive_limiter_mode{{mode=\"{mode}\"}} {on}");
        }
        out.push_str("# HELP rtc_golive_redis_up 1 when Redis answers, 0 when it is away, -1 without Redis.\n");
        out.push_str("# TYPE rtc_golive_redis_up gauge\n");
        let _ = writeln!(out, "rtc_golive_redis_up {}", gauges.redis_up);
        out.push_str(
            "# HELP rtc_golive_sessions Live sessions of this instance (go-live or heartbeat answered here within a lease).\n",
        );
        out.push_str("# TYPE rtc_golive_sessions gauge\n");
        let _ = writeln!(out, "rtc_golive_sessions {}", gauges.sessions);
        out.push_str(
            "# HELP rtc_golive_platform_sessions Live sessions of every instance (lease running in the store).\n",
        );
        out.push_str("# TYPE rtc_golive_platform_sessions gauge\n");
        let _ = writeln!(
            out,
            "rtc_golive_platform_sessions {}",
            gauges.platform_sessions
        );
        out.push_str(
            "# HELP rtc_golive_sessions_swept_total Lapsed sessions this instance cleaned up.\n",
        );
        out.push_str("# TYPE rtc_golive_sessions_swept_total counter\n");
        let _ = writeln!(
            out,
            "rtc_golive_sessions_swept_total {}",
            self.swept.load(Ordering::Relaxed)
        );
        out
    }
}

/// The upper bounds of the request latency histogram's buckets, in seconds: from a `/healthz`
/// (well under 5 ms) to a go-live that waited the whole vendor queue (tens of seconds).
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// One endpoint's latency histogram.
#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Counts per bucket of [`LATENCY_BUCKETS`] (not cumulative; the last is +Inf).
    buckets: [u64; LATENCY_BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

/// The HTTP layer's metrics: requests by endpoint (the route, not the raw path) and status,
/// and each endpoint's latency.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
}

impl HttpMetrics {
    /// Counts a request to `endpoint` answered with `status` after `seconds`.
    pub fn request(&self, endpoint: &str, status: u16, seconds: f64) {
        *self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((endpoint.to_owned(), status))
            .or_default() += 1;
        let mut latency = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        let histogram = latency.entry(endpoint.to_owned()).or_default();
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        histogram.buckets[bucket] += 1;
        histogram.sum += seconds;
        histogram.count += 1;
    }

    /// The text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP rtc_golive_http_requests_total HTTP requests answered, by endpoint and status.\n",
        );
        out.push_str("# TYPE rtc_golive_http_requests_total counter\n");
        for ((endpoint, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "rtc_golive_http_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP rtc_golive_http_request_duration_seconds Time to answer an HTTP request, by endpoint.\n");
        out.push_str("# TYPE rtc_golive_http_request_duration_seconds histogram\n");
        for (endpoint, h) in self
            .latency
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let mut cumulative = 0;
            for (i, n) in h.buckets.iter().enumerate() {
                cumulative += n;
                let le = LATENCY_BUCKETS
                    .get(i)
                    .map_or_else(|| "+Inf".to_owned(), |b| b.to_string());
                let _ = writeln!(
                    out,
                    "rtc_golive_http_request_duration_seconds_bucket{{endpoint=\"{endpoint}\",le=\"{le}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "rtc_golive_http_request_duration_seconds_sum{{endpoint=\"{endpoint}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "rtc_golive_http_request_duration_seconds_count{{endpoint=\"{endpoint}\"}} {}",
                h.count
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_histogram_is_cumulative_with_sum_and_count() {
        let m = HttpMetrics::default();
        m.request("/v1/golive", 200, 0.004);
        m.request("/v1/golive", 200, 0.2);
        m.request("/v1/golive", 429, 45.0);
        let text = m.render();
        for line in [
            "rtc_golive_http_requests_total{endpoint=\"/v1/golive\",status=\"200\"} 2",
            "rtc_golive_http_requests_total{endpoint=\"/v1/golive\",status=\"429\"} 1",
            "rtc_golive_http_request_duration_seconds_bucket{endpoint=\"/v1/golive\",le=\"0.005\"} 1",
            "rtc_golive_http_request_duration_seconds_bucket{endpoint=\"/v1/golive\",le=\"0.25\"} 2",
            "rtc_golive_http_request_duration_seconds_bucket{endpoint=\"/v1/golive\",le=\"30\"} 2",
            "rtc_golive_http_request_duration_seconds_bucket{endpoint=\"/v1/golive\",le=\"+Inf\"} 3",
            "rtc_golive_http_request_duration_seconds_count{endpoint=\"/v1/golive\"} 3",
        ] {
            assert!(text.contains(line), "{line} not in\n{text}");
        }
    }
}
