//! GoQuorum's `eth_sendTransactionAsync` on a dev node: the call answers the zero hash at once;
//! the callback URL then receives `{"txHash": …}` for a transaction the chain mines, or
//! `{"error": …}` when the send fails; a malformed callback URL is refused up front.

mod support;

use serde_json::{json, Value};
use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpListener,
    sync::mpsc,
    time::Duration,
};
use support::VeilProcess;

/// A one-request-at-a-time HTTP receiver: each POST body arrives on the channel.
fn callback_server() -> (String, mpsc::Receiver<Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/callback", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
            if tx.send(serde_json::from_slice(&body).unwrap_or(Value::Null)).is_err() {
                return;
            }
        }
    });
    (url, rx)
}

#[test]
fn send_transaction_async_answers_at_once_and_calls_back_with_the_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let node = VeilProcess::start_dev(dir.path(), &[]);
    let (url, callbacks) = callback_server();
    let from = node.call("eth_accounts", json!([])).unwrap()[0].clone();
    let to = "0x00000000000000000000000000000000000000aa";

    let answer = node
        .call(
            "eth_sendTransactionAsync",
            json!([{ "from": from, "to": to, "value": "0x1", "callbackUrl": url }]),
        )
        .unwrap();
    assert_eq!(answer, json!(format!("0x{}", "0".repeat(64))));
    let called = callbacks.recv_timeout(Duration::from_secs(30)).expect("the callback is called");
    let hash = called["txHash"].clone();
    assert!(hash.as_str().is_some_and(|h| h.len() == 66), "{called}");
    let receipt = support::wait_for_receipt(&node.url, &hash);
    assert_eq!(receipt["to"], to);

    let stranger = "0x00000000000000000000000000000000000000bb";
    node.call(
        "eth_sendTransactionAsync",
        json!([{ "from": stranger, "to": to, "callbackUrl": url }]),
    )
    .unwrap();
    let called = callbacks.recv_timeout(Duration::from_secs(30)).expect("the callback is called");
    assert!(called["error"].as_str().is_some_and(|e| !e.is_empty()), "{called}");

    let bad = support::rpc_error(
        &node.url,
        "eth_sendTransactionAsync",
        json!([{ "from": from, "callbackUrl": "not a url" }]),
    );
    assert!(bad["message"].as_str().unwrap().contains("callbackUrl"), "{bad}");
}
