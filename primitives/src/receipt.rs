//! Receipts: alloy's typed receipt envelope.

use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Bloom, Log, B256};

/// A receipt in its EIP-2718 envelope (type, status, cumulative gas, bloom, logs).
pub type Receipt = alloy_consensus::ReceiptEnvelope<Log>;

/// The receipts root: the ordered trie of the receipts' EIP-2718 encodings.
pub fn receipts_root(receipts: &[Receipt]) -> B256 {
    alloy_trie::root::ordered_trie_root_with_encoder(receipts, |receipt, buf| {
        receipt.encode_2718(buf)
    })
}

/// The bloom filter of a set of logs.
pub fn logs_bloom<'a>(logs: impl IntoIterator<Item = &'a Log>) -> Bloom {
    let mut bloom = Bloom::ZERO;
    for log in logs {
        bloom.accrue_log(log);
    }
    bloom
}
