//! `veil-sim demo`: node 1 deploys SimpleStorage(42) private for the last node, then sets 4;
//! after each step a table of what `get()` gives on every node.

use crate::{layout::Layout, network, rpc};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// SimpleStorage, hand-assembled: the constructor stores its uint256 argument; `set(uint256)`
/// (0x60fe47b1) stores it and logs it, `get()` (0x6d4ce63c) returns it.
const RUNTIME: &str = "60003560e01c806360fe47b114601d57636d4ce63c14602b57600080fd5b6004358060005560006000a1005b60005460005260206000f3";
const INIT: &str = "602060506000396000516000556037601960003960376000f3";

fn word(value: u64) -> String {
    format!("{value:064x}")
}

/// The deployment data of SimpleStorage(`value`).
pub(crate) fn simple_storage_init(value: u64) -> String {
    format!("0x{INIT}{RUNTIME}{}", word(value))
}

/// The data of `set(value)`.
pub(crate) fn set_call(value: u64) -> String {
    format!("0x60fe47b1{}", word(value))
}

/// The data of `get()`.
pub(crate) const GET_CALL: &str = "0x6d4ce63c";

/// Waits up to 60 s for a transaction's receipt on `url`.
pub(crate) fn receipt(url: &str, hash: &Value) -> eyre::Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let receipt = rpc::call(url, "eth_getTransactionReceipt", json!([hash]))?;
        if !receipt.is_null() {
            return Ok(receipt);
        }
        eyre::ensure!(Instant::now() < deadline, "transaction {hash} was not mined within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What `get()` shows on every node, once each has the block `number`.
fn table(layout: &Layout, contract: &str, number: u64) -> eyre::Result<String> {
    let mut out = String::from("| node | get() |\n|---|---|\n");
    for n in layout.numbers() {
        let url = layout.rpc_url(n);
        let deadline = Instant::now() + Duration::from_secs(30);
        while rpc::quantity(&rpc::call(&url, "eth_blockNumber", json!([]))?) < number {
            eyre::ensure!(Instant::now() < deadline, "node {n} did not reach block {number}");
            std::thread::sleep(Duration::from_millis(100));
        }
        let got =
            rpc::call(&url, "eth_call", json!([{ "to": contract, "data": GET_CALL }, "latest"]))?;
        let shown = match got.as_str() {
            Some("0x") | None => "0 (no contract here: not a party)".to_string(),
            Some(hex) => u128::from_str_radix(hex.trim_start_matches("0x"), 16)
                .map_or_else(|_| hex.to_string(), |v| v.to_string()),
        };
        out.push_str(&format!("| {n} | {shown} |\n"));
    }
    Ok(out)
}

/// Runs the demo on a running network; answers the text to print.
pub(crate) fn demo(layout: &Layout) -> eyre::Result<String> {
    let first = layout.rpc_url(1);
    let last = layout.nodes;
    let from = network::account(layout, 1)?;
    let to_key = layout.tm_key(last)?;
    let mut out = format!("Node 1 deploys SimpleStorage(42) privateFor node {last} ({to_key})\n");
    let deploy = rpc::call(
        &first,
        "eth_sendTransaction",
        json!([{ "from": from, "data": simple_storage_init(42), "gas": "0x47b760", "privateFor": [to_key] }]),
    )?;
    let mined = receipt(&first, &deploy)?;
    let contract = mined["contractAddress"].as_str().unwrap_or_default().to_string();
    out.push_str(&format!(
        "contract {contract}, block {}\n\n",
        rpc::quantity(&mined["blockNumber"])
    ));
    out.push_str(&table(layout, &contract, rpc::quantity(&mined["blockNumber"]))?);
    out.push_str(&format!("\nNode 1 calls set(4) privateFor node {last}\n\n"));
    let set = rpc::call(
        &first,
        "eth_sendTransaction",
        json!([{ "from": from, "to": contract, "data": set_call(4), "privateFor": [to_key] }]),
    )?;
    let mined = receipt(&first, &set)?;
    out.push_str(&table(layout, &contract, rpc::quantity(&mined["blockNumber"]))?);
    Ok(out)
}
