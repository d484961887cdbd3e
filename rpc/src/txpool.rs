//! `txpool_status`, `txpool_content` and `txpool_inspect` in geth's shapes.

use super::{convert, method, Module, RpcContext};
use alloy_primitives::{Address, U64};
use jsonrpsee::core::RegisterMethodError;
use serde_json::{json, Map, Value};
use std::{collections::BTreeMap, sync::Arc};
use veil_primitives::RecoveredTx;

type BySender = BTreeMap<Address, BTreeMap<u64, RecoveredTx>>;

/// `{sender: {nonce: shown}}` with geth's checksummed senders and decimal nonces.
fn by_sender(txs: &BySender, show: impl Fn(&RecoveredTx) -> Value) -> Value {
    let mut out = Map::new();
    for (sender, by_nonce) in txs {
        let inner: Map<String, Value> =
            by_nonce.iter().map(|(nonce, tx)| (nonce.to_string(), show(tx))).collect();
        out.insert(sender.to_checksum(None), Value::Object(inner));
    }
    Value::Object(out)
}

/// geth's one-line summary: `to: value wei + gas gas × price wei`.
fn summary(tx: &RecoveredTx) -> Value {
    let t = tx.tx();
    let to = t.to().map_or("contract creation".to_string(), |to| to.to_checksum(None));
    json!(format!("{to}: {} wei + {} gas × {} wei", t.value(), t.gas_limit(), t.max_fee_per_gas()))
}

/// The `txpool_*` methods.
pub(super) fn module(context: Arc<RpcContext>) -> Result<Module, RegisterMethodError> {
    let mut m = Module::from_arc(context);
    method(&mut m, "txpool_status", |c, _| {
        let status = c.pool.status();
        Ok(json!({ "pending": U64::from(status.pending), "queued": U64::from(status.queued) }))
    })?;
    method(&mut m, "txpool_content", |c, _| {
        let content = c.pool.content();
        let show = |tx: &RecoveredTx| convert::transaction(tx.tx(), tx.sender(), None);
        Ok(json!({
            "pending": by_sender(&content.pending, show),
            "queued": by_sender(&content.queued, show),
        }))
    })?;
    method(&mut m, "txpool_inspect", |c, _| {
        let content = c.pool.content();
        Ok(json!({
            "pending": by_sender(&content.pending, summary),
            "queued": by_sender(&content.queued, summary),
        }))
    })?;
    Ok(m)
}
