//! The link proxy between hosts (a test tool, not production code): `veil-sim link-proxy`
//! listens on the bridge's address at every node's p2p port and every TM's P2P port and
//! carries each connection to that host's own address, delaying every chunk in each direction
//! by the links' delay ± jitter (uniform), in order. Peers dial these addresses (the enodes of
//! `static-nodes.json` and the TMs' advertised URLs name them), so all traffic between hosts
//! goes through here and over the hosts' links. The delay is read from `DIR/links.json`
//! (`veil-sim delay`) twice a second, so it changes under a running network.

use crate::layout::Layout;
use rand::Rng;
use std::{
    io::{Read, Write},
    net::{Shutdown, TcpListener, TcpStream},
    path::Path,
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc, Arc,
    },
    time::{Duration, Instant},
};

/// The links' delay and jitter in microseconds, as the proxy last read them.
#[derive(Debug, Default)]
struct Delay {
    base: AtomicU64,
    jitter: AtomicU64,
}

impl Delay {
    fn sample(&self) -> Duration {
        let base = self.base.load(Ordering::Relaxed);
        let jitter = self.jitter.load(Ordering::Relaxed).min(base);
        let micros = if jitter == 0 {
            base
        } else {
            rand::thread_rng().gen_range(base - jitter..=base + jitter)
        };
        Duration::from_micros(micros)
    }

    fn read(&self, file: &Path) {
        let Ok(text) = std::fs::read_to_string(file) else { return };
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else { return };
        let micros = |key: &str| (value[key].as_f64().unwrap_or(0.0) * 1000.0) as u64;
        self.base.store(micros("delayMs"), Ordering::Relaxed);
        self.jitter.store(micros("jitterMs"), Ordering::Relaxed);
    }
}

/// The file `veil-sim delay` writes.
pub(crate) fn settings_file(layout: &Layout) -> std::path::PathBuf {
    layout.dir.join("links.json")
}

/// Sets the delay between hosts (milliseconds) and its jitter.
pub(crate) fn set_delay(layout: &Layout, delay_ms: f64, jitter_ms: f64) -> eyre::Result<()> {
    eyre::ensure!(layout.hosts, "delay needs a network made with `init --hosts`");
    eyre::ensure!(delay_ms >= 0.0 && jitter_ms >= 0.0, "delay and jitter cannot be negative");
    eyre::ensure!(jitter_ms <= delay_ms, "the jitter cannot exceed the delay");
    let value = serde_json::json!({ "delayMs": delay_ms, "jitterMs": jitter_ms });
    Ok(std::fs::write(settings_file(layout), value.to_string())?)
}

/// Runs the proxy until killed.
pub(crate) fn run(layout: &Layout) -> eyre::Result<()> {
    let delay = Arc::new(Delay::default());
    let file = settings_file(layout);
    delay.read(&file);
    let mut listeners = Vec::new();
    for n in layout.numbers() {
        for port in [layout.p2p_port(n), layout.tm_p2p_port(n)] {
            let listener = TcpListener::bind((layout.bridge_ip().as_str(), port))
                .map_err(|e| eyre::eyre!("binding {}:{port}: {e}", layout.bridge_ip()))?;
            listeners.push((listener, format!("{}:{port}", layout.host_ip(n))));
        }
    }
    for (listener, target) in listeners {
        let delay = delay.clone();
        std::thread::spawn(move || {
            for inbound in listener.incoming().flatten() {
                let (delay, target) = (delay.clone(), target.clone());
                std::thread::spawn(move || carry(inbound, &target, delay));
            }
        });
    }
    loop {
        std::thread::sleep(Duration::from_millis(500));
        delay.read(&file);
    }
}

/// Carries one connection to `target`, delayed both ways.
fn carry(inbound: TcpStream, target: &str, delay: Arc<Delay>) {
    let Ok(outbound) = TcpStream::connect(target) else { return };
    let _ = (inbound.set_nodelay(true), outbound.set_nodelay(true));
    let (Ok(inbound_2), Ok(outbound_2)) = (inbound.try_clone(), outbound.try_clone()) else {
        return;
    };
    let back = delay.clone();
    std::thread::spawn(move || pump(outbound_2, inbound_2, &back));
    pump(inbound, outbound, &delay);
}

/// Copies `from` to `to`, each chunk sent its delay after it arrived and never before the one
/// before it; closes both when either side ends.
fn pump(mut from: TcpStream, to: TcpStream, delay: &Delay) {
    let (chunks, queue) = mpsc::channel::<(Instant, Vec<u8>)>();
    let Ok(from_again) = from.try_clone() else { return };
    let writer = std::thread::spawn(move || {
        let mut to = to;
        for (at, chunk) in queue {
            if let Some(wait) = at.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
        let _ = from_again.shutdown(Shutdown::Both);
    });
    let mut last = Instant::now();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        last = last.max(Instant::now() + delay.sample());
        if chunks.send((last, buffer[..read].to_vec())).is_err() {
            break;
        }
    }
    drop(chunks);
    let _ = writer.join();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chunk_arrives_in_order_no_sooner_than_the_delay_minus_the_jitter() {
        let delay = Arc::new(Delay::default());
        delay.base.store(30_000, Ordering::Relaxed);
        delay.jitter.store(10_000, Ordering::Relaxed);
        let echo = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let echo_port = echo.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut stream, _) = echo.accept().unwrap();
            let mut buffer = [0u8; 1024];
            while let Ok(n) = stream.read(&mut buffer) {
                if n == 0 || stream.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        });
        let proxy = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let proxy_port = proxy.local_addr().unwrap().port();
        let carried = delay.clone();
        std::thread::spawn(move || {
            let (inbound, _) = proxy.accept().unwrap();
            carry(inbound, &format!("127.0.0.1:{echo_port}"), carried);
        });
        let mut client = TcpStream::connect(("127.0.0.1", proxy_port)).unwrap();
        let mut received = Vec::new();
        for round in 0..5u8 {
            let sent = Instant::now();
            client.write_all(&[round; 100]).unwrap();
            let mut echoed = [0u8; 100];
            client.read_exact(&mut echoed).unwrap();
            // Through the proxy twice (there and back): at least 2 × (30 − 10) ms.
            assert!(sent.elapsed() >= Duration::from_millis(40), "{:?}", sent.elapsed());
            received.extend_from_slice(&echoed);
        }
        let expected: Vec<u8> = (0..5u8).flat_map(|r| [r; 100]).collect();
        assert_eq!(received, expected);
    }
}
