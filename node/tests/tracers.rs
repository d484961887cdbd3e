//! geth's tracers on a contract calling another, through `debug_traceTransaction`,
//! `debug_traceBlockByNumber` and `debug_traceBlockByHash` on a real `veil --dev` node.

mod support;

use alloy_primitives::{hex, Address, Bytes, TxKind};
use serde_json::{json, Value};
use support::{deploying, eip1559, raw_tx, wait_for_receipt, VeilProcess};
use veil_node::dev::dev_key;
use veil_primitives::address_of;

/// Stores its caller in slot 0: CALLER PUSH1 0 SSTORE STOP.
const CALLEE: [u8; 5] = [0x33, 0x60, 0x00, 0x55, 0x00];
/// Calls the address in its calldata's first word with no value or data, then stops:
/// PUSH1 0 ×5 (retLen, retOffset, argsLen, argsOffset, value), PUSH1 0 CALLDATALOAD, GAS, CALL,
/// STOP.
const CALLER: [u8; 16] = [
    0x60, 0x00, 0x60, 0x00, 0x60, 0x00, 0x60, 0x00, 0x60, 0x00, 0x60, 0x00, 0x35, 0x5a, 0xf1, 0x00,
];

fn call(node: &VeilProcess, method: &str, params: Value) -> Value {
    node.call(method, params).unwrap_or_else(|e| panic!("{method}: {e}"))
}

fn lower(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_lowercase()
}

#[test]
fn call_prestate_4byte_and_noop_tracers_trace_a_contract_calling_another() {
    let dir = tempfile::tempdir().unwrap();
    let node = VeilProcess::start_dev(dir.path(), &["--http.api", "eth,debug"]);
    let key = dev_key(3);
    let sender = address_of(&key);
    let mut deployed = Vec::new();
    for (nonce, runtime) in [(0, &CALLEE[..]), (1, &CALLER[..])] {
        let tx = eip1559(1337, nonce, TxKind::Create, deploying(runtime));
        let hash = call(&node, "eth_sendRawTransaction", json!([raw_tx(tx, &key)]));
        let receipt = wait_for_receipt(&node.url, &hash);
        deployed
            .push(serde_json::from_value::<Address>(receipt["contractAddress"].clone()).unwrap());
    }
    let (callee, caller) = (deployed[0], deployed[1]);
    let input = Bytes::from(callee.into_word().0.to_vec());
    let tx = eip1559(1337, 2, TxKind::Call(caller), input.clone());
    let hash = call(&node, "eth_sendRawTransaction", json!([raw_tx(tx, &key)]));
    let receipt = wait_for_receipt(&node.url, &hash);
    assert_eq!(receipt["status"], "0x1");

    // callTracer: the call to the caller, with one CALL into the callee.
    let tree = call(&node, "debug_traceTransaction", json!([hash, { "tracer": "callTracer" }]));
    assert_eq!(tree["type"], "CALL", "{tree}");
    assert_eq!(lower(&tree["from"]), format!("{sender:#x}"));
    assert_eq!(lower(&tree["to"]), format!("{caller:#x}"));
    assert_eq!(lower(&tree["input"]), format!("0x{}", hex::encode(&input)));
    let calls = tree["calls"].as_array().expect("subcalls");
    assert_eq!(calls.len(), 1, "{tree}");
    assert_eq!(calls[0]["type"], "CALL");
    assert_eq!(lower(&calls[0]["from"]), format!("{caller:#x}"));
    assert_eq!(lower(&calls[0]["to"]), format!("{callee:#x}"));

    // prestateTracer: the callee's slot 0 was empty before; in diff mode it holds the caller
    // after.
    let pre = call(&node, "debug_traceTransaction", json!([hash, { "tracer": "prestateTracer" }]));
    let callee_key = format!("{callee:#x}");
    let find = |map: &Value, address: &str| -> Value {
        map.as_object()
            .and_then(|m| m.iter().find(|(k, _)| k.to_lowercase() == address))
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Null)
    };
    let callee_pre = find(&pre, &callee_key);
    assert_eq!(lower(&callee_pre["code"]), format!("0x{}", hex::encode(CALLEE)), "{pre}");
    assert!(!find(&pre, &format!("{sender:#x}")).is_null(), "the sender is in the prestate: {pre}");
    let diff = call(
        &node,
        "debug_traceTransaction",
        json!([hash, { "tracer": "prestateTracer", "tracerConfig": { "diffMode": true } }]),
    );
    let slot0 = format!("0x{}", "00".repeat(32));
    let post_storage = &find(&diff["post"], &callee_key)["storage"];
    assert_eq!(lower(&find(post_storage, &slot0)), format!("{:#x}", caller.into_word()), "{diff}");

    // 4byteTracer: geth's "selector-size of the rest" keys; the caller's input starts with the
    // callee's zero-padded address (4 zero bytes), 28 bytes follow; the inner call has no input.
    let four = call(&node, "debug_traceTransaction", json!([hash, { "tracer": "4byteTracer" }]));
    assert_eq!(four, json!({ "0x00000000-28": 1 }));

    // noopTracer: runs, returns an empty object.
    let noop = call(&node, "debug_traceTransaction", json!([hash, { "tracer": "noopTracer" }]));
    assert_eq!(noop, json!({}));

    // The block, by number and by hash: one entry per transaction, with its hash and the same
    // call tree.
    let number = receipt["blockNumber"].clone();
    let block_hash = receipt["blockHash"].clone();
    for (method, id) in
        [("debug_traceBlockByNumber", number), ("debug_traceBlockByHash", block_hash)]
    {
        let traces = call(&node, method, json!([id, { "tracer": "callTracer" }]));
        let traces = traces.as_array().unwrap_or_else(|| panic!("{method}: {traces}"));
        let ours = traces.iter().find(|t| t["txHash"] == hash).expect("our transaction");
        assert_eq!(ours["result"], tree, "{method}");
    }

    // A JavaScript tracer is refused, naming what is supported, and the node keeps serving.
    let js = "{data: [], step: function(log) {}, fault: function() {}, result: function() { return 1; }}";
    let refused = node.call("debug_traceTransaction", json!([hash, { "tracer": js }]));
    assert!(refused.unwrap_err().contains("JavaScript tracers"));
    assert!(node.call("eth_blockNumber", json!([])).is_ok());
}
