//! `veil-sim` with the real binaries: `init` + `start` bring up seven nodes and seven TMs in
//! 7nodes' layout, `status` shows one leader and six followers with six peers each, a second
//! `start` refuses, `demo` shows the private contract on nodes 1 and 7 only, `stop` stops all;
//! `init --keys` keeps a 7nodes-style key set's accounts, node keys and TM keys.

use std::{path::Path, process::Command};

fn sim(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_veil-sim"))
        .arg("--dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("run veil-sim");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// A port offset of our own, so parallel runs do not share ports.
fn offset() -> String {
    (100 + std::process::id() % 800).to_string()
}

#[test]
fn seven_nodes_start_show_their_state_run_the_private_demo_and_stop() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("qdata");
    let (ok, out) = sim(&dir, &["init", "--port-offset", &offset()]);
    assert!(ok, "{out}");
    for n in 1..=7 {
        for file in [
            format!("dd{n}/nodekey"),
            format!("dd{n}/static-nodes.json"),
            format!("c{n}/tm.pub"),
            format!("c{n}/tm.json"),
        ] {
            assert!(dir.join(&file).exists(), "{file}");
        }
    }
    let (ok, out) = sim(&dir, &["start"]);
    assert!(ok, "{out}");
    let rows: Vec<&str> =
        out.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| node")).collect();
    assert_eq!(rows.len(), 7, "{out}");
    assert_eq!(rows.iter().filter(|r| r.contains("| minter |")).count(), 1, "{out}");
    assert_eq!(rows.iter().filter(|r| r.contains("| verifier |")).count(), 6, "{out}");
    assert!(rows.iter().all(|r| r.contains("| 6 | yes |")), "six peers and a TM each: {out}");

    let (ok, out) = sim(&dir, &["start"]);
    assert!(!ok && out.contains("already running"), "{out}");

    let (ok, out) = sim(&dir, &["demo"]);
    assert!(ok, "{out}");
    let after_set = out.rsplit("calls set(4)").next().unwrap();
    assert!(after_set.contains("| 1 | 4 |") && after_set.contains("| 7 | 4 |"), "{out}");
    for n in 2..=6 {
        assert!(after_set.contains(&format!("| {n} | 0 (no contract here")), "{out}");
    }

    // A console script on node 7 prints from a timer callback.
    let script = root.path().join("count.js");
    std::fs::write(
        &script,
        "setTimeout(function () { console.log('peers', net.peerCount, raft.role); }, 100);",
    )
    .unwrap();
    let (ok, out) = sim(&dir, &["run", "7", script.to_str().unwrap()]);
    assert!(ok && out.contains("peers 6"), "{out}");

    let (ok, out) = sim(&dir, &["stop"]);
    assert!(ok && out.contains("stopped 14 processes"), "{out}");
    let (_, out) = sim(&dir, &["status"]);
    assert_eq!(out.matches("| down | down | down | no | down |").count(), 7, "{out}");
}

#[test]
fn init_keeps_a_7nodes_key_set() {
    let root = tempfile::tempdir().unwrap();
    let first = root.path().join("first");
    let (ok, out) = sim(&first, &["init", "--nodes", "2"]);
    assert!(ok, "{out}");
    // A key set laid out like GoQuorum's 7nodes, taken from the first network.
    let keys = root.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    for n in 1..=2 {
        let keystore = std::fs::read_dir(first.join(format!("dd{n}/keystore")))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        std::fs::copy(keystore, keys.join(format!("key{n}"))).unwrap();
        std::fs::copy(first.join(format!("dd{n}/nodekey")), keys.join(format!("nodekey{n}")))
            .unwrap();
        std::fs::copy(first.join(format!("c{n}/tm.pub")), keys.join(format!("tm{n}.pub"))).unwrap();
        std::fs::copy(first.join(format!("c{n}/tm.key")), keys.join(format!("tm{n}.key"))).unwrap();
    }
    let second = root.path().join("second");
    let (ok, out) = sim(&second, &["init", "--nodes", "2", "--keys", keys.to_str().unwrap()]);
    assert!(ok, "{out}");
    let read = |path: std::path::PathBuf| std::fs::read_to_string(path).unwrap();
    assert_eq!(
        read(first.join("genesis.json")),
        read(second.join("genesis.json")),
        "same funded accounts"
    );
    for n in 1..=2 {
        assert_eq!(
            read(first.join(format!("c{n}/tm.pub"))),
            read(second.join(format!("c{n}/tm.pub")))
        );
        assert_eq!(
            read(first.join(format!("dd{n}/nodekey"))),
            read(second.join(format!("dd{n}/nodekey")))
        );
    }
    assert_eq!(
        read(first.join("dd1/static-nodes.json")),
        read(second.join("dd1/static-nodes.json")),
        "same node ids"
    );
    let (ok, out) = sim(&second, &["init"]);
    assert!(!ok && out.contains("already holds a network"), "{out}");
}
