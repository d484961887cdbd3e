//! `eth_simulateV1` on a real `veil --dev` node: blocks simulated one after another, state
//! carried over, simulated block hashes seen by later blocks, transfers traced, failures
//! reported per call, and nothing written to the chain.

mod support;

use serde_json::{json, Value};
use support::{quantity, VeilProcess};

/// Returns (BLOCKHASH(NUMBER - 1), NUMBER, TIMESTAMP): NUMBER PUSH1 1 SWAP1 SUB BLOCKHASH
/// PUSH1 0 MSTORE NUMBER PUSH1 32 MSTORE TIMESTAMP PUSH1 64 MSTORE PUSH1 96 PUSH1 0 RETURN.
const CLOCK: &str = "0x436001900340600052436020524260405260606000f3";
/// Reverts with no data: PUSH1 0 PUSH1 0 REVERT.
const REVERTS: &str = "0x60006000fd";

fn word(data: &str, index: usize) -> String {
    data.trim_start_matches("0x")[index * 64..(index + 1) * 64].to_string()
}

#[test]
fn simulate_v1_runs_blocks_in_order_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = VeilProcess::start_dev(dir.path(), &[]);
    let (rich, poor) = (
        "0x00000000000000000000000000000000000000aa",
        "0x00000000000000000000000000000000000000bb",
    );
    let (clock, reverts) = (
        "0x00000000000000000000000000000000000000c1",
        "0x00000000000000000000000000000000000000c2",
    );
    let head = node.call("eth_getBlockByNumber", json!(["latest", false])).unwrap();
    let base_number = quantity(&head["number"]) as u64;
    let base_time = quantity(&head["timestamp"]) as u64;

    let payload = json!({
        "blockStateCalls": [
            {
                "stateOverrides": {
                    rich: { "balance": "0xde0b6b3a7640000" },
                    clock: { "code": CLOCK },
                    reverts: { "code": REVERTS },
                },
                "calls": [
                    { "from": rich, "to": poor, "value": "0x6f05b59d3b20000" },
                    { "from": rich, "to": reverts },
                ],
            },
            {
                "calls": [
                    { "from": poor, "to": clock },
                    { "from": poor, "to": rich, "value": "0x1" },
                ],
            },
        ],
        "traceTransfers": true,
    });
    let blocks = node.call("eth_simulateV1", json!([payload, "latest"])).unwrap();
    let blocks = blocks.as_array().expect("blocks");
    assert_eq!(blocks.len(), 2);
    let (first, second) = (&blocks[0], &blocks[1]);
    assert_eq!(quantity(&first["number"]) as u64, base_number + 1);
    assert_eq!(quantity(&second["number"]) as u64, base_number + 2);
    assert_eq!(quantity(&first["timestamp"]) as u64, base_time + 12, "geth's 12 s step");
    assert_eq!(quantity(&second["timestamp"]) as u64, base_time + 24);
    assert_eq!(first["parentHash"], head["hash"]);
    assert_eq!(second["parentHash"], first["hash"]);
    assert_eq!(first["transactions"].as_array().unwrap().len(), 2);

    // The transfer succeeds and, with traceTransfers, shows as a Transfer log from 0xeeee…eeee.
    let transfer = &first["calls"][0];
    assert_eq!(transfer["status"], "0x1", "{transfer}");
    let log = &transfer["logs"][0];
    assert_eq!(log["address"], "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "{transfer}");
    assert_eq!(
        log["topics"][0],
        "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
    );
    assert!(
        log["topics"][1].as_str().unwrap().ends_with("aa")
            && log["topics"][2].as_str().unwrap().ends_with("bb"),
        "{log}"
    );
    assert_eq!(quantity(&log["data"]), 0x6f05b59d3b20000);
    assert_eq!(log["blockHash"], first["hash"]);
    assert_eq!(log["transactionHash"], first["transactions"][0]);

    // The revert fails alone, with geth's error code 3.
    let failed = &first["calls"][1];
    assert_eq!(failed["status"], "0x0", "{failed}");
    assert_eq!(failed["error"]["code"], 3, "{failed}");

    // The next block sees the first's hash, its own number and time, and the money moved:
    // poor sends 1 wei of what it received.
    assert_eq!(second["calls"][0]["status"], "0x1", "{second}");
    let seen = second["calls"][0]["returnData"].as_str().unwrap().to_string();
    assert_eq!(second["calls"][0]["status"], "0x1", "{second}");
    assert_eq!(
        format!("0x{}", word(&seen, 0)),
        first["hash"].as_str().unwrap(),
        "BLOCKHASH of the simulated parent"
    );
    assert_eq!(u64::from_str_radix(&word(&seen, 1), 16).unwrap(), base_number + 2);
    assert_eq!(u64::from_str_radix(&word(&seen, 2), 16).unwrap(), base_time + 24);
    assert_eq!(second["calls"][1]["status"], "0x1", "{second}");

    // Nothing reached the chain.
    assert_eq!(quantity(&node.call("eth_blockNumber", json!([])).unwrap()) as u64, base_number);
    assert_eq!(node.call("eth_getBalance", json!([poor, "latest"])).unwrap(), "0x0");
    assert_eq!(node.call("eth_getCode", json!([clock, "latest"])).unwrap(), "0x");

    // Out-of-order block numbers are refused, naming the rule.
    let bad =
        json!({ "blockStateCalls": [{ "blockOverrides": { "number": "0x0" }, "calls": [] }] });
    let error = node.call("eth_simulateV1", json!([bad, "latest"])).unwrap_err();
    assert!(error.contains("block numbers must be in order"), "{error}");
    let _: Value = node.call("eth_chainId", json!([])).unwrap();
}

#[test]
fn viem_simulate_blocks_works_against_the_node() {
    let js = veil_testkit::package_dir().join("tests/js");
    assert!(
        js.join("node_modules/viem").is_dir(),
        "viem is not installed: run `npm ci` in node/tests/js (.ci/run does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let node = VeilProcess::start_dev(dir.path(), &[]);
    let out = std::process::Command::new("node")
        .arg(js.join("simulate.mjs"))
        .arg(&node.url)
        .current_dir(&js)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "simulate.mjs failed\n{stdout}\n{stderr}");
    assert!(stdout.contains("all ok"), "{stdout}");
}
