//! Bad input over HTTP and IPC: every malformed request gets geth's error code and a message
//! that says what to fix, and the node keeps serving.

mod support;

use serde_json::{json, Value};
use std::{
    io::{BufRead, BufReader, Write},
    os::unix::net::UnixStream,
    time::Duration,
};
use support::{http_post, rpc_error, VeilProcess};

fn http_post_ok(url: &str, body: &str) -> (u16, String) {
    http_post(url, body).expect("POST")
}

/// A connection to the IPC socket with a line reader on it.
fn ipc_connect(path: &std::path::Path) -> (UnixStream, BufReader<UnixStream>) {
    let stream = UnixStream::connect(path).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let reader = BufReader::new(stream.try_clone().unwrap());
    (stream, reader)
}

fn code(error: &Value) -> i64 {
    error["code"].as_i64().unwrap_or_else(|| panic!("no code in {error}"))
}

fn message(error: &Value) -> String {
    error["message"].as_str().unwrap_or_default().to_string()
}

#[test]
fn malformed_requests_get_geth_codes_and_the_node_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let node = VeilProcess::start_dev(dir.path(), &["--ipcdisable"]);
    let url = node.url.as_str();

    let (_, body) = http_post_ok(url, "{not json");
    let parsed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(code(&parsed["error"]), -32700, "{body}");

    let (_, body) = http_post_ok(url, r#"{"jsonrpc":"2.0","id":1}"#);
    let parsed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(code(&parsed["error"]), -32600, "{body}");

    let unknown = rpc_error(url, "eth_noSuchMethod", json!([]));
    assert_eq!(code(&unknown), -32601);

    // Subscriptions need a connection that stays open.
    let subscribe = rpc_error(url, "eth_subscribe", json!(["newHeads"]));
    assert_eq!(code(&subscribe), -32601);
    assert_eq!(message(&subscribe), "notifications not supported");

    // A namespace that HTTP does not serve by default is not there either.
    assert_eq!(code(&rpc_error(url, "debug_getRawBlock", json!(["latest"]))), -32601);

    let cases: [(&str, Value, &str); 8] = [
        ("eth_getBalance", json!(["0xzz"]), "invalid argument 0"),
        ("eth_getBalance", json!(["0x1234"]), "invalid argument 0"),
        ("eth_getBalance", json!([123]), "invalid argument 0"),
        ("eth_getBalance", json!([]), "missing value for required argument 0"),
        (
            "eth_getBalance",
            json!(["0x0000000000000000000000000000000000000000", "soon"]),
            "invalid argument 1",
        ),
        ("eth_getBlockByNumber", json!(["latest", false, 3]), "too many arguments"),
        ("eth_sendRawTransaction", json!(["0xdeadbeef"]), "invalid raw transaction"),
        ("eth_sendRawTransaction", json!(["nothex"]), "invalid argument 0"),
    ];
    for (method, params, expected) in cases {
        let error = rpc_error(url, method, params.clone());
        assert_eq!(code(&error), -32602, "{method} {params}: {error}");
        assert!(message(&error).contains(expected), "{method} {params}: {error}");
    }

    // A well-formed legacy transaction whose signature is not a curve point.
    let tx = alloy_consensus::TxLegacy {
        chain_id: Some(1337),
        gas_limit: 21_000,
        to: alloy_primitives::TxKind::Call(alloy_primitives::Address::ZERO),
        ..Default::default()
    };
    let bogus = alloy_primitives::Signature::new(
        alloy_primitives::U256::MAX,
        alloy_primitives::U256::MAX,
        false,
    );
    let raw = alloy_eips::eip2718::Encodable2718::encoded_2718(
        &alloy_consensus::SignableTransaction::into_signed(tx, bogus),
    );
    let error = rpc_error(
        url,
        "eth_sendRawTransaction",
        json!([format!("0x{}", alloy_primitives::hex::encode(raw))]),
    );
    assert_eq!(code(&error), -32602, "{error}");
    assert!(message(&error).contains("signature"), "{error}");

    // A valid transaction that the pool refuses gets geth's -32000 text.
    let error = rpc_error(
        url,
        "eth_sendTransaction",
        json!([{"from": "0x0000000000000000000000000000000000000001", "to": "0x0000000000000000000000000000000000000002"}]),
    );
    assert_eq!(code(&error), -32000, "{error}");
    assert!(message(&error).contains("no key for given address"), "{error}");

    // Batches: empty, malformed members, too many.
    let (_, body) = http_post_ok(url, "[]");
    let parsed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(code(&parsed["error"]), -32600, "{body}");
    let (_, body) = http_post_ok(url, r#"[1, {"jsonrpc":"2.0","id":2,"method":"eth_chainId"}]"#);
    let parsed: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(parsed.len(), 2, "{body}");
    assert_eq!(code(&parsed[0]["error"]), -32600, "{body}");
    assert_eq!(parsed[1]["result"], "0x539", "{body}");
    let too_many: Vec<Value> =
        (0..1001).map(|i| json!({"jsonrpc":"2.0","id":i,"method":"eth_blockNumber"})).collect();
    let (_, body) = http_post_ok(url, &serde_json::to_string(&too_many).unwrap());
    assert!(body.contains("-32010") || body.contains("batch"), "{body}");

    // An oversized request is refused by size, before it is parsed.
    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"web3_sha3","params":["0x{}"]}}"#,
        "00".repeat(6 * 1024 * 1024)
    );
    let (status, body) = http_post_ok(url, &huge);
    assert!(status == 413 || body.contains("too big"), "{status} {body}");

    // After all that, the node still serves.
    let head = support::rpc_call(url, "eth_blockNumber", json!([])).unwrap();
    assert!(head.as_str().unwrap().starts_with("0x"));
}

