//! `eth_sendTransaction` from one account by many clients at once: each gets its own nonce and
//! every acknowledged transaction is mined. Two sends could once take the same pending nonce
//! (no lock between choosing it and pooling the transaction, and a pending nonce that ignored
//! pooled transactions while the pool lagged a block behind), and on a gas-free chain the
//! second silently replaced the first.

mod support;

use serde_json::json;
use std::{collections::HashSet, time::Duration};
use support::{quantity, wait_until, VeilProcess};

#[test]
fn concurrent_sends_from_one_account_get_distinct_nonces_and_are_all_mined() {
    const CLIENTS: usize = 8;
    const SENDS: usize = 40;
    let dir = tempfile::tempdir().unwrap();
    let node = VeilProcess::start_dev(dir.path(), &["--ipcdisable"]);
    let from = node.call("eth_accounts", json!([])).unwrap()[0].clone();
    let url = node.url.clone();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (url, from) = (url.clone(), from.clone());
            std::thread::spawn(move || {
                (0..SENDS)
                    .map(|i| {
                        // Distinct transactions: one nonce given twice is two hashes.
                        let value = format!("0x{:x}", 1 + client * SENDS + i);
                        let request = json!({ "from": from, "to": "0x00000000000000000000000000000000000000aa", "value": value });
                        support::rpc_call(&url, "eth_sendTransaction", json!([request])).unwrap()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let hashes: Vec<serde_json::Value> =
        clients.into_iter().flat_map(|c| c.join().unwrap()).collect();
    assert_eq!(hashes.iter().collect::<HashSet<_>>().len(), CLIENTS * SENDS);
    wait_until("every acknowledged transaction mined", Duration::from_secs(60), || {
        hashes
            .iter()
            .all(|h| node.call("eth_getTransactionReceipt", json!([h])).is_ok_and(|r| !r.is_null()))
    });
    let nonce = node.call("eth_getTransactionCount", json!([from, "latest"])).unwrap();
    assert_eq!(quantity(&nonce), (CLIENTS * SENDS) as u128, "one nonce per acknowledged send");
}
