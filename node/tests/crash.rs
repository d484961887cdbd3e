//! Kill -9 while transactions are flowing, restart: the head block, its state and receipts are
//! intact, and every accepted transaction is mined or pending again (and then mined).

mod support;

use alloy_consensus::TxLegacy;
use alloy_primitives::{hex, Address, TxKind, U256};
use serde_json::json;
use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};
use support::{quantity, rpc_call, wait_until, VeilProcess};
use veil_node::dev::{dev_addresses, dev_key, DEV_ACCOUNTS, DEV_CHAIN_ID};

fn raw_transfer(sender: usize, nonce: u64, to: Address) -> String {
    let tx = TxLegacy {
        chain_id: Some(DEV_CHAIN_ID),
        nonce,
        gas_price: 0,
        gas_limit: 21_000,
        to: TxKind::Call(to),
        value: U256::from(1_000 + nonce),
        input: Default::default(),
    };
    let signed = veil_primitives::sign_transaction(tx.into(), &dev_key(sender));
    format!("0x{}", hex::encode(signed.encoded_2718()))
}

#[test]
fn kill_9_under_load_loses_no_accepted_transaction() {
    let dir = tempfile::tempdir().unwrap();
    // A long block time keeps transactions pending between blocks, so the kill finds some.
    let node = VeilProcess::start_dev(
        dir.path(),
        &["--blocktime", "300", "--http.api", "eth,net,web3,txpool"],
    );
    let recipient = Address::repeat_byte(0x99);
    let initial_total: u128 = dev_addresses()
        .iter()
        .map(|a| quantity(&node.call("eth_getBalance", json!([a, "latest"])).unwrap()))
        .sum();

    // A sender thread keeps submitting until the node is gone.
    let accepted = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (url, accepted, stop) = (node.url.clone(), accepted.clone(), stop.clone());
        std::thread::spawn(move || {
            'sending: for i in 0..3_000u64 {
                let raw = raw_transfer(
                    (i % DEV_ACCOUNTS as u64) as usize,
                    i / DEV_ACCOUNTS as u64,
                    recipient,
                );
                // A refused or failed call is retried (bounded) until the node is killed.
                for _attempt in 0..200 {
                    if stop.load(Ordering::Relaxed) {
                        break 'sending;
                    }
                    if let Ok(hash) = rpc_call(&url, "eth_sendRawTransaction", json!([raw])) {
                        accepted.lock().unwrap().push(hash.as_str().unwrap().to_string());
                        continue 'sending;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                break;
            }
        })
    };
    wait_until("transactions accepted and mined", Duration::from_secs(120), || {
        let mined = node.call("eth_blockNumber", json!([])).map(|n| quantity(&n)).unwrap_or(0);
        let pending =
            node.call("txpool_status", json!([])).map(|s| quantity(&s["pending"])).unwrap_or(0);
        accepted.lock().unwrap().len() >= 400 && mined >= 3 && pending > 0
    });
    node.kill9();
    stop.store(true, Ordering::Relaxed);
    sender.join().unwrap();
    let accepted: Vec<String> = accepted.lock().unwrap().clone();

    let node = VeilProcess::start_dev(dir.path(), &["--blocktime", "20"]);
    let restored: usize = node
        .startup_log
        .iter()
        .find_map(|l| l.split("restored=").nth(1))
        .and_then(|n| n.split_whitespace().next()?.parse().ok())
        .expect("the node logs how many journaled transactions it restored");
    assert!(restored > 0, "the kill found pending transactions and the journal restored them");
    // The head survived with its state and receipts.
    let head = node.call("eth_getBlockByNumber", json!(["latest", false])).unwrap();
    assert!(quantity(&head["number"]) >= 3, "head {head}");
    for tx in head["transactions"].as_array().unwrap() {
        let receipt = node.call("eth_getTransactionReceipt", json!([tx])).unwrap();
        assert_eq!(receipt["blockHash"], head["hash"]);
        assert_eq!(receipt["status"], "0x1");
    }
    // Every accepted transaction is mined or pending again; the node then mines them all.
    let missing = |node: &VeilProcess| -> Vec<String> {
        accepted
            .iter()
            .filter(|h| node.call("eth_getTransactionReceipt", json!([h])).unwrap().is_null())
            .cloned()
            .collect()
    };
    // Nobody resubmits after the restart, so a transaction accepted but not mined before the
    // kill can only be mined now if the pool journal brought it back.
    let unmined_at_restart = missing(&node).len();
    println!("{} accepted, {unmined_at_restart} not mined at restart", accepted.len());
    wait_until("all accepted transactions mined after restart", Duration::from_secs(120), || {
        missing(&node).is_empty()
    });
    let unique: HashSet<&String> = accepted.iter().collect();
    assert_eq!(unique.len(), accepted.len());

    // Gas is free on the dev chain: value only moves between accounts.
    let total: u128 = dev_addresses()
        .iter()
        .chain(std::iter::once(&recipient))
        .map(|a| quantity(&node.call("eth_getBalance", json!([a, "latest"])).unwrap()))
        .sum();
    assert_eq!(total, initial_total);
    let status = node.terminate();
    assert!(status.success(), "clean shutdown: {status}");
}