fn ipc_exchange(stream: &mut UnixStream, reader: &mut impl BufRead, request: &str) -> Value {
    stream.write_all(request.as_bytes()).unwrap();
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

#[test]
fn ipc_serves_calls_batches_subscriptions_and_survives_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let node = VeilProcess::start_dev(dir.path(), &[]);
    let path = node.ipc_path.clone().expect("ipc path");
    let (mut stream, mut reader) = ipc_connect(&path);

    // Two requests back to back without a newline: both answered.
    stream
        .write_all(br#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}{"jsonrpc":"2.0","id":2,"method":"rpc_modules"}"#)
        .unwrap();
    let mut answers = Vec::new();
    for _ in 0..2 {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        answers.push(serde_json::from_str::<Value>(&line).unwrap());
    }
    answers.sort_by_key(|a| a["id"].as_i64());
    assert_eq!(answers[0]["result"], "0x539");
    for api in ["admin", "debug", "eth", "net", "personal", "rpc", "txpool", "web3"] {
        assert_eq!(answers[1]["result"][api], "1.0", "{}", answers[1]);
    }

    let batch = ipc_exchange(
        &mut stream,
        &mut reader,
        r#"[{"jsonrpc":"2.0","id":3,"method":"eth_blockNumber"},{"jsonrpc":"2.0","id":4,"method":"nope"}]"#,
    );
    assert_eq!(batch.as_array().map(Vec::len), Some(2), "{batch}");
    assert_eq!(batch[1]["error"]["code"], -32601, "{batch}");

    let sub = ipc_exchange(
        &mut stream,
        &mut reader,
        r#"{"jsonrpc":"2.0","id":5,"method":"eth_subscribe","params":["newHeads"]}"#,
    );
    // jsonrpsee's direct-call path numbers IPC subscriptions (WS ones are geth's hex strings).
    let id = sub["result"].clone();
    assert!(id.is_string() || id.is_u64(), "{sub}");

    // A transaction makes a block; its header arrives on the subscription.
    let from = support::rpc_call(&node.url, "eth_accounts", json!([])).unwrap()[0].clone();
    let hash = support::rpc_call(
        &node.url,
        "eth_sendTransaction",
        json!([{"from": from, "to": "0x00000000000000000000000000000000000012aa", "value": "0x1"}]),
    )
    .unwrap();
    let receipt = support::wait_for_receipt(&node.url, &hash);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let note: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(note["method"], "eth_subscription", "{note}");
    assert_eq!(note["params"]["subscription"], id, "{note}");
    assert!(note["params"]["result"]["number"].is_string(), "{note}");
    assert!(receipt["blockNumber"].is_string());

    // Garbage ends that connection with a parse error; the server goes on.
    stream.write_all(b"}}}{{{").unwrap();
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.contains("-32700"), "{line}");
    let (mut fresh, mut fresh_reader) = ipc_connect(&path);
    let answer = ipc_exchange(
        &mut fresh,
        &mut fresh_reader,
        r#"{"jsonrpc":"2.0","id":9,"method":"net_version"}"#,
    );
    assert_eq!(answer["result"], "1337");
}

