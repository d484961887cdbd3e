//! Raft networks of real `veil` processes on loopback: transactions sent round-robin to all seven
//! nodes are all mined exactly once and every node reaches the same head and state root; a
//! killed leader is replaced and, restarted, catches up; a fourth node joins, syncs, votes and
//! is removed; a permissioned network keeps out a node it does not list. Partitions, message
//! loss and the cut-off member's acknowledged transaction run in one process on the harness
//! (`raft_harness.rs`).

mod support;

use alloy_primitives::hex;
use serde_json::{json, Value};
use std::{collections::HashSet, path::Path, time::Duration};
use support::{free_port, raft_network, rpc_call, wait_until, VeilProcess};
use veil_p2p::{Enode, NodeKey};

fn raw_transfer(sender: usize, nonce: u64) -> String {
    format!("0x{}", hex::encode(support::dev_transfer(sender, nonce).encoded_2718()))
}

/// The enodes of a network's static-nodes.json, in raft id order.
fn enodes(dir: &Path) -> Vec<String> {
    serde_json::from_str(&std::fs::read_to_string(dir.join("static-nodes.json")).unwrap()).unwrap()
}

fn start(dir: &Path, port: u16) -> VeilProcess {
    let port = port.to_string();
    VeilProcess::start_dev(
        dir,
        &[
            "--raft",
            "--port",
            &port,
            "--ipcdisable",
            "--http.api",
            "eth,net,web3,raft,admin",
            "--verbosity",
            "4",
        ],
    )
}

fn head(url: &str) -> (String, String, u64) {
    let block = rpc_call(url, "eth_getBlockByNumber", json!(["latest", false])).unwrap();
    let number =
        u64::from_str_radix(block["number"].as_str().unwrap().trim_start_matches("0x"), 16)
            .unwrap();
    (block["hash"].as_str().unwrap().into(), block["stateRoot"].as_str().unwrap().into(), number)
}

fn leader(nodes: &[Option<VeilProcess>]) -> Option<usize> {
    nodes.iter().position(|n| {
        n.as_ref()
            .is_some_and(|n| n.call("raft_role", json!([])).ok() == Some(Value::from("minter")))
    })
}

#[test]
fn seven_nodes_mine_round_robin_transactions_once_and_agree() {
    let root = tempfile::tempdir().unwrap();
    let dirs = raft_network(root.path(), 7);
    let nodes: Vec<Option<VeilProcess>> = dirs.iter().map(|(d, p)| Some(start(d, *p))).collect();
    wait_until("a leader", Duration::from_secs(60), || leader(&nodes).is_some());
    wait_until("every node connected to the others", Duration::from_secs(30), || {
        nodes
            .iter()
            .flatten()
            .all(|n| n.call("net_peerCount", json!([])).ok() == Some(json!("0x6")))
    });

    // Ten senders, three transactions each, sent round-robin to the seven nodes.
    let mut hashes = Vec::new();
    for nonce in 0..3u64 {
        for sender in 0..10 {
            let node = nodes[(sender + 10 * nonce as usize) % 7].as_ref().unwrap();
            let hash =
                node.call("eth_sendRawTransaction", json!([raw_transfer(sender, nonce)])).unwrap();
            hashes.push(hash);
        }
    }
    for node in nodes.iter().flatten() {
        wait_until("every transaction mined on every node", Duration::from_secs(60), || {
            hashes.iter().all(|h| {
                node.call("eth_getTransactionReceipt", json!([h])).is_ok_and(|r| !r.is_null())
            })
        });
    }
    // Mined once: the blocks hold 30 transactions in all, no hash twice.
    let url = &nodes[0].as_ref().unwrap().url;
    let (_, _, number) = head(url);
    let mut seen = HashSet::new();
    for n in 1..=number {
        let block =
            rpc_call(url, "eth_getBlockByNumber", json!([format!("0x{n:x}"), false])).unwrap();
        for tx in block["transactions"].as_array().unwrap() {
            assert!(seen.insert(tx.as_str().unwrap().to_string()), "{tx} mined twice");
        }
    }
    assert_eq!(seen.len(), 30);
    wait_until("one head everywhere", Duration::from_secs(30), || {
        let heads: HashSet<_> = nodes.iter().flatten().map(|n| head(&n.url)).collect();
        heads.len() == 1
    });
}

