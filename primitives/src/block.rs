//! Blocks: alloy's header and body, carrying Veil transactions.

use crate::Transaction;
use alloy_primitives::B256;

/// A block: alloy's [`alloy_consensus::Header`] and a body of Veil transactions.
pub type Block = alloy_consensus::Block<Transaction>;

/// A block body.
pub type BlockBody = alloy_consensus::BlockBody<Transaction>;

/// The transactions root: the ordered trie of the transactions' EIP-2718 encodings.
pub fn transactions_root(transactions: &[Transaction]) -> B256 {
    alloy_trie::root::ordered_trie_root_with_encoder(transactions, |tx, buf| tx.encode_2718(buf))
}