#[test]
fn ipc_connection_limit_refuses_extra_clients_with_a_clear_answer() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let node = VeilProcess::start_dev(dir.path(), &["--rpc.max-connections", "1"]);

    // IPC: the first connection is served, a second one is told why it is refused.
    let path = node.ipc_path.clone().expect("ipc path");
    let (mut first, mut first_reader) = ipc_connect(&path);
    let answer = ipc_exchange(
        &mut first,
        &mut first_reader,
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}"#,
    );
    assert_eq!(answer["result"], "0x539");
    let (mut second, _) = ipc_connect(&path);
    let mut refusal = String::new();
    second.read_to_string(&mut refusal).unwrap();
    assert!(refusal.contains("too many connections"), "{refusal}");

    drop(first);
}

#[test]
fn filters_beyond_the_cap_are_refused_with_a_clear_error_until_one_is_uninstalled() {
    let dir = tempfile::tempdir().unwrap();
    let node = VeilProcess::start_dev(dir.path(), &["--ipcdisable", "--rpc.max-filters", "3"]);
    let first = node.call("eth_newBlockFilter", json!([])).unwrap();
    node.call("eth_newPendingTransactionFilter", json!([])).unwrap();
    node.call("eth_newFilter", json!([{ "fromBlock": "latest" }])).unwrap();
    for (method, params) in [
        ("eth_newBlockFilter", json!([])),
        ("eth_newPendingTransactionFilter", json!([])),
        ("eth_newFilter", json!([{}])),
    ] {
        let error = rpc_error(&node.url, method, params);
        assert_eq!(code(&error), -32000, "{error}");
        assert!(message(&error).starts_with("too many filters"), "{error}");
        assert!(message(&error).contains("--rpc.max-filters"), "{error}");
    }
    // The installed ones still work, and uninstalling one makes room.
    assert_eq!(node.call("eth_getFilterChanges", json!([first])).unwrap(), json!([]));
    assert_eq!(node.call("eth_uninstallFilter", json!([first])).unwrap(), json!(true));
    node.call("eth_newBlockFilter", json!([])).unwrap();
}

/// Sends `prefix`, then one byte of `drip` every 200 ms; answers what the server sent before
/// it closed the connection, or `None` if it never closed within 30 s.
fn drip(address: &str, prefix: &[u8], drip: u8) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_millis(200))).unwrap();
    stream.write_all(prefix).ok()?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut answer = Vec::new();
    while std::time::Instant::now() < deadline {
        let mut buffer = [0u8; 4096];
        match stream.read(&mut buffer) {
            Ok(0) => return Some(String::from_utf8_lossy(&answer).into_owned()),
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if stream.write_all(&[drip]).is_err() {
                    return Some(String::from_utf8_lossy(&answer).into_owned());
                }
            }
            Err(_) => return Some(String::from_utf8_lossy(&answer).into_owned()),
        }
    }
    None
}