#[test]
fn a_killed_leader_is_replaced_and_catches_up_after_restart() {
    let root = tempfile::tempdir().unwrap();
    let dirs = raft_network(root.path(), 3);
    let mut nodes: Vec<Option<VeilProcess>> =
        dirs.iter().map(|(d, p)| Some(start(d, *p))).collect();
    wait_until("a leader", Duration::from_secs(60), || leader(&nodes).is_some());
    let old = leader(&nodes).unwrap();
    let first = nodes[(old + 1) % 3]
        .as_ref()
        .unwrap()
        .call("eth_sendRawTransaction", json!([raw_transfer(0, 0)]))
        .unwrap();
    let mined = |node: &VeilProcess, hash: &Value| {
        node.call("eth_getTransactionReceipt", json!([hash])).is_ok_and(|r| !r.is_null())
    };
    wait_until("the first transfer mined", Duration::from_secs(30), || {
        nodes.iter().flatten().all(|n| mined(n, &first))
    });

    nodes[old].take().unwrap().kill9();
    wait_until("a new leader", Duration::from_secs(60), || {
        leader(&nodes).is_some_and(|l| l != old)
    });
    let survivor = nodes.iter().flatten().next().unwrap();
    let second = survivor.call("eth_sendRawTransaction", json!([raw_transfer(0, 1)])).unwrap();
    wait_until("blocks go on without the old leader", Duration::from_secs(30), || {
        nodes.iter().flatten().all(|n| mined(n, &second))
    });

    nodes[old] = Some(start(&dirs[old].0, dirs[old].1));
    let restarted = nodes[old].as_ref().unwrap();
    wait_until("the old leader catches up", Duration::from_secs(60), || mined(restarted, &second));
    assert_ne!(restarted.call("raft_role", json!([])).unwrap(), json!("minter"), "it follows");
    let third = restarted.call("eth_sendRawTransaction", json!([raw_transfer(0, 2)])).unwrap();
    wait_until("its transaction is mined everywhere", Duration::from_secs(30), || {
        nodes.iter().flatten().all(|n| mined(n, &third))
    });
    wait_until("one head everywhere", Duration::from_secs(30), || {
        nodes.iter().flatten().map(|n| head(&n.url)).collect::<HashSet<_>>().len() == 1
    });
}

