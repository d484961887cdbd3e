//! Private transactions end to end with real processes: three raft nodes (A, B, C), each with
//! its own `veil-tm` (a, b, c). A deploys SimpleStorage(42) privately for C: A and C see 42,
//! B sees no code; `set(4)` privately for C changes A and C only, with its log on A and C only;
//! the externally signed flow works, from Rust and from web3js-quorum (npm); A's and C's
//! private state roots agree at every block, public roots agree everywhere; with
//! `--revertreason` a private creation that reverts shows what it reverted with in the
//! parties' receipts only; `eth_getQuorumPayload` gives the init code on A and C and `0x` on
//! B. With C's TM down a send for C fails naming C's key; with B's TM down B stops importing
//! instead of treating the block as not its own, and resumes with the same state when its TM
//! returns. A plaintext marker never crosses the TM-to-TM wire (relays record it), is in the
//! memory of A's and C's nodes and never in B's node or TM, and in no TM's files.

mod support;

use serde_json::{json, Value};
use std::{
    io::{Read, Write},
    net::{Shutdown, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::Command,
    sync::{Arc, Mutex},
    time::Duration,
};
use support::{rpc_call, veil_tm_bin, wait_for_receipt, wait_until, VeilProcess};
use veil_primitives::TmPublicKey;
use veil_testkit::{files_containing, memory_contains, tm::TmProcess};

/// SimpleStorage, hand-assembled: the constructor stores its uint256 argument in slot 0;
/// `set(uint256)` (0x60fe47b1) stores and logs the value as a topic, `get()` (0x6d4ce63c)
/// returns slot 0.
const RUNTIME: &str = "60003560e01c806360fe47b114601d57636d4ce63c14602b57600080fd5b6004358060005560006000a1005b60005460005260206000f3";
const INIT: &str = "602060506000396000516000556037601960003960376000f3";
const GET: &str = "0x6d4ce63c";
/// Reader, hand-assembled: the constructor stores an address in slot 0; any call returns what
/// `get()` of that address returns (a STATICCALL).
const READER_RUNTIME: &str = "636d4ce63c60e01b60005260206000600460006000545afa5060206000f3";
const READER_INIT: &str = "60206037600039600051600055601e6019600039601e6000f3";

fn word(value: u64) -> String {
    format!("{value:064x}")
}

/// A TCP relay on a free port in front of `to`, keeping every byte that crosses it in `seen`;
/// answers its port. A TM advertises the relay as its P2P address, so all TM-to-TM traffic
/// passes here.
fn relay(to: u16, seen: Arc<Mutex<Vec<u8>>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for inbound in listener.incoming().flatten() {
            let Ok(outbound) = TcpStream::connect(("127.0.0.1", to)) else { continue };
            let pairs = [
                (inbound.try_clone().unwrap(), outbound.try_clone().unwrap()),
                (outbound, inbound),
            ];
            for (mut from, mut into) in pairs {
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let mut buffer = [0u8; 16 * 1024];
                    while let Ok(n) = from.read(&mut buffer) {
                        if n == 0 {
                            break;
                        }
                        seen.lock().unwrap().extend_from_slice(&buffer[..n]);
                        if into.write_all(&buffer[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = into.shutdown(Shutdown::Write);
                });
            }
        }
    });
    port
}

use veil_testkit::http::get as http_get;

/// A transaction manager (the shared harness) whose P2P API peers reach through a relay that
/// records the wire.
fn new_tm(root: &Path, name: &str, wire: Arc<Mutex<Vec<u8>>>) -> TmProcess {
    TmProcess::behind_relay(&veil_tm_bin(), root, name, "127.0.0.1", |port| {
        format!("http://127.0.0.1:{}", relay(port, wire))
    })
}

/// Starts `tm` with `peers` and waits until it is up.
fn start_tm(tm: &mut TmProcess, peers: &[String]) {
    tm.set_peers(peers);
    tm.start();
}

/// Waits until `tm` has learnt where `key` lives.
fn wait_knows(tm: &TmProcess, key: &TmPublicKey) {
    let url = format!("{}/partyinfo", tm.p2p_url);
    let key = key.to_string();
    wait_until("party info", Duration::from_secs(30), || {
        http_get(&url).is_some_and(|(_, body)| body.contains(&key))
    });
}

