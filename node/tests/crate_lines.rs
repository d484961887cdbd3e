//! The crate lines of DESIGN.md and the chain-engine design, checked on the resolved
//! dependency graph (`cargo metadata`): what each crate links through its normal
//! dependencies, transitively.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

/// Every package each package reaches through normal dependencies, by package name.
fn links() -> HashMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let rustc = Command::new("rustc").arg("-vV").output().expect("rustc -vV runs");
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("rustc -vV names the host");
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--filter-platform", &host])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let name_of: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (p["id"].as_str().expect("id"), p["name"].as_str().expect("name")))
        .collect();
    let direct: HashMap<&str, Vec<&str>> = metadata["resolve"]["nodes"]
        .as_array()
        .expect("resolve nodes")
        .iter()
        .map(|node| {
            let normal = node["deps"]
                .as_array()
                .expect("deps")
                .iter()
                .filter(|dep| {
                    dep["dep_kinds"].as_array().expect("kinds").iter().any(|k| k["kind"].is_null())
                })
                .map(|dep| dep["pkg"].as_str().expect("pkg"))
                .collect();
            (node["id"].as_str().expect("id"), normal)
        })
        .collect();
    direct
        .keys()
        .map(|&root| {
            let mut seen = BTreeSet::new();
            let mut stack = vec![root];
            while let Some(id) = stack.pop() {
                for &dep in direct.get(id).into_iter().flatten() {
                    if seen.insert(name_of[dep].to_owned()) {
                        stack.push(dep);
                    }
                }
            }
            (name_of[root].to_owned(), seen)
        })
        .collect()
}

#[test]
fn the_crate_lines_hold() {
    let links = links();
    let never = |krate: &str, forbidden: &[&str]| {
        let linked = &links[krate];
        for other in forbidden {
            assert!(!linked.contains(*other), "{krate} must not link {other}, but does");
        }
    };
    // Key material cannot end up in the node.
    never("veil-node", &["veil-enclave", "veil-txmanager"]);
    never("veil-rpc", &["veil-enclave", "veil-txmanager"]);
    // The TM knows nothing of the chain.
    never("veil-txmanager", &["veil-evm", "veil-consensus", "veil-p2p", "veil-chain", "veil-node"]);
    // Sans-IO crates.
    never("veil-evm", &["tokio"]);
    never("veil-consensus", &["tokio", "veil-p2p"]);
    never("veil-enclave", &["tokio"]);
    never("veil-p2p", &["veil-consensus"]);
    // The chain engine knows no consensus engine and no RPC; the RPC knows no engine, and
    // no engine knows the RPC.
    never("veil-chain", &["veil-consensus", "veil-p2p", "veil-rpc", "veil-node"]);
    never("veil-rpc", &["veil-consensus", "veil-p2p", "veil-node"]);
    never("veil-consensus", &["veil-rpc"]);
    // And the check itself sees links: the node does link what it assembles.
    for assembled in ["veil-chain", "veil-rpc", "veil-consensus", "veil-p2p", "tokio"] {
        assert!(links["veil-node"].contains(assembled), "veil-node links {assembled}");
    }
}
