//! What became of the transactions a round saw accepted but never saw mined: each is looked
//! up on the watched node (mined after the watcher stopped?) and on the node it was sent to
//! (still pending there, or gone). A round that loses an acknowledged transaction says so in
//! its failures, with an example hash to look up, instead of one count that hides the cause.

use super::round::Target;
use alloy_primitives::B256;
use jsonrpsee::{core::client::ClientT, rpc_params};
use serde_json::Value;
use std::{collections::BTreeMap, time::Duration};

/// Most unmined transactions looked up one by one; the rest are counted unclassified.
const MAX_LOOKED_UP: usize = 256;

/// The failures of `unmined` (hash and the index of the node it was sent to), by what the
/// nodes say of each now.
pub(crate) async fn classify(
    target: &Target,
    unmined: &[(B256, usize)],
    settle: Duration,
) -> BTreeMap<String, u64> {
    let mut failures = BTreeMap::new();
    let mut examples = BTreeMap::new();
    let after = settle.as_secs();
    for (index, (hash, node)) in unmined.iter().enumerate() {
        let why = if index >= MAX_LOOKED_UP {
            format!("accepted but not mined {after} s after sending ended (not looked up)")
        } else {
            match fate(target, *hash, *node).await {
                Fate::MinedLate => {
                    format!("accepted, mined more than {after} s after sending ended")
                }
                Fate::Pending => format!(
                    "accepted, still pending {after} s after sending ended on the node it was sent to"
                ),
                Fate::Unknown => {
                    "accepted, then unknown to the node it was sent to (lost)".to_string()
                }
                Fate::Unanswered(e) => format!(
                    "accepted but not mined {after} s after sending ended (lookup failed: {e})"
                ),
            }
        };
        examples.entry(why.clone()).or_insert((*hash, *node));
        *failures.entry(why).or_default() += 1;
    }
    for (why, (hash, node)) in examples {
        eprintln!("{why}: e.g. {hash} (sent to node {})", node + 1);
    }
    failures
}

enum Fate {
    MinedLate,
    Pending,
    Unknown,
    Unanswered(String),
}

async fn fate(target: &Target, hash: B256, node: usize) -> Fate {
    let watched = &target.nodes[0].1;
    let receipt: Result<Value, _> =
        watched.request("eth_getTransactionReceipt", rpc_params![hash]).await;
    match receipt {
        Ok(r) if !r.is_null() => return Fate::MinedLate,
        Ok(_) => {}
        Err(e) => return Fate::Unanswered(e.to_string()),
    }
    let sent_to = &target.nodes[node].1;
    match sent_to.request::<Value, _>("eth_getTransactionByHash", rpc_params![hash]).await {
        Ok(tx) if tx.is_null() => Fate::Unknown,
        Ok(tx) if tx["blockNumber"].is_null() => Fate::Pending,
        // Mined on the node it was sent to but not on the watched one.
        Ok(_) => Fate::MinedLate,
        Err(e) => Fate::Unanswered(e.to_string()),
    }
}
