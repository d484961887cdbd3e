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

/// A node with the caller and callee deployed and a transaction in which the caller calls the
/// callee: (node, sender, callee, caller, calldata, transaction hash, receipt).
struct Called {
    node: VeilProcess,
    sender: Address,
    callee: Address,
    caller: Address,
    input: Bytes,
    hash: Value,
    receipt: Value,
    _dir: tempfile::TempDir,
}

fn a_contract_calling_another() -> Called {
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
    Called { node, sender, callee, caller, input, hash, receipt, _dir: dir }
}

#[test]
fn call_prestate_4byte_and_noop_tracers_trace_a_contract_calling_another() {
    let Called { node, sender, callee, caller, input, hash, receipt, _dir } =
        a_contract_calling_another();

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
}

/// A step tracer in the style of Blockscout's geth tracer: it follows calls through the
/// opcodes (`log.op`, `log.getDepth()`, `log.stack.peek`, `log.memory.slice`,
/// `log.contract`), and its result reads `ctx` and `db`.
const STEP_TRACER: &str = r#"{
    callStack: [{}],
    step: function (log, db) {
        var op = log.op.toString();
        if (log.getDepth() < this.callStack.length) {
            var done = this.callStack.pop();
            if (log.stack.peek(0).equals(0) && done.error === undefined) done.error = 'internal failure';
            var parent = this.callStack[this.callStack.length - 1];
            (parent.calls = parent.calls || []).push(done);
        }
        if (op === 'CALL' || op === 'CALLCODE' || op === 'DELEGATECALL' || op === 'STATICCALL') {
            var to = toAddress(log.stack.peek(1).toString(16));
            if (isPrecompiled(to)) return;
            var off = (op === 'DELEGATECALL' || op === 'STATICCALL') ? 0 : 1;
            var start = log.stack.peek(2 + off).valueOf();
            var end = start + log.stack.peek(3 + off).valueOf();
            this.callStack.push({
                type: op,
                from: toHex(log.contract.getAddress()),
                to: toHex(to),
                input: toHex(log.memory.slice(start, end)),
                value: op === 'CALL' ? '0x' + log.stack.peek(2).toString(16) : undefined,
            });
        }
    },
    fault: function (log, db) { this.faults = (this.faults || 0) + 1; },
    result: function (ctx, db) {
        var inner = this.callStack[0].calls || [];
        return {
            type: ctx.type,
            from: toHex(ctx.from),
            to: toHex(ctx.to),
            input: toHex(ctx.input),
            value: '0x' + ctx.value.toString(16),
            gasUsed: ctx.gasUsed,
            calls: inner,
            callerCode: toHex(db.getCode(ctx.to)),
            calleeSlot0: inner.length ? toHex(db.getState(toAddress(inner[0].to), toWord('0x00'))) : null,
            senderNonce: db.getNonce(ctx.from),
            faults: this.faults || 0,
        };
    }
}"#;

/// geth's call-frame hooks: `enter` and `exit` around inner calls.
const FRAME_TRACER: &str = r#"{
    frames: [],
    enter: function (frame) {
        this.frames.push({ type: frame.getType(), from: toHex(frame.getFrom()), to: toHex(frame.getTo()),
                           input: toHex(frame.getInput()), gas: frame.getGas() });
    },
    exit: function (result) {
        var frame = this.frames[this.frames.length - 1];
        frame.gasUsed = result.getGasUsed();
        frame.error = result.getError();
    },
    fault: function (log, db) {},
    result: function (ctx, db) { return this.frames; }
}"#;

#[test]
fn javascript_tracers_give_the_call_tree_of_call_tracer() {
    let Called { node, sender, callee, caller, hash, .. } = a_contract_calling_another();
    let tree = call(&node, "debug_traceTransaction", json!([hash, { "tracer": "callTracer" }]));
    let inner = &tree["calls"][0];

    let js = call(&node, "debug_traceTransaction", json!([hash, { "tracer": STEP_TRACER }]));
    for field in ["type", "from", "to", "input", "value", "gasUsed"] {
        let expected = &tree[field];
        let got = &js[field];
        if field == "gasUsed" {
            assert_eq!(got.as_u64().unwrap(), support::quantity(expected) as u64, "{js}");
        } else {
            assert_eq!(lower(got), lower(expected), "{field}: {js} vs {tree}");
        }
    }
    let calls = js["calls"].as_array().expect("inner calls");
    assert_eq!(calls.len(), 1, "{js}");
    for field in ["type", "from", "to", "input", "value"] {
        assert_eq!(lower(&calls[0][field]), lower(&inner[field]), "inner {field}: {js} vs {tree}");
    }
    assert_eq!(lower(&js["callerCode"]), format!("0x{}", hex::encode(CALLER)));
    assert_eq!(
        lower(&js["calleeSlot0"]),
        format!("{:#x}", caller.into_word()),
        "db after the call"
    );
    assert_eq!(js["senderNonce"], 3, "db sees the sender's nonce after the transaction");
    assert_eq!(js["faults"], 0);
    assert_eq!(lower(&js["from"]), format!("{sender:#x}"));

    let frames = call(&node, "debug_traceTransaction", json!([hash, { "tracer": FRAME_TRACER }]));
    let frames = frames.as_array().expect("frames");
    assert_eq!(frames.len(), 1, "enter/exit for the inner call only: {frames:?}");
    assert_eq!(frames[0]["type"], "CALL");
    assert_eq!(lower(&frames[0]["from"]), format!("{caller:#x}"));
    assert_eq!(lower(&frames[0]["to"]), format!("{callee:#x}"));
    assert_eq!(frames[0]["input"], "0x");
    assert!(frames[0]["gasUsed"].as_u64().unwrap() > 0, "{frames:?}");
    assert!(frames[0].get("error").is_none(), "{frames:?}");
}

#[test]
fn a_javascript_tracer_that_loops_allocates_or_throws_ends_with_an_error() {
    let Called { node, hash, .. } = a_contract_calling_another();
    let error = |tracer: &str, timeout: Option<&str>| -> String {
        let mut options = json!({ "tracer": tracer });
        if let Some(timeout) = timeout {
            options["timeout"] = json!(timeout);
        }
        node.call("debug_traceTransaction", json!([hash, options])).unwrap_err()
    };
    let forever = "{ step: function () { while (true) {} }, fault: function () {}, result: function () { return 1; } }";
    assert!(error(forever, Some("200ms")).contains("execution timeout"));
    let hungry = "{ a: [], step: function () { for (;;) this.a.push(new Array(100000).fill(1)); }, fault: function () {}, result: function () { return 1; } }";
    let out_of_memory = error(hungry, Some("30s"));
    assert!(
        out_of_memory.contains("out of memory") || out_of_memory.contains("memory"),
        "{out_of_memory}"
    );
    let throws = "{ step: function (log) { log.stack.peek(1000); }, fault: function () {}, result: function () { return 1; } }";
    let thrown = error(throws, None);
    assert!(thrown.contains("out of bound stack") && thrown.contains("'step'"), "{thrown}");
    assert!(error("{ result: function () {} }", None).contains("fault"), "fault() is required");
    assert!(error("this is not javascript", None).contains("invalid tracer"));
    // The node is still serving.
    assert!(node.call("eth_blockNumber", json!([])).is_ok());
}