#[test]
fn a_fourth_node_joins_with_raft_add_peer_syncs_votes_and_is_removed() {
    let root = tempfile::tempdir().unwrap();
    let dirs = raft_network(root.path(), 3);
    let mut nodes: Vec<Option<VeilProcess>> =
        dirs.iter().map(|(d, p)| Some(start(d, *p))).collect();
    wait_until("a leader", Duration::from_secs(60), || leader(&nodes).is_some());
    let first = nodes[0]
        .as_ref()
        .unwrap()
        .call("eth_sendRawTransaction", json!([raw_transfer(1, 0)]))
        .unwrap();
    let mined = |node: &VeilProcess, hash: &Value| {
        node.call("eth_getTransactionReceipt", json!([hash])).is_ok_and(|r| !r.is_null())
    };
    wait_until("a first block", Duration::from_secs(30), || {
        mined(nodes[0].as_ref().unwrap(), &first)
    });

    // The new node: its own key, the existing members as static nodes.
    let dir = root.path().join("node3");
    std::fs::create_dir_all(&dir).unwrap();
    let key = NodeKey::load_or_create(&dir.join("nodekey")).unwrap();
    let port = free_port();
    let enode =
        Enode { public: key.public(), host: "127.0.0.1".into(), port, raft_port: Some(port) };
    std::fs::copy(dirs[0].0.join("static-nodes.json"), dir.join("static-nodes.json")).unwrap();
    let id = nodes[0].as_ref().unwrap().call("raft_addPeer", json!([enode.to_string()])).unwrap();
    assert_eq!(id, json!(4));
    wait_until("the membership change committed", Duration::from_secs(30), || {
        nodes[0]
            .as_ref()
            .unwrap()
            .call("raft_cluster", json!([]))
            .unwrap()
            .as_array()
            .unwrap()
            .len()
            == 4
    });
    let again =
        nodes[0].as_ref().unwrap().call("raft_addPeer", json!([enode.to_string()])).unwrap_err();
    assert!(again.contains("already a member"), "{again}");
    let port_text = port.to_string();
    let joiner = VeilProcess::start_dev(
        &dir,
        &[
            "--raft",
            "--raftjoinexisting",
            "4",
            "--port",
            &port_text,
            "--ipcdisable",
            "--http.api",
            "eth,net,web3,raft,admin",
        ],
    );
    wait_until("the joiner syncs the chain", Duration::from_secs(60), || mined(&joiner, &first));
    assert_eq!(joiner.call("raft_role", json!([])).unwrap(), json!("verifier"));
    // It takes part: its transaction is mined everywhere, and with one old member down the
    // remaining three (it included) still commit.
    let second = joiner.call("eth_sendRawTransaction", json!([raw_transfer(1, 1)])).unwrap();
    wait_until("the joiner's transaction mined", Duration::from_secs(30), || {
        nodes.iter().flatten().all(|n| mined(n, &second))
    });
    let follower = (0..3).find(|i| Some(*i) != leader(&nodes)).unwrap();
    nodes[follower].take().unwrap().kill9();
    let third = joiner.call("eth_sendRawTransaction", json!([raw_transfer(1, 2)])).unwrap();
    wait_until("a block with one of four down", Duration::from_secs(30), || mined(&joiner, &third));

    // Removed: the cluster is back to three ids, and its id is not handed out again.
    let live = nodes.iter().flatten().next().unwrap();
    live.call("raft_removePeer", json!([4])).unwrap();
    wait_until("the removal committed", Duration::from_secs(30), || {
        live.call("raft_cluster", json!([])).unwrap().as_array().unwrap().len() == 3
    });
    let other = NodeKey::load_or_create(&root.path().join("other-nodekey")).unwrap();
    let other = Enode {
        public: other.public(),
        host: "127.0.0.1".into(),
        port: free_port(),
        raft_port: None,
    };
    assert_eq!(live.call("raft_addPeer", json!([other.to_string()])).unwrap(), json!(5));
}

#[test]
fn a_permissioned_network_keeps_out_a_node_it_does_not_list() {
    let root = tempfile::tempdir().unwrap();
    let dirs = raft_network(root.path(), 3);
    let enodes = enodes(&dirs[0].0);
    for (dir, _) in &dirs {
        std::fs::write(
            dir.join("permissioned-nodes.json"),
            serde_json::to_string(&enodes[..2]).unwrap(),
        )
        .unwrap();
    }
    let nodes: Vec<VeilProcess> = dirs
        .iter()
        .map(|(d, p)| {
            let port = p.to_string();
            VeilProcess::start_dev(
                d,
                &[
                    "--raft",
                    "--permissioned",
                    "--port",
                    &port,
                    "--ipcdisable",
                    "--http.api",
                    "eth,net,web3,raft,admin",
                ],
            )
        })
        .collect();
    wait_until("the two listed nodes connect", Duration::from_secs(30), || {
        nodes[..2].iter().all(|n| n.call("net_peerCount", json!([])).ok() == Some(json!("0x1")))
    });
    wait_until("the outsider to be refused", Duration::from_secs(30), || {
        nodes[..2].iter().any(|n| {
            n.startup_log.iter().any(|l| l.contains("peer denied"))
                || log_contains(n, "peer denied")
        })
    });
    assert_eq!(nodes[2].call("net_peerCount", json!([])).unwrap(), json!("0x0"));
}

fn log_contains(node: &VeilProcess, text: &str) -> bool {
    node.log.try_iter().any(|line| line.contains(text))
}
