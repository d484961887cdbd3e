//! The chain engine's metrics, through the `metrics` facade (a no-op until the node installs a
//! recorder). Names are geth's where geth has the metric — its timers are in nanoseconds —
//! and `veil_` ones otherwise.

use std::time::Instant;

/// The head block's number (geth's `chain/head/block`).
pub const HEAD_BLOCK: &str = "chain_head_block";
/// Executing an imported block's transactions, ns (geth's `chain/execution`).
pub const EXECUTION: &str = "chain_execution";
/// Checking an executed block's roots against its header, ns (geth's `chain/validation`).
pub const VALIDATION: &str = "chain_validation";
/// Writing a block and its state, ns (geth's `chain/write`).
pub const WRITE: &str = "chain_write";
/// Times import halted because the TM did not answer.
pub const HALTS: &str = "veil_chain_import_halts_total";
/// 1 while import is halted, else 0.
pub const HALTED: &str = "veil_chain_import_halted";
/// Private transactions in committed blocks, by whether this node is a party.
pub const PRIVATE_IMPORTED: &str = "veil_private_transactions_imported_total";
/// Private payloads this node's TM distributed for it (`/send`, `/sendsignedtx`).
pub const PRIVATE_SENT: &str = "veil_private_transactions_sent_total";
/// One payload fetch from the TM (with its retries), in seconds.
pub const TM_FETCH: &str = "veil_ptm_fetch_seconds";

/// Records the nanoseconds since `started` in the timer `name`.
pub(crate) fn record_ns(name: &'static str, started: Instant) {
    metrics::histogram!(name).record(started.elapsed().as_nanos() as f64);
}