#[test]
fn slow_clients_are_cut_off_and_one_ip_holds_few_connections() {
    let dir = tempfile::tempdir().unwrap();
    let node = VeilProcess::start_dev(
        dir.path(),
        &[
            "--ipcdisable",
            "--ws",
            "--ws.port",
            "0",
            "--rpc.read-header-timeout",
            "1",
            "--rpc.read-body-timeout",
            "1",
            "--rpc.max-connections-per-ip",
            "4",
        ],
    );
    let http = node.url.trim_start_matches("http://").trim_end_matches('/').to_string();
    let ws = node.ws_url.clone().unwrap();
    let ws = ws.trim_start_matches("ws://").trim_end_matches('/').to_string();

    // Headers a byte at a time, on the HTTP and the WebSocket port: cut off.
    for address in [&http, &ws] {
        let closed = drip(address, b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ", b'a');
        assert!(closed.is_some(), "{address}: a slow-header client was never cut off");
    }
    // A body a byte at a time: cut off, never answered 200.
    let slow_body = b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\",\"params\":[\"";
    let answer = drip(&http, slow_body, b'a').expect("a slow-body client was never cut off");
    assert!(!answer.starts_with("HTTP/1.1 200"), "{answer}");

    // Five connections from one IP: the fifth is refused, and the log says why.
    let held: Vec<std::net::TcpStream> =
        (0..5).map(|_| std::net::TcpStream::connect(&http).unwrap()).collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let line = node
            .log
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .expect("the node never logged the refused connection");
        if line.contains("refused a connection: this IP holds the most allowed") {
            assert!(line.contains("--rpc.max-connections-per-ip"), "{line}");
            break;
        }
    }
    drop(held);

    // Still serving.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while node.call("eth_chainId", json!([])).is_err() {
        assert!(std::time::Instant::now() < deadline, "the node stopped serving");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Counts a batch answer's entries: those that ran (an answer from the EVM, here "out of
/// gas") and those left unrun for the batch's time budget (-32002 naming the flag).
fn ran_and_unrun(answers: &Value) -> (usize, usize) {
    let answers = answers.as_array().expect("a batch answer");
    let unrun = answers
        .iter()
        .filter(|a| {
            a["error"]["code"] == -32002
                && a["error"]["message"].as_str().unwrap().contains("--rpc.batch-time-budget")
        })
        .count();
    let ran = answers
        .iter()
        .filter(|a| a["error"]["message"].as_str().is_some_and(|m| m.contains("out of gas")))
        .count();
    assert_eq!(ran + unrun, answers.len(), "{answers:?}");
    (ran, unrun)
}

#[test]
fn a_batch_beyond_its_time_budget_leaves_the_rest_unrun_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let node = VeilProcess::start_dev(dir.path(), &["--rpc.batch-time-budget", "200"]);
    // 500 calls of an endless loop (JUMPDEST PUSH1 0 JUMP), each stopped by the gas cap.
    let looping = "0x000000000000000000000000000000000000100f";
    let calls: Vec<Value> = (0..500)
        .map(|id| {
            json!({
                "jsonrpc": "2.0", "id": id, "method": "eth_call",
                "params": [{ "to": looping }, "latest", { looping: { "code": "0x5b600056" } }]
            })
        })
        .collect();
    let batch = Value::Array(calls).to_string();

    let (status, body) = http_post_ok(&node.url, &batch);
    assert_eq!(status, 200, "{body}");
    let (ran, unrun) = ran_and_unrun(&serde_json::from_str(&body).unwrap());
    assert!(ran >= 1 && unrun >= 1, "HTTP: ran {ran}, unrun {unrun}");

    let (mut stream, mut reader) = ipc_connect(node.ipc_path.as_ref().unwrap());
    let answers = ipc_exchange(&mut stream, &mut reader, &format!("{batch}\n"));
    let (ran, unrun) = ran_and_unrun(&answers);
    assert!(ran >= 1 && unrun >= 1, "IPC: ran {ran}, unrun {unrun}");

    // A small batch within the budget runs whole, and the node keeps serving.
    let small = r#"[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},{"jsonrpc":"2.0","id":2,"method":"eth_blockNumber"}]"#;
    let (_, body) = http_post_ok(&node.url, small);
    let answers: Value = serde_json::from_str(&body).unwrap();
    assert!(answers.as_array().unwrap().iter().all(|a| a.get("result").is_some()), "{answers}");
}
