//! GoQuorum's and geth's `--revertreason`: the receipt of a transaction that failed carries
//! `revertReason`, the data its top call reverted with (an `Error(string)` encoding, a custom
//! error's, or whatever the contract returned), and no such field when it reverted with none
//! or failed otherwise (out of gas).
//!
//! GoQuorum keeps the data with the receipt at execution. Veil keeps nothing more at
//! execution: it replays the transaction on its block's parent state, as
//! `debug_traceTransaction` does (a private one as its parties ran it), when such a receipt is
//! asked for. Only failed receipts cost a replay, and only with the flag on; the result is the
//! same, because execution is deterministic.

use super::{error::internal_error, off_thread, MethodResult, RpcContext};
use alloy_primitives::{Bytes, B256};
use alloy_rpc_types_trace::geth::{CallConfig, GethDebugTracingOptions, GethTrace};
use std::sync::Arc;

impl RpcContext {
    /// `eth_getTransactionReceipt` with `revertReason` on a failed transaction. A replay that
    /// fails (the TM cannot answer, say) leaves the field out and is logged: the receipt
    /// itself is never withheld.
    pub(crate) async fn receipt_with_revert_reason(
        self: Arc<Self>,
        hash: B256,
    ) -> MethodResult<Option<serde_json::Value>> {
        let Some(receipt) = off_thread(&self, move |c| c.receipt(hash)).await? else {
            return Ok(None);
        };
        let mut shown = serde_json::to_value(&receipt).map_err(internal_error)?;
        if receipt.status() {
            return Ok(Some(shown));
        }
        match self.revert_data(hash).await {
            Ok(Some(data)) => shown["revertReason"] = serde_json::json!(data),
            Ok(None) => {}
            Err(why) => {
                tracing::warn!(target: "rpc", %hash, why = %why.message(), "the revert reason could not be replayed; the receipt goes without it");
            }
        }
        Ok(Some(shown))
    }

    /// What transaction `hash`'s top call reverted with, replayed; `None` when it did not
    /// revert or reverted with no data.
    async fn revert_data(self: &Arc<Self>, hash: B256) -> MethodResult<Option<Bytes>> {
        let payloads = self.trace_payloads(hash).await?;
        let options = GethDebugTracingOptions::call_tracer(CallConfig {
            only_top_call: Some(true),
            with_log: Some(false),
        });
        let trace =
            off_thread(self, move |c| c.trace_transaction(hash, options, &payloads)).await?;
        let GethTrace::CallTracer(frame) = trace else { return Ok(None) };
        Ok(frame.error.and(frame.output).filter(|data| !data.is_empty()))
    }
}
