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
    /// Sessions open.
    pub sessions: u64,
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
        out.push_str("# HELP rtc_golive_sessions Sessions open (with a lease).\n");
        out.push_str("# TYPE rtc_golive_sessions gauge\n");
        let _ = writeln!(out, "rtc_golive_sessions {}", gauges.sessions);
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