fn start_node(dir: &Path, port: u16, tm: &TmProcess) -> VeilProcess {
    let port = port.to_string();
    VeilProcess::start_dev(
        dir,
        &[
            "--raft",
            "--port",
            &port,
            "--http.api",
            "eth,net,web3,raft,debug,personal",
            "--ptm.socket",
            tm.socket().to_str().unwrap(),
            "--ptm.timeout",
            "2",
            "--revertreason",
        ],
    )
}

fn call_get(node: &VeilProcess, contract: &str) -> Value {
    rpc_call(&node.url, "eth_call", json!([{ "to": contract, "data": GET }, "latest"])).unwrap()
}

fn number(node: &VeilProcess) -> u64 {
    support::quantity(&rpc_call(&node.url, "eth_blockNumber", json!([])).unwrap()) as u64
}

#[test]
fn private_state_reaches_only_the_parties_and_an_absent_tm_halts_import() {
    let root = tempfile::tempdir().unwrap();
    let wire: Arc<Mutex<Vec<u8>>> = Arc::default();
    let mut tms: Vec<TmProcess> =
        ["a", "b", "c"].iter().map(|n| new_tm(root.path(), n, wire.clone())).collect();
    let urls: Vec<String> = tms.iter().map(|tm| tm.p2p_url.clone()).collect();
    for (i, tm) in tms.iter_mut().enumerate() {
        let peers: Vec<String> =
            urls.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, u)| u.clone()).collect();
        start_tm(tm, &peers);
    }
    for tm in &tms {
        for other in &tms {
            wait_knows(tm, &other.key);
        }
    }

    // Three raft nodes, one per TM.
    let dirs = support::raft_network(root.path(), 3);
    let mut nodes: Vec<VeilProcess> =
        dirs.iter().zip(&tms).map(|((dir, port), tm)| start_node(dir, *port, tm)).collect();
    for node in &nodes {
        wait_until("a leader", Duration::from_secs(30), || {
            rpc_call(&node.url, "raft_leader", json!([])).is_ok()
        });
    }
    let from = rpc_call(&nodes[0].url, "eth_accounts", json!([])).unwrap()[0].clone();
    let c_key = tms[2].key;

    // Deploy SimpleStorage(42) from A, private for C.
    let deploy = rpc_call(
        &nodes[0].url,
        "eth_sendTransaction",
        json!([{ "from": from, "data": format!("0x{INIT}{RUNTIME}{}", word(42)), "gas": "0x100000", "privateFor": [c_key] }]),
    )
    .unwrap();
    let receipt = wait_for_receipt(&nodes[0].url, &deploy);
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    // GoQuorum reports no gas for a private transaction; B's public receipt agrees.
    assert_eq!(receipt["gasUsed"], "0x0", "{receipt}");
    let contract = receipt["contractAddress"].as_str().unwrap().to_string();
    let tx = rpc_call(&nodes[0].url, "eth_getTransactionByHash", json!([deploy])).unwrap();
    assert!(["0x25", "0x26"].contains(&tx["v"].as_str().unwrap()), "private V: {tx}");
    let payload_hash = tx["input"].as_str().unwrap().to_string();
    assert_eq!(payload_hash.len(), 2 + 128, "the data on chain is the 64-byte hash");
    let deployed_at = support::quantity(&receipt["blockNumber"]) as u64;
    for node in &nodes {
        wait_until("the block everywhere", Duration::from_secs(30), || number(node) >= deployed_at);
    }

    let on_b = rpc_call(&nodes[1].url, "eth_getTransactionReceipt", json!([deploy])).unwrap();
    assert_eq!((&on_b["status"], &on_b["gasUsed"]), (&json!("0x1"), &json!("0x0")), "{on_b}");
    let stored = |value: u64| Value::String(format!("0x{}", word(value)));
    assert_eq!(call_get(&nodes[0], &contract), stored(42));
    assert_eq!(call_get(&nodes[2], &contract), stored(42));
    assert_eq!(rpc_call(&nodes[1].url, "eth_getCode", json!([contract, "latest"])).unwrap(), "0x");
    assert_eq!(call_get(&nodes[1], &contract), "0x");
    let runtime = Value::String(format!("0x{RUNTIME}"));
    assert_eq!(
        rpc_call(&nodes[2].url, "eth_getCode", json!([contract, "latest"])).unwrap(),
        runtime
    );
    let init = Value::String(format!("0x{INIT}{RUNTIME}{}", word(42)));
    assert_eq!(
        rpc_call(&nodes[0].url, "eth_getQuorumPayload", json!([payload_hash])).unwrap(),
        init
    );
    assert_eq!(
        rpc_call(&nodes[2].url, "eth_getQuorumPayload", json!([payload_hash])).unwrap(),
        init
    );
    assert_eq!(
        rpc_call(&nodes[1].url, "eth_getQuorumPayload", json!([payload_hash])).unwrap(),
        "0x"
    );

    // A private contract reads a public one; a private transaction cannot write public state.
    let public = rpc_call(
        &nodes[0].url,
        "eth_sendTransaction",
        json!([{ "from": from, "data": format!("0x{INIT}{RUNTIME}{}", word(11)), "gas": "0x100000" }]),
    )
    .unwrap();
    let public_address =
        wait_for_receipt(&nodes[0].url, &public)["contractAddress"].as_str().unwrap().to_string();
    let reader = rpc_call(
        &nodes[0].url,
        "eth_sendTransaction",
        json!([{ "from": from, "data": format!("0x{READER_INIT}{}{:0>64}", READER_RUNTIME, public_address.trim_start_matches("0x")), "gas": "0x100000", "privateFor": [c_key] }]),
    )
    .unwrap();
    let reader_receipt = wait_for_receipt(&nodes[0].url, &reader);
    let reader_address = reader_receipt["contractAddress"].as_str().unwrap().to_string();
    let write_public = rpc_call(
        &nodes[0].url,
        "eth_sendTransaction",
        json!([{ "from": from, "to": public_address, "data": format!("0x60fe47b1{}", word(9)), "privateFor": [c_key] }]),
    )
    .unwrap();
    let refused = wait_for_receipt(&nodes[0].url, &write_public);
    assert_eq!(refused["status"], "0x0", "a private write to public state fails: {refused}");
    assert!(refused.get("revertReason").is_none(), "it reverted with nothing: {refused}");

    // --revertreason on a private creation that reverts: the parties' receipts carry what the
    // private run reverted with; the non-party's (the public run on no code) succeeded.
    let (reverting, reason) = support::reverting_with("private nope");
    let reverted = rpc_call(
        &nodes[0].url,
        "eth_sendTransaction",
        json!([{ "from": from, "data": reverting, "gas": "0x100000", "privateFor": [c_key] }]),
    )
    .unwrap();
    for (node, party) in [(&nodes[0], true), (&nodes[2], true), (&nodes[1], false)] {
        let receipt = wait_for_receipt(&node.url, &reverted);
        if party {
            assert_eq!(receipt["status"], "0x0", "{receipt}");
            assert_eq!(receipt["revertReason"], json!(reason), "{receipt}");
        } else {
            assert_eq!(receipt["status"], "0x1", "{receipt}");
            assert!(receipt.get("revertReason").is_none(), "{receipt}");
        }
    }
    let last = support::quantity(&refused["blockNumber"]) as u64;
    wait_until("C to catch up", Duration::from_secs(30), || number(&nodes[2]) >= last);
    assert_eq!(call_get(&nodes[0], &reader_address), stored(11));
    assert_eq!(call_get(&nodes[2], &reader_address), stored(11));
    assert_eq!(call_get(&nodes[1], &reader_address), "0x");
    for node in &nodes {
        wait_until("the public contract", Duration::from_secs(30), || number(node) >= last);
        assert_eq!(call_get(node, &public_address), stored(11), "public state unchanged");
    }

    // set(4), private for C, watched by a log filter on C and on B.
    let filter_on = |node: &VeilProcess| {
        rpc_call(&node.url, "eth_newFilter", json!([{ "address": contract }])).unwrap()
    };
    let (c_filter, b_filter) = (filter_on(&nodes[2]), filter_on(&nodes[1]));
    let mut c_ipc = support::Ipc::connect(nodes[2].ipc_path.as_ref().unwrap());
    let (logs_sub, _) = c_ipc.call("eth_subscribe", json!(["logs", { "address": contract }]));
    let set = rpc_call(
        &nodes[0].url,
        "eth_sendTransaction",
        json!([{ "from": from, "to": contract, "data": format!("0x60fe47b1{}", word(4)), "privateFor": [c_key] }]),
    )
    .unwrap();
    let set_block = support::quantity(&wait_for_receipt(&nodes[0].url, &set)["blockNumber"]) as u64;
    for node in &nodes {
        wait_until("the set everywhere", Duration::from_secs(30), || number(node) >= set_block);
    }
    assert_eq!(call_get(&nodes[0], &contract), stored(4));
    assert_eq!(call_get(&nodes[2], &contract), stored(4));
    assert_eq!(call_get(&nodes[1], &contract), "0x");
    // Traced on a party, the private run: a call to the contract with set(4)'s calldata that
    // writes its slot. On B, the public effect: the sender calling itself with the hash.
    let set_input = format!("0x60fe47b1{}", word(4));
    for party in [&nodes[0], &nodes[2]] {
        let tree = rpc_call(
            &party.url,
            "debug_traceTransaction",
            json!([set, { "tracer": "callTracer" }]),
        )
        .unwrap();
        assert_eq!(tree["to"].as_str().unwrap().to_lowercase(), contract.to_lowercase(), "{tree}");
        assert_eq!(tree["input"], set_input, "{tree}");
        let diff = rpc_call(
            &party.url,
            "debug_traceTransaction",
            json!([set, { "tracer": "prestateTracer", "tracerConfig": { "diffMode": true } }]),
        )
        .unwrap();
        let post = diff["post"].as_object().unwrap();
        let written = post
            .iter()
            .find(|(k, _)| k.to_lowercase() == contract.to_lowercase())
            .map(|(_, v)| v["storage"].to_string());
        assert!(written.is_some_and(|s| s.contains(&word(4))), "the private write, traced: {diff}");
    }
    let on_b =
        rpc_call(&nodes[1].url, "debug_traceTransaction", json!([set, { "tracer": "callTracer" }]))
            .unwrap();
    assert_eq!(on_b["to"], on_b["from"], "the public marker on a non-party: {on_b}");
    assert_ne!(on_b["input"], set_input, "no plaintext on a non-party: {on_b}");
    assert_eq!(on_b["input"].as_str().unwrap().len(), 2 + 128, "the payload hash: {on_b}");
    // The private log: in the parties' receipts and eth_getLogs, nowhere on B.
    let logs = |node: &VeilProcess| {
        rpc_call(&node.url, "eth_getLogs", json!([{ "fromBlock": "0x0", "address": contract }]))
            .unwrap()
    };
    let topic = Value::String(format!("0x{}", word(4)));
    for party in [&nodes[0], &nodes[2]] {
        assert_eq!(logs(party)[0]["topics"][0], topic, "{}", logs(party));
        let receipt = rpc_call(&party.url, "eth_getTransactionReceipt", json!([set])).unwrap();
        assert_eq!(receipt["logs"][0]["topics"][0], topic, "{receipt}");
    }
    assert_eq!(logs(&nodes[1]), json!([]));
    let changes = |node: &VeilProcess, filter: &Value| {
        rpc_call(&node.url, "eth_getFilterChanges", json!([filter])).unwrap()
    };
    assert_eq!(changes(&nodes[2], &c_filter)[0]["topics"][0], topic);
    assert_eq!(changes(&nodes[1], &b_filter), json!([]));
    let note = c_ipc.line();
    assert_eq!(note["params"]["subscription"], logs_sub, "{note}");
    assert_eq!(note["params"]["result"]["topics"][0], topic, "the logs subscription on C: {note}");
    let root_of = |node: &VeilProcess, n: u64| {
        rpc_call(&node.url, "debug_privateStateRoot", json!([format!("0x{n:x}")])).unwrap()
    };
    let public_root = |node: &VeilProcess, n: u64| {
        rpc_call(&node.url, "eth_getBlockByNumber", json!([format!("0x{n:x}"), false])).unwrap()
            ["stateRoot"]
            .clone()
    };
    for n in 1..=set_block {
        assert_eq!(
            root_of(&nodes[0], n),
            root_of(&nodes[2], n),
            "private roots of A and C, block {n}"
        );
        assert_eq!(public_root(&nodes[0], n), public_root(&nodes[1], n), "public root, block {n}");
        assert_eq!(public_root(&nodes[0], n), public_root(&nodes[2], n), "public root, block {n}");
    }
    assert_ne!(
        root_of(&nodes[0], set_block),
        root_of(&nodes[1], set_block),
        "B holds no private state"
    );

    // The externally signed flow: the node stores the payload (storeraw) and fills the
    // transaction; the client signs it as private (V = 37/38) and sends it raw for C.
    let filled = rpc_call(
        &nodes[0].url,
        "eth_fillTransaction",
        json!([{ "from": from, "to": contract, "data": format!("0x60fe47b1{}", word(6)), "privateFor": [c_key] }]),
    )
    .unwrap();
    let fields = &filled["tx"];
    assert_eq!(fields["v"], "0x25", "{filled}");
    let tx = alloy_consensus::TxLegacy {
        chain_id: None,
        nonce: support::quantity(&fields["nonce"]) as u64,
        gas_price: 0,
        gas_limit: support::quantity(&fields["gas"]) as u64,
        to: alloy_primitives::TxKind::Call(contract.parse().unwrap()),
        value: alloy_primitives::U256::ZERO,
        input: fields["input"].as_str().unwrap().parse().unwrap(),
    };
    let signed = veil_primitives::sign_private_transaction(tx, &veil_node::dev::dev_key(0));
    let raw = format!("0x{}", alloy_primitives::hex::encode(signed.encoded_2718()));
    let public_raw = rpc_call(
        &nodes[0].url,
        "eth_signTransaction",
        json!([{ "from": from, "to": contract, "gas": "0x5208" }]),
    )
    .unwrap()["raw"]
        .clone();
    let refused = rpc_call(
        &nodes[0].url,
        "eth_sendRawPrivateTransaction",
        json!([public_raw, { "privateFor": [c_key] }]),
    )
    .unwrap_err();
    assert!(refused.contains("transaction is not private"), "{refused}");
    let sent = rpc_call(
        &nodes[0].url,
        "eth_sendRawPrivateTransaction",
        json!([raw, { "privateFor": [c_key] }]),
    )
    .unwrap();
    let raw_block =
        support::quantity(&wait_for_receipt(&nodes[0].url, &sent)["blockNumber"]) as u64;
    wait_until("the raw one on C", Duration::from_secs(30), || number(&nodes[2]) >= raw_block);
    assert_eq!(call_get(&nodes[0], &contract), stored(6));
    assert_eq!(call_get(&nodes[2], &contract), stored(6));

    // The same from a real GoQuorum client: web3js-quorum (npm) stores the payload with A's TM,
    // signs locally with V = 37/38 and sends it raw for C.
    let nonce = support::quantity(
        &rpc_call(&nodes[0].url, "eth_getTransactionCount", json!([from, "pending"])).unwrap(),
    );
    let js = veil_testkit::package_dir().join("tests/js");
    assert!(
        js.join("node_modules/web3js-quorum").is_dir() && js.join("node_modules/web3").is_dir(),
        "web3 and web3js-quorum are not installed: run `npm ci` in node/tests/js (.ci/run does)"
    );
    let output = Command::new("node")
        .arg(js.join("private.cjs"))
        .args([
            nodes[0].url.as_str(),
            tms[0].third_party_url.as_str(),
            tms[0].key.to_string().as_str(),
            c_key.to_string().as_str(),
            &format!(
                "0x{}",
                alloy_primitives::hex::encode(veil_node::dev::dev_key(0).secret_bytes())
            ),
            &nonce.to_string(),
            contract.as_str(),
            &format!("0x60fe47b1{}", word(8)),
        ])
        .env("NODE_PATH", js.join("node_modules"))
        .output()
        .unwrap();
    assert!(output.status.success(), "web3js-quorum: {}", String::from_utf8_lossy(&output.stderr));
    // web3js-quorum prints progress lines of its own; the receipt is the last line.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let receipt: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout} / {}", String::from_utf8_lossy(&output.stderr)));
    assert_eq!(receipt["status"], json!(true), "{receipt}");
    let js_block = receipt["blockNumber"].as_u64().unwrap();
    wait_until("the web3js-quorum one on C", Duration::from_secs(30), || {
        number(&nodes[2]) >= js_block
    });
    assert_eq!(call_get(&nodes[0], &contract), stored(8));
    assert_eq!(call_get(&nodes[2], &contract), stored(8));

    // C's TM is down: a send for C fails, naming C's key.
    tms[2].kill();
    let error = rpc_call(
        &nodes[0].url,
        "eth_sendTransaction",
        json!([{ "from": from, "to": contract, "data": format!("0x60fe47b1{}", word(5)), "privateFor": [c_key] }]),
    )
    .unwrap_err();
    assert!(
        error.contains(&c_key.to_string()),
        "the error names the recipient not reached: {error}"
    );
    start_tm(&mut tms[2], &[urls[0].clone(), urls[1].clone()]);
    wait_knows(&tms[0], &c_key);

    // B's TM hangs (paused: it accepts connections and answers nothing) while a private
    // transaction between A and C is mined: B halts.
    tms[1].pause();
    let b_before = number(&nodes[1]);
    let set7 = rpc_call(
        &nodes[0].url,
        "eth_sendTransaction",
        json!([{ "from": from, "to": contract, "data": format!("0x60fe47b1{}", word(7)), "privateFor": [c_key] }]),
    )
    .unwrap();
    let set7_block =
        support::quantity(&wait_for_receipt(&nodes[0].url, &set7)["blockNumber"]) as u64;
    assert!(set7_block > b_before);
    let halted_reason = || {
        rpc_call(&nodes[1].url, "eth_syncing", json!([])).unwrap()["haltedReason"]
            .as_str()
            .map(str::to_string)
    };
    wait_until("B to report the halt", Duration::from_secs(60), || halted_reason().is_some());
    wait_until("B to log the halt", Duration::from_secs(10), || {
        nodes[1].log.try_iter().any(|line| line.contains("block import halted"))
    });
    assert!(number(&nodes[1]) < set7_block, "B did not import the block without its TM");
    // While B is halted its Raft member keeps answering: sampled every 100 ms for three
    // election timeouts (raft's check-quorum clears the leader's view of each member every
    // election timeout; a member that misses its heartbeats shows inactive), while A keeps
    // minting, the leader sees B active every time.
    let leader_node = nodes
        .iter()
        .find(|n| rpc_call(&n.url, "raft_role", json!([])).unwrap() == "minter")
        .expect("a leader");
    assert_ne!(leader_node.url, nodes[1].url, "B, without its TM, handed leadership over");
    let b_port = dirs[1].1;
    let b_active = || {
        let cluster = rpc_call(&leader_node.url, "raft_cluster", json!([])).unwrap();
        cluster.as_array().unwrap().iter().find(|m| m["p2pPort"] == b_port).unwrap()["raftActive"]
            .clone()
    };
    let watched = std::time::Instant::now();
    let mut samples = 0u64;
    while watched.elapsed() < Duration::from_secs(3) {
        samples += 1;
        let tx = rpc_call(
            &nodes[0].url,
            "eth_sendTransaction",
            json!([{ "from": from, "to": from, "value": format!("{samples:#x}") }]),
        )
        .unwrap();
        wait_for_receipt(&nodes[0].url, &tx);
        assert_eq!(b_active(), json!(true), "sample {samples}: the leader saw halted B inactive");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(halted_reason().is_some(), "B is still halted");
    let health = http_get(&format!("{}/health", nodes[1].url)).unwrap();
    assert_eq!(health.0, 503, "{health:?}");
    assert!(health.1.contains("\"status\":\"halted\""), "{health:?}");
    let syncing = rpc_call(&nodes[1].url, "eth_syncing", json!([])).unwrap();
    assert!(
        syncing["haltedReason"]
            .as_str()
            .is_some_and(|r| r.contains("private payloads unavailable")),
        "{syncing}"
    );
    tms[1].resume();
    wait_until("B to resume", Duration::from_secs(30), || number(&nodes[1]) >= set7_block);
    wait_until("B to say so", Duration::from_secs(30), || {
        rpc_call(&nodes[1].url, "eth_syncing", json!([])).unwrap() == json!(false)
    });
    assert_eq!(http_get(&format!("{}/health", nodes[1].url)).unwrap().0, 200);

    // The leader's TM is down: it cannot mint a private transaction, so it hands leadership
    // over; the chain goes on and the old leader halts until its TM is back.
    let peers_of = |i: usize| -> Vec<String> {
        urls.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, u)| u.clone()).collect()
    };
    let role = |i: usize| rpc_call(&nodes[i].url, "raft_role", json!([])).unwrap();
    let leader = (0..3).find(|&i| role(i) == "minter").expect("a leader");
    let others: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    wait_knows(&tms[others[0]], &tms[others[1]].key);
    tms[leader].kill();
    let stepped = rpc_call(
        &nodes[others[0]].url,
        "eth_sendTransaction",
        json!([{ "from": from, "data": format!("0x{INIT}{RUNTIME}{}", word(3)), "gas": "0x100000", "privateFor": [tms[others[1]].key] }]),
    )
    .unwrap();
    let stepped_block =
        support::quantity(&wait_for_receipt(&nodes[others[0]].url, &stepped)["blockNumber"]) as u64;
    wait_until("the old leader to hand over", Duration::from_secs(60), || role(leader) != "minter");
    wait_until("the old leader to halt", Duration::from_secs(60), || {
        rpc_call(&nodes[leader].url, "eth_syncing", json!([])).unwrap()["haltedReason"].is_string()
    });
    start_tm(&mut tms[leader], &peers_of(leader));
    wait_until("the old leader to resume", Duration::from_secs(60), || {
        number(&nodes[leader]) >= stepped_block
    });
    for tm in &tms {
        wait_knows(tm, &c_key);
        wait_knows(tm, &tms[0].key);
    }
    assert_eq!(call_get(&nodes[2], &contract), stored(7));
    assert_eq!(call_get(&nodes[1], &contract), "0x");
    assert_eq!(public_root(&nodes[1], set7_block), public_root(&nodes[0], set7_block));

    // privateFor [] is private to the sender alone; eth_storageRoot compares private storage.
    let own = rpc_call(
        &nodes[0].url,
        "eth_sendTransaction",
        json!([{ "from": from, "data": format!("0x{INIT}{RUNTIME}{}", word(5)), "gas": "0x100000", "privateFor": [] }]),
    )
    .unwrap();
    let own_receipt = wait_for_receipt(&nodes[0].url, &own);
    let own_address = own_receipt["contractAddress"].as_str().unwrap().to_string();
    let own_block = support::quantity(&own_receipt["blockNumber"]) as u64;
    wait_until("C at the self-only block", Duration::from_secs(30), || {
        number(&nodes[2]) >= own_block
    });
    assert_eq!(call_get(&nodes[0], &own_address), stored(5));
    assert_eq!(call_get(&nodes[2], &own_address), "0x");
    let storage_root = |node: &VeilProcess, address: &str| {
        rpc_call(&node.url, "eth_storageRoot", json!([address, "latest"])).unwrap()
    };
    assert_eq!(storage_root(&nodes[0], &contract), storage_root(&nodes[2], &contract));
    let empty = json!("0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421");
    assert_ne!(storage_root(&nodes[0], &contract), empty);
    assert_eq!(storage_root(&nodes[1], &contract), empty);

    // A marker sent privately to C is written by no TM and by no node but A and C.
    const MARKER: &[u8] = b"VEIL-PRIVATE-MARKER-7f3a9c";
    let marker_word = format!("{:0<64}", alloy_primitives::hex::encode(MARKER));
    let marked = rpc_call(
        &nodes[0].url,
        "eth_sendTransaction",
        json!([{ "from": from, "to": contract, "data": format!("0x60fe47b1{marker_word}"), "privateFor": [c_key] }]),
    )
    .unwrap();
    let marked_block =
        support::quantity(&wait_for_receipt(&nodes[0].url, &marked)["blockNumber"]) as u64;
    for node in &nodes {
        wait_until("the marker block", Duration::from_secs(30), || number(node) >= marked_block);
    }
    assert_eq!(call_get(&nodes[2], &contract), Value::String(format!("0x{marker_word}")));
    // What crossed between the TMs: encrypted boxes only. Which processes hold the plaintext:
    // A's and C's nodes (their private state), never B's node or B's TM.
    assert!(!wire.lock().unwrap().is_empty(), "the relays carried the TMs' traffic");
    assert!(
        !wire.lock().unwrap().windows(MARKER.len()).any(|w| w == MARKER),
        "plaintext on the wire"
    );
    assert!(memory_contains(nodes[0].child.id(), MARKER), "A holds its private state");
    assert!(memory_contains(nodes[2].child.id(), MARKER), "C holds its private state");
    assert!(!memory_contains(nodes[1].child.id(), MARKER), "B's node saw the plaintext");
    let b_tm = tms[1].pid().unwrap();
    assert!(!memory_contains(b_tm, MARKER), "B's TM saw the plaintext");
    for node in nodes.drain(..) {
        assert!(node.terminate().success());
    }
    for tm in &mut tms {
        tm.kill();
    }
    for tm in &tms {
        assert_eq!(
            files_containing(&tm.dir, MARKER),
            Vec::<PathBuf>::new(),
            "a TM wrote plaintext"
        );
    }
    assert_eq!(files_containing(&dirs[1].0, MARKER), Vec::<PathBuf>::new(), "B is not a party");
    assert!(!files_containing(&dirs[2].0, MARKER).is_empty(), "C keeps its private state");
    for (i, tm) in tms.iter_mut().enumerate() {
        start_tm(tm, &peers_of(i));
    }

    // Restart everything: every value is intact.
    nodes = dirs.iter().zip(&tms).map(|((dir, port), tm)| start_node(dir, *port, tm)).collect();
    let marker = Value::String(format!("0x{marker_word}"));
    assert_eq!(call_get(&nodes[0], &contract), marker);
    assert_eq!(call_get(&nodes[2], &contract), marker);
    assert_eq!(call_get(&nodes[1], &contract), "0x");
    assert_eq!(call_get(&nodes[0], &reader_address), stored(11));
}

