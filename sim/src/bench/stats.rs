//! A round's figures, as Caliper reports them: successes and failures, send rate,
//! throughput, latency (min, average, percentiles, max), per second over the round, and the
//! latency histogram.

use super::{resources::round1, round::Measured, spec::RoundSpec};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Buckets of the latency histogram.
const HISTOGRAM_BUCKETS: usize = 20;

/// The report of one round: everything the terminal table, the JSON and the HTML show.
pub(crate) fn report(spec: &RoundSpec, measured: &Measured) -> Value {
    let succeeded = measured.done.len() as u64;
    let failed: u64 = measured.failures.values().sum();
    let first_sent = measured.submitted.iter().min().copied();
    let last_sent = measured.submitted.iter().max().copied();
    let last_done = measured.done.iter().map(|(_, done)| *done).max();
    let span = |from: Option<Instant>, to: Option<Instant>| match (from, to) {
        (Some(from), Some(to)) if to > from => to.duration_since(from).as_secs_f64(),
        _ => 0.0,
    };
    // Caliper: send rate over the sending, throughput from the first send to the last commit.
    let send_seconds = span(first_sent, last_sent);
    let commit_seconds = span(first_sent, last_done);
    let per_second =
        |n: u64, seconds: f64| if seconds > 0.0 { round1(n as f64 / seconds) } else { 0.0 };
    let mut latencies: Vec<f64> = measured
        .done
        .iter()
        .map(|(sent, done)| done.duration_since(*sent).as_secs_f64() * 1000.0)
        .collect();
    latencies.sort_by(f64::total_cmp);
    json!({
        "label": spec.label,
        "workload": spec.workload.to_string(),
        "control": spec.control.to_string(),
        "end": spec.end.to_string(),
        "clients": spec.clients,
        "succeeded": succeeded,
        "failed": failed,
        "success_percent": if succeeded + failed > 0 { round1(succeeded as f64 * 100.0 / (succeeded + failed) as f64) } else { 0.0 },
        "failures": measured.failures,
        "send_rate": per_second(measured.submitted.len() as u64, send_seconds),
        "throughput": per_second(succeeded, commit_seconds),
        "latency_ms": latency_summary(&latencies),
        "timeline": timeline(measured),
        "histogram": histogram(&latencies),
        "resources": measured.resources,
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn latency_summary(sorted: &[f64]) -> Value {
    let avg =
        if sorted.is_empty() { 0.0 } else { sorted.iter().sum::<f64>() / sorted.len() as f64 };
    json!({
        "min": round1(sorted.first().copied().unwrap_or(0.0)),
        "avg": round1(avg),
        "p50": round1(percentile(sorted, 0.50)),
        "p95": round1(percentile(sorted, 0.95)),
        "p99": round1(percentile(sorted, 0.99)),
        "max": round1(sorted.last().copied().unwrap_or(0.0)),
    })
}

/// Per second of the round: requests sent, requests done, their average latency.
fn timeline(measured: &Measured) -> Value {
    let second = |t: &Instant| t.saturating_duration_since(measured.started).as_secs() as usize;
    let last = measured
        .submitted
        .iter()
        .chain(measured.done.iter().map(|(_, done)| done))
        .map(second)
        .max()
        .map_or(0, |s| s + 1);
    let mut sent = vec![0u64; last];
    let mut done = vec![0u64; last];
    let mut latency = vec![Duration::ZERO; last];
    for t in &measured.submitted {
        sent[second(t)] += 1;
    }
    for (s, d) in &measured.done {
        done[second(d)] += 1;
        latency[second(d)] += d.duration_since(*s);
    }
    (0..last)
        .map(|i| {
            let avg = if done[i] > 0 { latency[i].as_secs_f64() * 1000.0 / done[i] as f64 } else { 0.0 };
            json!({ "second": i + 1, "sent": sent[i], "done": done[i], "avg_latency_ms": round1(avg) })
        })
        .collect()
}

/// [`HISTOGRAM_BUCKETS`] equal buckets from the lowest to the highest latency.
fn histogram(sorted: &[f64]) -> Value {
    let (Some(low), Some(high)) = (sorted.first(), sorted.last()) else { return json!([]) };
    let width = ((high - low) / HISTOGRAM_BUCKETS as f64).max(0.001);
    let mut counts = [0u64; HISTOGRAM_BUCKETS];
    for l in sorted {
        counts[(((l - low) / width) as usize).min(HISTOGRAM_BUCKETS - 1)] += 1;
    }
    counts
        .iter()
        .enumerate()
        .map(|(i, count)| {
            json!({ "from_ms": round1(low + width * i as f64), "to_ms": round1(low + width * (i + 1) as f64), "count": count })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::spec::RoundSpec;

    #[test]
    fn figures_of_a_known_round() {
        // Ten requests sent 100 ms apart, each done 50 ms (the last two 250 ms) later; one
        // failure. Caliper's definitions give the expected figures by hand.
        let started = Instant::now();
        let at = |ms: u64| started + Duration::from_millis(ms);
        let submitted: Vec<Instant> = (0..10).map(|i| at(i * 100)).collect();
        let done: Vec<(Instant, Instant)> =
            (0..9).map(|i| (at(i * 100), at(i * 100 + if i >= 7 { 250 } else { 50 }))).collect();
        let measured = Measured {
            started,
            submitted,
            done,
            failures: [("nonce too low".to_string(), 1)].into(),
            resources: json!({}),
        };
        let r = report(&RoundSpec::parse("transfer", 4).unwrap(), &measured);
        assert_eq!((r["succeeded"].as_u64(), r["failed"].as_u64()), (Some(9), Some(1)));
        assert_eq!(r["success_percent"], 90.0);
        // 10 sent over 0.9 s; 9 done from 0 to 1.05 s.
        assert_eq!(r["send_rate"], 11.1);
        assert_eq!(r["throughput"], 8.6);
        let l = &r["latency_ms"];
        assert_eq!(
            (l["min"].as_f64(), l["p50"].as_f64(), l["max"].as_f64()),
            (Some(50.0), Some(50.0), Some(250.0))
        );
        assert_eq!(l["avg"].as_f64().unwrap(), 94.4);
        assert_eq!(r["timeline"][0]["sent"], 10);
        assert_eq!(r["timeline"][1]["done"], 1);
        let buckets = r["histogram"].as_array().unwrap();
        assert_eq!(buckets.len(), HISTOGRAM_BUCKETS);
        assert_eq!(buckets[0]["count"], 7);
        assert_eq!(buckets[HISTOGRAM_BUCKETS - 1]["count"], 2);
    }
}
