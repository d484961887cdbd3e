//! Veil's blocks, transactions, receipts and logs in geth's JSON shapes
//! (`alloy-rpc-types-eth`).

use alloy_consensus::{
    transaction::Recovered, Header, ReceiptEnvelope, ReceiptWithBloom, TxEnvelope, TxReceipt,
};
use alloy_primitives::{Address, B256, U256};
use alloy_rpc_types_eth as rpc;
use serde_json::Value;
use veil_primitives::{Receipt, Transaction, PRIVATE_V_EVEN};

/// Where a mined transaction sits.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TxPlace {
    pub(crate) block_hash: B256,
    pub(crate) block_number: u64,
    pub(crate) index: u64,
    pub(crate) base_fee: Option<u64>,
}

/// The block header as geth shows it.
pub(crate) fn header(hash: B256, header: Header, size: Option<usize>) -> rpc::Header {
    rpc::Header { hash, inner: header, total_difficulty: None, size: size.map(U256::from) }
}

/// A transaction as geth shows it. A private transaction is a legacy one whose `v` is 37/38.
pub(crate) fn transaction(tx: &Transaction, from: Address, place: Option<TxPlace>) -> Value {
    let envelope = match tx {
        Transaction::Public(envelope) => envelope.clone(),
        Transaction::Private(signed) => TxEnvelope::Legacy(signed.clone()),
    };
    let effective_gas_price =
        place.map(|p| alloy_consensus::Transaction::effective_gas_price(&envelope, p.base_fee));
    let shown = rpc::Transaction {
        inner: Recovered::new_unchecked(envelope, from),
        block_hash: place.map(|p| p.block_hash),
        block_number: place.map(|p| p.block_number),
        transaction_index: place.map(|p| p.index),
        effective_gas_price,
        block_timestamp: None,
    };
    let mut value = serde_json::to_value(shown).unwrap_or(Value::Null);
    if tx.is_private() {
        let parity = u64::from(tx.signature().v());
        value["v"] = Value::String(format!("{:#x}", PRIVATE_V_EVEN + parity));
    }
    value
}

/// The logs of a block's receipts with their block, transaction and log indexes.
pub(crate) fn block_logs(
    block_hash: B256,
    block_number: u64,
    timestamp: u64,
    tx_hashes: &[B256],
    receipts: &[Receipt],
) -> Vec<Vec<rpc::Log>> {
    let mut log_index = 0u64;
    receipts
        .iter()
        .zip(tx_hashes)
        .enumerate()
        .map(|(i, (receipt, tx_hash))| {
            receipt
                .logs()
                .iter()
                .map(|log| {
                    let shown = rpc::Log {
                        inner: log.clone(),
                        block_hash: Some(block_hash),
                        block_number: Some(block_number),
                        block_timestamp: Some(timestamp),
                        transaction_hash: Some(*tx_hash),
                        transaction_index: Some(i as u64),
                        log_index: Some(log_index),
                        removed: false,
                    };
                    log_index += 1;
                    shown
                })
                .collect()
        })
        .collect()
}

/// Everything a receipt needs from its block.
pub(crate) struct BlockReceipts<'a> {
    pub(crate) hash: B256,
    pub(crate) header: &'a Header,
    pub(crate) transactions: &'a [Transaction],
    pub(crate) senders: &'a [Address],
    pub(crate) receipts: &'a [Receipt],
}

impl BlockReceipts<'_> {
    /// The receipts of the block as geth shows them.
    pub(crate) fn all(&self) -> Vec<rpc::TransactionReceipt> {
        let mut first_log = 0;
        (0..self.receipts.len())
            .filter_map(|i| {
                let shown = self.build(i, first_log)?;
                first_log += shown.inner.logs().len() as u64;
                Some(shown)
            })
            .collect()
    }

    /// The receipt of transaction `index` alone (`eth_getTransactionReceipt`): only the log
    /// counts of the receipts before it are looked at.
    pub(crate) fn nth(&self, index: usize) -> Option<rpc::TransactionReceipt> {
        let first_log = self.receipts.get(..index)?.iter().map(|r| r.logs().len() as u64).sum();
        self.build(index, first_log)
    }

    /// Receipt `i`, whose first log has block-wide index `first_log`.
    fn build(&self, i: usize, first_log: u64) -> Option<rpc::TransactionReceipt> {
        let (receipt, tx, from) =
            (self.receipts.get(i)?, self.transactions.get(i)?, *self.senders.get(i)?);
        let tx_hash = tx.hash();
        let cumulative = receipt.cumulative_gas_used();
        let previous = i.checked_sub(1).map_or(0, |p| self.receipts[p].cumulative_gas_used());
        let logs = receipt
            .logs()
            .iter()
            .zip(first_log..)
            .map(|(log, log_index)| rpc::Log {
                inner: log.clone(),
                block_hash: Some(self.hash),
                block_number: Some(self.header.number),
                block_timestamp: Some(self.header.timestamp),
                transaction_hash: Some(tx_hash),
                transaction_index: Some(i as u64),
                log_index: Some(log_index),
                removed: false,
            })
            .collect();
        let fields = alloy_consensus::Receipt {
            status: receipt.status_or_post_state(),
            cumulative_gas_used: cumulative,
            logs,
        };
        let with_bloom = ReceiptWithBloom::new(fields, receipt.bloom());
        let inner = match receipt {
            ReceiptEnvelope::Eip2930(_) => ReceiptEnvelope::Eip2930(with_bloom),
            ReceiptEnvelope::Eip1559(_) => ReceiptEnvelope::Eip1559(with_bloom),
            ReceiptEnvelope::Eip4844(_) => ReceiptEnvelope::Eip4844(with_bloom),
            ReceiptEnvelope::Eip7702(_) => ReceiptEnvelope::Eip7702(with_bloom),
            _ => ReceiptEnvelope::Legacy(with_bloom),
        };
        Some(rpc::TransactionReceipt {
            inner,
            transaction_hash: tx_hash,
            transaction_index: Some(i as u64),
            block_hash: Some(self.hash),
            block_number: Some(self.header.number),
            gas_used: cumulative - previous,
            effective_gas_price: tx.fields().effective_gas_price(self.header.base_fee_per_gas),
            blob_gas_used: None,
            blob_gas_price: None,
            from,
            to: tx.to(),
            contract_address: tx.to().is_none().then(|| from.create(tx.nonce())),
        })
    }
}
