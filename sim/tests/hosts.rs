//! `veil-sim init --hosts` (issue 19): seven hosts — a network namespace each, with its own
//! address on a bridge, a node and its TM inside — with 20 ms ± 5 ms between them through the
//! link proxy. The private demo runs across them (the parties read 42, the others 0); under
//! load, two hosts are cut off (their links down) for at least 10 s while the other five keep
//! mining, then healed: every transaction any node acknowledged is mined on every node, and
//! every node has the same block at every height. Under Raft and under QBFT. Needs root (CI
//! is).

mod support;

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};
use support::{call, sim, Running};
use veil_testkit::wait_until;

fn quantity(value: &serde_json::Value) -> u64 {
    value
        .as_str()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0)
}

#[test]
fn seven_raft_hosts_with_delayed_links_run_the_demo_and_survive_a_partition_of_two() {
    // Offset 47: hosts 10.200.47.11–17, namespaces vs47h1–7, bridge vsb47 (QBFT: 48).
    partition_of_two("raft", 47);
}

#[test]
fn seven_qbft_hosts_with_delayed_links_run_the_demo_and_survive_a_partition_of_two() {
    partition_of_two("qbft", 48);
}

fn partition_of_two(consensus: &str, offset: u16) {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("qdata");
    let offset_arg = offset.to_string();
    let (ok, out) =
        sim(&dir, &["init", "--hosts", "--consensus", consensus, "--port-offset", &offset_arg]);
    assert!(ok, "{out}");
    let _running = Running(&dir);
    let (ok, out) = sim(&dir, &["start"]);
    assert!(ok, "{out}");
    let (ok, out) = sim(&dir, &["delay", "20", "--jitter", "5"]);
    assert!(ok, "{out}");
    let (ok, out) = sim(&dir, &["demo"]);
    assert!(ok, "{out}");
    assert!(out.contains("| 1 | 42 |") && out.contains("| 7 | 42 |"), "{out}");
    assert!(out.contains("| 2 | 0 (no contract here: not a party) |"), "{out}");

    let url =
        |n: usize| format!("http://10.200.{offset}.{}:{}", 10 + n, 22000 + offset + n as u16 - 1);
    let head =
        |n: usize| call(&url(n), "eth_blockNumber", serde_json::json!([])).map(|h| quantity(&h));
    let peers =
        |n: usize| call(&url(n), "net_peerCount", serde_json::json!([])).map(|p| quantity(&p));

    // Load: each node's unlocked account sends itself 1 wei, ten a second; what a node
    // acknowledges (a hash) is recorded.
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let clients: Vec<_> = (1..=7)
        .map(|n| {
            let (stop, acknowledged, url) = (stop.clone(), acknowledged.clone(), url(n));
            std::thread::spawn(move || {
                let Some(accounts) = call(&url, "eth_accounts", serde_json::json!([])) else {
                    return;
                };
                let from = accounts[0].clone();
                while !stop.load(Ordering::SeqCst) {
                    let tx = serde_json::json!([{ "from": from, "to": from, "value": "0x1" }]);
                    if let Some(hash) = call(&url, "eth_sendTransaction", tx) {
                        acknowledged.lock().unwrap().push(hash.as_str().unwrap().to_string());
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        })
        .collect();
    let acked = || acknowledged.lock().unwrap().len();
    wait_until("30 acknowledged transfers", Duration::from_secs(60), || acked() >= 30);

    for n in ["6", "7"] {
        let (ok, out) = sim(&dir, &["cut", n]);
        assert!(ok, "{out}");
    }
    let cut_at = Instant::now();
    let cut_head = head(1).unwrap();
    wait_until("node 1 to lose the two hosts", Duration::from_secs(60), || {
        peers(1).is_some_and(|p| p <= 4)
    });
    wait_until("the five to mine on for 10 s", Duration::from_secs(90), || {
        cut_at.elapsed() >= Duration::from_secs(10) && head(1).is_some_and(|h| h >= cut_head + 5)
    });
    for n in ["6", "7"] {
        let (ok, out) = sim(&dir, &["heal", n]);
        assert!(ok, "{out}");
    }
    let healed_acks = acked();
    wait_until("the two back with six peers each", Duration::from_secs(120), || {
        peers(6).is_some_and(|p| p == 6) && peers(7).is_some_and(|p| p == 6)
    });
    wait_until("20 more acknowledged transfers", Duration::from_secs(60), || {
        acked() >= healed_acks + 20
    });
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.join().unwrap();
    }

    let hashes = acknowledged.lock().unwrap().clone();
    wait_until("every acknowledged transfer mined on every node", Duration::from_secs(180), || {
        (1..=7).all(|n| {
            hashes.iter().all(|hash| {
                call(&url(n), "eth_getTransactionReceipt", serde_json::json!([hash]))
                    .is_some_and(|r| !r.is_null())
            })
        })
    });
    let top = (1..=7).map(|n| head(n).unwrap()).min().unwrap();
    for number in 1..=top {
        let block: Vec<serde_json::Value> = (1..=7)
            .map(|n| {
                call(
                    &url(n),
                    "eth_getBlockByNumber",
                    serde_json::json!([format!("{number:#x}"), false]),
                )
                .unwrap()["hash"]
                    .clone()
            })
            .collect();
        assert!(block.windows(2).all(|w| w[0] == w[1]), "block {number}: {block:?}");
    }
    let (ok, out) = sim(&dir, &["stop"]);
    assert!(ok, "{out}");
    let namespaces = std::process::Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&namespaces.stdout).contains(&format!("vs{offset}h")),
        "namespaces left behind; `stop` said: {out}"
    );
}
