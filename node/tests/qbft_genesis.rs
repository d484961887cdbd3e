//! GoQuorum 7nodes' own `qbft-genesis.json`, unchanged, with 7nodes' node 1 key: `veil init`
//! takes it, `veil` runs it as a QBFT validator (the genesis chooses the engine), and
//! `qbft_getValidatorsByBlockNumber("latest")` reads back the seven validators of its
//! extraData — among them the address of node 1's key, which `istanbul_nodeAddress` names and
//! `istanbul_isValidator` confirms.

mod support;

use serde_json::json;
use std::process::Command;
use support::VeilProcess;

#[test]
fn seven_nodes_qbft_genesis_runs_with_node_1_a_validator_of_its_seven() {
    let root = tempfile::tempdir().unwrap();
    let datadir = root.path().join("node1");
    let genesis = support::vectors_dir().join("qbft/genesis/7nodes-qbft-genesis.json");
    let init = Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(["init", "--datadir"])
        .arg(&datadir)
        .arg(&genesis)
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let keys = veil_testkit::package_dir().join("../sim/tests/fixtures/7nodes-keys");
    std::fs::copy(keys.join("nodekey1"), datadir.join("nodekey")).unwrap();
    std::fs::write(datadir.join("static-nodes.json"), "[]").unwrap();
    let port = support::free_port().to_string();
    let node = VeilProcess::start(
        &datadir,
        &[
            "--port",
            &port,
            "--http.api",
            "eth,net,istanbul,qbft,raft",
            "--istanbul.blockperiod",
            "5",
        ],
    );

    let validators = node.call("qbft_getValidatorsByBlockNumber", json!(["latest"])).unwrap();
    let validators: Vec<String> = serde_json::from_value(validators).unwrap();
    // The seven of the genesis extraData, byte-sorted (test-vectors/qbft/README.md).
    let prefixes =
        ["6571d97f", "8157d443", "b131288f", "b912de28", "d8dba507", "e36cbeb5", "f512a992"];
    assert_eq!(validators.len(), 7, "{validators:?}");
    for (validator, prefix) in validators.iter().zip(prefixes) {
        assert!(validator.starts_with(&format!("0x{prefix}")), "{validators:?}");
    }
    let me: String =
        serde_json::from_value(node.call("istanbul_nodeAddress", json!([])).unwrap()).unwrap();
    assert!(validators.contains(&me), "node 1's key {me} is one of 7nodes' validators");
    assert_eq!(node.call("istanbul_isValidator", json!([])).unwrap(), json!(true));
    assert_eq!(node.call("istanbul_getValidators", json!([0])).unwrap(), json!(validators));
    let raft = node.call("raft_role", json!([])).unwrap_err();
    assert!(raft.contains("raft is not the consensus"), "{raft}");
    // One validator of seven is no quorum: nothing is committed.
    assert_eq!(node.call("eth_blockNumber", json!([])).unwrap(), json!("0x0"));
    node.terminate();
}