#[test]
fn a_node_without_its_transaction_manager_refuses_to_start_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("absent.ipc");
    let output = Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(["--dev", "--ipcdisable", "--datadir"])
        .arg(dir.path().join("data"))
        .arg("--ptm.socket")
        .arg(&socket)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("transaction manager at {} is not reachable", socket.display())),
        "{stderr}"
    );
}

#[test]
fn a_payload_fetched_when_its_transaction_is_pooled_serves_the_block_after_the_tm_is_gone() {
    let root = tempfile::tempdir().unwrap();
    let mut tm = new_tm(root.path(), "a", Arc::default());
    start_tm(&mut tm, &[]);
    // Blocks every 4 s: the payload is prefetched long before the block is built.
    let node = VeilProcess::start_dev(
        &root.path().join("node"),
        &["--verbosity", "4", "--blocktime", "4000", "--ptm.socket", tm.socket().to_str().unwrap()],
    );
    let from = rpc_call(&node.url, "eth_accounts", json!([])).unwrap()[0].clone();
    // A first block now; the next may come only 4 s after it.
    let first =
        rpc_call(&node.url, "eth_sendTransaction", json!([{ "from": from, "to": from }])).unwrap();
    let first_block = support::quantity(&wait_for_receipt(&node.url, &first)["blockNumber"]);
    let deploy = rpc_call(
        &node.url,
        "eth_sendTransaction",
        json!([{ "from": from, "data": format!("0x{INIT}{RUNTIME}{}", word(42)), "gas": "0x100000", "privateFor": [] }]),
    )
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = node.log.recv_timeout(left).expect("the payload was never prefetched");
        if line.contains("payloads prefetched") && line.contains("parties=1") {
            break;
        }
    }
    // The TM goes away before the block is built: the builder finds the payload cached.
    tm.kill();
    assert_eq!(number(&node) as u128, first_block, "no block built before the TM went away");
    let receipt = wait_for_receipt(&node.url, &deploy);
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    let contract = receipt["contractAddress"].as_str().unwrap().to_string();
    assert_eq!(call_get(&node, &contract), Value::String(format!("0x{}", word(42))));
}
