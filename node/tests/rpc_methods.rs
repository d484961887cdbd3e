//! Methods the client and error tests do not reach, each checked over IPC (which serves every
//! namespace) against an independent expectation; and CORS on HTTP.

mod support;

use serde_json::json;
use std::{io::Write, time::Duration};
use support::{Ipc, VeilProcess};

#[test]
fn remaining_methods_answer_as_geth_does() {
    let dir = tempfile::tempdir().unwrap();
    let node = VeilProcess::start_dev(
        dir.path(),
        &["--miner.etherbase", "0x00000000000000000000000000000000000000cb"],
    );
    let mut ipc = Ipc::connect(node.ipc_path.as_ref().unwrap());

    assert_eq!(ipc.result("eth_coinbase", json!([])), "0x00000000000000000000000000000000000000cb");
    assert_eq!(ipc.result("admin_datadir", json!([])), dir.path().display().to_string());
    let genesis = ipc.result("eth_getBlockByNumber", json!(["0x0", false]));
    let info = ipc.result("admin_nodeInfo", json!([]));
    assert_eq!(info["protocols"]["eth"]["genesis"], genesis["hash"], "{info}");
    assert_eq!(info["protocols"]["eth"]["network"], 1337);
    assert_eq!(ipc.result("eth_gasPrice", json!([])), "0x0", "gas-free dev chain");

    // personal_importRawKey, then personal_sendTransaction with its password.
    let key = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
    let imported = ipc.result("personal_importRawKey", json!([key, "pw"]));
    let expected = veil_primitives::address_of(
        &secp256k1::SecretKey::from_slice(&alloy_primitives::hex::decode(&key[2..]).unwrap())
            .unwrap(),
    );
    assert_eq!(imported.as_str().unwrap().to_lowercase(), expected.to_string().to_lowercase());

    // eth_signTransaction: the raw bytes decode and recover to the unlocked dev account.
    let from = ipc.result("eth_accounts", json!([]))[0].clone();
    let signed = ipc.result(
        "eth_signTransaction",
        json!([{"from": from, "to": "0x00000000000000000000000000000000000000dd", "value": "0x7"}]),
    );
    let raw =
        alloy_primitives::hex::decode(signed["raw"].as_str().unwrap().trim_start_matches("0x"))
            .unwrap();
    let tx = veil_primitives::RecoveredTx::try_new(
        veil_primitives::Transaction::decode_2718_exact(&raw).unwrap(),
    )
    .unwrap();
    assert_eq!(tx.sender().to_string().to_lowercase(), from.as_str().unwrap().to_lowercase());
    assert_eq!(signed["tx"]["hash"], json!(tx.hash()));

    // The raw-transaction reads give back exactly the bytes that were sent, by hash and by
    // block and index; the header reads give the block's fields without transactions, uncles
    // and size (geth's RPCMarshalHeader).
    let sent = ipc.result("eth_sendRawTransaction", json!([signed["raw"]]));
    support::wait_until("the signed transaction is mined", Duration::from_secs(30), || {
        !ipc.result("eth_getTransactionReceipt", json!([sent])).is_null()
    });
    assert_eq!(ipc.result("eth_getRawTransactionByHash", json!([sent])), signed["raw"]);
    let receipt = ipc.result("eth_getTransactionReceipt", json!([sent]));
    let (number, index) = (&receipt["blockNumber"], &receipt["transactionIndex"]);
    let by_number =
        ipc.result("eth_getRawTransactionByBlockNumberAndIndex", json!([number, index]));
    assert_eq!(by_number, signed["raw"]);
    let by_hash = ipc
        .result("eth_getRawTransactionByBlockHashAndIndex", json!([receipt["blockHash"], index]));
    assert_eq!(by_hash, signed["raw"]);
    let unknown = format!("0x{}", "ab".repeat(32));
    assert!(ipc.result("eth_getRawTransactionByHash", json!([unknown])).is_null());
    assert!(ipc
        .result("eth_getRawTransactionByBlockNumberAndIndex", json!([number, "0x63"]))
        .is_null());
    let mut block = ipc.result("eth_getBlockByNumber", json!([number, false]));
    for field in ["transactions", "uncles", "size", "withdrawals"] {
        block.as_object_mut().unwrap().remove(field);
    }
    assert_eq!(ipc.result("eth_getHeaderByNumber", json!([number])), block);
    assert_eq!(ipc.result("eth_getHeaderByHash", json!([receipt["blockHash"]])), block);
    assert!(ipc.result("eth_getHeaderByHash", json!([unknown])).is_null());
    let uncle = ipc.result("eth_getUncleByBlockNumberAndIndex", json!([number, "0x0"]));
    assert!(uncle.is_null(), "no block has uncles: {uncle}");
    let uncle = ipc.result("eth_getUncleByBlockHashAndIndex", json!([receipt["blockHash"], "0x0"]));
    assert!(uncle.is_null(), "no block has uncles: {uncle}");

    // newPendingTransactions over IPC, then unsubscribe.
    let (sub, _) = ipc.call("eth_subscribe", json!(["newPendingTransactions"]));
    let (hash, mut notes) = ipc.call(
        "personal_sendTransaction",
        json!([{"from": imported, "to": "0x00000000000000000000000000000000000000dd"}, "pw"]),
    );
    while notes.is_empty() {
        notes.push(ipc.line());
    }
    assert_eq!(notes[0]["params"]["subscription"], sub);
    assert_eq!(notes[0]["params"]["result"], hash);
    assert_eq!(ipc.result("eth_unsubscribe", json!([sub])), true);
    assert_eq!(ipc.result("eth_unsubscribe", json!([sub])), false, "already gone");

    // eth_getFilterLogs returns what eth_getLogs does for the same filter.
    support::wait_until("the transfer is mined", Duration::from_secs(30), || {
        !ipc.result("eth_getTransactionReceipt", json!([hash])).is_null()
    });
    let filter = json!({"fromBlock": "earliest", "toBlock": "latest"});
    let id = ipc.result("eth_newFilter", json!([filter]));
    assert_eq!(
        ipc.result("eth_getFilterLogs", json!([id])),
        ipc.result("eth_getLogs", json!([filter]))
    );
    assert_eq!(ipc.result("eth_uninstallFilter", json!([id])), true);
}

#[test]
fn cors_answers_allowed_origins_only() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let node = VeilProcess::start_dev(
        dir.path(),
        &["--ipcdisable", "--http.corsdomain", "https://wallet.example"],
    );
    let addr = node.url.trim_start_matches("http://").to_string();
    let preflight = |origin: &str| {
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            stream,
            "OPTIONS / HTTP/1.1\r\nHost: {addr}\r\nOrigin: {origin}\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response.to_lowercase()
    };
    assert!(preflight("https://wallet.example")
        .contains("access-control-allow-origin: https://wallet.example"));
    assert!(!preflight("https://evil.example").contains("access-control-allow-origin"));
}
