//! What the network's processes use during a round, sampled from `/proc` once a second:
//! CPU, resident memory and disk IO per process, network IO per network namespace (a
//! process's `/proc/PID/net/dev` counts its whole namespace: one host under `--hosts`, the
//! shared loopback otherwise).

use serde_json::{json, Value};
use std::{collections::BTreeMap, time::Duration};

/// A process to watch.
#[derive(Clone, Debug)]
pub(crate) struct Watched {
    pub(crate) name: String,
    pub(crate) pid: u32,
}

#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    cpu_seconds: f64,
    rss_bytes: u64,
    read_bytes: u64,
    write_bytes: u64,
}

fn sample(pid: u32) -> Option<Sample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |text: &str, name: &str| -> Option<u64> {
        text.lines().find(|l| l.starts_with(name))?.split_whitespace().nth(1)?.parse().ok()
    };
    let rss_kib = field(&status, "VmRSS:")?;
    // Disk IO needs the same user or root; without it the process still counts.
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
    Some(Sample {
        cpu_seconds: ticks / CLOCK_TICKS,
        rss_bytes: rss_kib * 1024,
        read_bytes: field(&io, "read_bytes:").unwrap_or(0),
        write_bytes: field(&io, "write_bytes:").unwrap_or(0),
    })
}

/// The kernel's clock ticks per second for `/proc/PID/stat` (USER_HZ: 100 on Linux).
const CLOCK_TICKS: f64 = 100.0;

/// The network namespace of `pid` and its bytes received and sent over every interface.
fn network(pid: u32) -> Option<(String, u64, u64)> {
    let namespace = std::fs::read_link(format!("/proc/{pid}/ns/net")).ok()?;
    let dev = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).ok()?;
    let (mut rx, mut tx) = (0u64, 0u64);
    for line in dev.lines().skip(2) {
        let Some((_, counters)) = line.split_once(':') else { continue };
        let numbers: Vec<u64> =
            counters.split_whitespace().filter_map(|n| n.parse().ok()).collect();
        rx += numbers.first().copied().unwrap_or(0);
        tx += numbers.get(8).copied().unwrap_or(0);
    }
    Some((namespace.to_string_lossy().into_owned(), rx, tx))
}

/// Samples taken during a round.
pub(crate) struct Recording {
    processes: Vec<Watched>,
    interval: Duration,
    samples: Vec<Vec<Option<Sample>>>,
    networks_before: BTreeMap<String, (Vec<String>, u64, u64)>,
    networks_after: BTreeMap<String, (u64, u64)>,
}

impl Recording {
    pub(crate) fn start(processes: Vec<Watched>, interval: Duration) -> Self {
        let mut networks_before: BTreeMap<String, (Vec<String>, u64, u64)> = BTreeMap::new();
        for p in &processes {
            if let Some((namespace, rx, tx)) = network(p.pid) {
                networks_before
                    .entry(namespace)
                    .or_insert((Vec::new(), rx, tx))
                    .0
                    .push(p.name.clone());
            }
        }
        let mut recording = Self {
            processes,
            interval,
            samples: Vec::new(),
            networks_before,
            networks_after: BTreeMap::new(),
        };
        recording.sample();
        recording
    }

    /// Takes one sample of every process.
    pub(crate) fn sample(&mut self) {
        self.samples.push(self.processes.iter().map(|p| sample(p.pid)).collect());
    }

    /// The last sample, and the network counters at the end.
    pub(crate) fn finish(&mut self) {
        self.sample();
        for p in &self.processes {
            if let Some((namespace, rx, tx)) = network(p.pid) {
                self.networks_after.insert(namespace, (rx, tx));
            }
        }
    }

    /// Per process: CPU (average and busiest interval, % of one core), memory (average and
    /// peak MiB), disk read and written (MB); per network namespace: MB in and out.
    pub(crate) fn summary(&self) -> Value {
        let seconds = self.interval.as_secs_f64();
        let processes: Vec<Value> = self
            .processes
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let series: Vec<Sample> = self.samples.iter().filter_map(|s| s[i]).collect();
                let (Some(first), Some(last)) = (series.first(), series.last()) else {
                    return json!({ "name": p.name, "pid": p.pid, "running": false });
                };
                let cpu: Vec<f64> = series
                    .windows(2)
                    .map(|w| (w[1].cpu_seconds - w[0].cpu_seconds) / seconds * 100.0)
                    .collect();
                let rss: Vec<f64> = series.iter().map(|s| s.rss_bytes as f64 / MIB).collect();
                json!({
                    "name": p.name, "pid": p.pid, "running": true,
                    "cpu_avg_percent": round1(mean(&cpu)),
                    "cpu_max_percent": round1(cpu.iter().copied().fold(0.0, f64::max)),
                    "memory_avg_mib": round1(mean(&rss)),
                    "memory_max_mib": round1(rss.iter().copied().fold(0.0, f64::max)),
                    "disk_read_mb": round1(last.read_bytes.saturating_sub(first.read_bytes) as f64 / MB),
                    "disk_write_mb": round1(last.write_bytes.saturating_sub(first.write_bytes) as f64 / MB),
                    "cpu_percent_per_interval": cpu.iter().map(|c| round1(*c)).collect::<Vec<_>>(),
                })
            })
            .collect();
        let networks: Vec<Value> = self
            .networks_before
            .iter()
            .filter_map(|(namespace, (names, rx0, tx0))| {
                let (rx1, tx1) = self.networks_after.get(namespace)?;
                Some(json!({
                    "namespace": namespace, "processes": names,
                    "received_mb": round1(rx1.saturating_sub(*rx0) as f64 / MB),
                    "sent_mb": round1(tx1.saturating_sub(*tx0) as f64 / MB),
                }))
            })
            .collect();
        json!({ "interval_seconds": seconds, "processes": processes, "networks": networks })
    }
}

const MIB: f64 = 1024.0 * 1024.0;
const MB: f64 = 1_000_000.0;

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

pub(crate) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_process_shows_cpu_and_memory() {
        let me = Watched { name: "me".into(), pid: std::process::id() };
        let mut recording = Recording::start(vec![me], Duration::from_millis(200));
        // Busy until this process has used 200 ms of CPU, however loaded the machine is.
        let used = || sample(std::process::id()).expect("this process's /proc").cpu_seconds;
        let start = used();
        let mut x = 0u64;
        while used() < start + 0.2 {
            for _ in 0..100_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
        }
        std::hint::black_box(x);
        recording.finish();
        let summary = recording.summary();
        let me = &summary["processes"][0];
        assert!(me["cpu_max_percent"].as_f64().unwrap() > 0.0, "{me}");
        assert!(me["memory_max_mib"].as_f64().unwrap() > 1.0, "{me}");
        assert_eq!(summary["networks"][0]["processes"][0], "me");
    }
}
