//! The process' resources under geth's metric names, read from `/proc` at each scrape:
//! `system_cpu_procload` (percent of one CPU since the last scrape, as geth's), `system_cpu_threads`,
//! `system_memory_used` (resident bytes), `system_memory_held` (virtual bytes),
//! `system_disk_readbytes` and `system_disk_writebytes` (since start). Where `/proc` cannot be
//! read (not Linux), they are left out.

use std::time::Instant;

/// Clock ticks per second of `/proc/self/stat`'s CPU times (Linux' USER_HZ).
const TICKS_PER_SECOND: f64 = 100.0;

/// What the last sample saw, for rates.
#[derive(Default)]
pub(crate) struct Sampler {
    last: Option<(Instant, u64)>,
}

impl Sampler {
    /// Reads `/proc/self` and sets the gauges.
    pub(crate) fn sample(&mut self) {
        if let Some(ticks) = cpu_ticks() {
            let now = Instant::now();
            if let Some((then, before)) = self.last {
                let seconds = now.duration_since(then).as_secs_f64();
                if seconds > 0.0 {
                    let busy = ticks.saturating_sub(before) as f64 / TICKS_PER_SECOND;
                    metrics::gauge!("system_cpu_procload").set(100.0 * busy / seconds);
                }
            }
            self.last = Some((now, ticks));
        }
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            for (field, name, scale) in [
                ("Threads:", "system_cpu_threads", 1.0),
                ("VmRSS:", "system_memory_used", 1024.0),
                ("VmSize:", "system_memory_held", 1024.0),
            ] {
                if let Some(value) = field_value(&status, field) {
                    metrics::gauge!(name).set(value * scale);
                }
            }
        }
        if let Ok(io) = std::fs::read_to_string("/proc/self/io") {
            for (field, name) in [
                ("read_bytes:", "system_disk_readbytes"),
                ("write_bytes:", "system_disk_writebytes"),
            ] {
                if let Some(value) = field_value(&io, field) {
                    metrics::gauge!(name).set(value);
                }
            }
        }
    }
}

/// User plus system CPU time of this process, in clock ticks.
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces; the fields after its closing parenthesis do not.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The number after `field` on its line of a `/proc` file.
fn field_value(text: &str, field: &str) -> Option<f64> {
    let line = text.lines().find(|line| line.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_fields_are_read_by_name_and_the_cpu_time_after_the_command() {
        let status = "Name:\tveil\nThreads:\t12\nVmRSS:\t  2048 kB\n";
        assert_eq!(field_value(status, "Threads:"), Some(12.0));
        assert_eq!(field_value(status, "VmRSS:"), Some(2048.0));
        assert_eq!(field_value(status, "VmSize:"), None);
        assert!(cpu_ticks().is_some(), "this test runs on Linux");
    }
}
