//! What the benchmark programs (`examples/bench.rs`, `examples/bench_networks.rs`) need to
//! write their markdown reports: order statistics of measured times, and how numbers and
//! verdicts are printed.

use std::time::{Duration, SystemTime};

/// The most of `times` (sorted) that fall in any window `[t, t + 1 s)`: the busiest second as a
/// vendor counts it (a sliding window, not calendar seconds).
pub fn busiest_second(times: &[SystemTime]) -> usize {
    let mut busiest = 0;
    let mut end = 0;
    for (start, &t) in times.iter().enumerate() {
        while end < times.len() && times[end] < t + Duration::from_secs(1) {
            end += 1;
        }
        busiest = busiest.max(end - start);
    }
    busiest
}

/// Order statistics of a set of durations.
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    /// The shortest.
    pub min: Duration,
    /// The middle one (the mean of the middle two for an even count).
    pub median: Duration,
    /// Nearest-rank 90th percentile.
    pub p90: Duration,
    /// The longest.
    pub max: Duration,
}

impl Stats {
    /// The statistics of `values`. Panics if there are none.
    pub fn of(values: impl IntoIterator<Item = Duration>) -> Stats {
        let mut sorted: Vec<Duration> = values.into_iter().collect();
        sorted.sort_unstable();
        let n = sorted.len();
        assert!(n > 0, "no samples");
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2
        };
        Stats {
            min: sorted[0],
            median,
            p90: sorted[(n * 9).div_ceil(10) - 1],
            max: sorted[n - 1],
        }
    }
}

/// Milliseconds with one decimal.
#[must_use]
pub fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Milliseconds with two decimals, for the short times.
#[must_use]
pub fn ms2(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// Megabytes (10^6 bytes) with one decimal.
#[must_use]
pub fn mb(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1e6)
}

/// A target's result: `PASS`, or `**MISS**` in bold.
#[must_use]
pub fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "**MISS**"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_of_odd_and_even_counts() {
        let ms = Duration::from_millis;
        let odd = Stats::of([ms(3), ms(1), ms(2)]);
        assert_eq!(
            (odd.min, odd.median, odd.p90, odd.max),
            (ms(1), ms(2), ms(3), ms(3))
        );
        let even = Stats::of((1..=10).map(ms));
        assert_eq!(
            (even.median, even.p90),
            (Duration::from_micros(5500), ms(9))
        );
    }

    #[test]
    fn numbers_and_verdicts() {
        assert_eq!(ms(Duration::from_micros(1260)), "1.3");
        assert_eq!(ms2(Duration::from_micros(1260)), "1.26");
        assert_eq!(mb(12_345_678), "12.3");
        assert_eq!((verdict(true), verdict(false)), ("PASS", "**MISS**"));
    }
}
