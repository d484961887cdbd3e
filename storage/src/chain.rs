//! Blocks, receipts and indexes: the chain half of the store.

use crate::{KvStore, StorageError, Table, WriteBatch};
use alloy_consensus::Header;
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, Bytes, B256};
use alloy_rlp::{Decodable, Encodable};
use std::sync::Arc;
use veil_primitives::{Block, Receipt, Transaction};

const HEAD_KEY: &[u8] = b"head";

/// Where a transaction sits in the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxLocation {
    /// Hash of the containing block.
    pub block_hash: B256,
    /// Index within the block.
    pub index: u32,
}

/// Reads and queues writes of chain data.
#[derive(Clone)]
pub struct ChainStore {
    kv: Arc<dyn KvStore>,
}

impl std::fmt::Debug for ChainStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainStore").finish_non_exhaustive()
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(format!("{what}: {e}"))
}

impl ChainStore {
    /// The chain store over `kv`.
    pub fn new(kv: Arc<dyn KvStore>) -> Self {
        Self { kv }
    }

    /// The header with this hash.
    pub fn header(&self, hash: B256) -> Result<Option<Header>, StorageError> {
        self.kv
            .get(Table::Headers, hash.as_slice())?
            .map(|bytes| Header::decode(&mut bytes.as_slice()).map_err(|e| corrupt("header", e)))
            .transpose()
    }

    /// The canonical block hash at `number`.
    pub fn canonical_hash(&self, number: u64) -> Result<Option<B256>, StorageError> {
        Ok(self
            .kv
            .get(Table::CanonicalHashes, &number.to_be_bytes())?
            .map(|bytes| B256::from_slice(&bytes)))
    }

    /// Hash of the head block, if the chain was initialised.
    pub fn head_hash(&self) -> Result<Option<B256>, StorageError> {
        Ok(self.kv.get(Table::Meta, HEAD_KEY)?.map(|bytes| B256::from_slice(&bytes)))
    }

    /// The head block's hash and header.
    pub fn head(&self) -> Result<Option<(B256, Header)>, StorageError> {
        let Some(hash) = self.head_hash()? else { return Ok(None) };
        let header = self.header(hash)?.ok_or_else(|| corrupt("head", "header missing"))?;
        Ok(Some((hash, header)))
    }

    /// The transactions of a block.
    pub fn transactions(&self, hash: B256) -> Result<Option<Vec<Transaction>>, StorageError> {
        self.kv
            .get(Table::Bodies, hash.as_slice())?
            .map(|bytes| {
                Vec::<Transaction>::decode(&mut bytes.as_slice()).map_err(|e| corrupt("body", e))
            })
            .transpose()
    }

    /// The whole block.
    pub fn block(&self, hash: B256) -> Result<Option<Block>, StorageError> {
        let Some(header) = self.header(hash)? else { return Ok(None) };
        let transactions = self.transactions(hash)?.unwrap_or_default();
        Ok(Some(Block {
            header,
            body: veil_primitives::BlockBody { transactions, ommers: vec![], withdrawals: None },
        }))
    }

    /// The recovered senders of a block's transactions, in order.
    pub fn senders(&self, hash: B256) -> Result<Option<Vec<Address>>, StorageError> {
        Ok(self
            .kv
            .get(Table::Senders, hash.as_slice())?
            .map(|bytes| bytes.chunks_exact(20).map(Address::from_slice).collect()))
    }

    /// The receipts of a block.
    pub fn receipts(&self, hash: B256) -> Result<Option<Vec<Receipt>>, StorageError> {
        let Some(bytes) = self.kv.get(Table::Receipts, hash.as_slice())? else { return Ok(None) };
        let encoded =
            Vec::<Bytes>::decode(&mut bytes.as_slice()).map_err(|e| corrupt("receipts", e))?;
        encoded
            .iter()
            .map(|r| Receipt::decode_2718(&mut r.as_ref()).map_err(|e| corrupt("receipt", e)))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Where a transaction was included.
    pub fn tx_location(&self, tx_hash: B256) -> Result<Option<TxLocation>, StorageError> {
        let Some(bytes) = self.kv.get(Table::TxIndex, tx_hash.as_slice())? else { return Ok(None) };
        if bytes.len() != 36 {
            return Err(corrupt("tx index", format!("{} bytes", bytes.len())));
        }
        let mut index = [0u8; 4];
        index.copy_from_slice(&bytes[32..]);
        Ok(Some(TxLocation {
            block_hash: B256::from_slice(&bytes[..32]),
            index: u32::from_be_bytes(index),
        }))
    }

    /// A named value from the meta table.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.kv.get(Table::Meta, key.as_bytes())
    }

    /// Queues a named value for the meta table.
    pub fn put_meta(batch: &mut WriteBatch, key: &str, value: impl Into<Vec<u8>>) {
        batch.put(Table::Meta, key.as_bytes(), value);
    }

    /// Queues a block as the new canonical head: header, body, senders, receipts, canonical
    /// number and transaction index.
    pub fn put_head_block(
        batch: &mut WriteBatch,
        hash: B256,
        block: &Block,
        senders: &[Address],
        receipts: &[Receipt],
    ) {
        let key = hash.as_slice();
        batch.put(Table::Headers, key, alloy_rlp::encode(&block.header));
        batch.put(Table::Bodies, key, alloy_rlp::encode(&block.body.transactions));
        batch.put(Table::Senders, key, senders.iter().flat_map(|a| a.0 .0).collect::<Vec<u8>>());
        let encoded: Vec<Bytes> = receipts
            .iter()
            .map(|r| {
                let mut out = Vec::new();
                alloy_eips::eip2718::Encodable2718::encode_2718(r, &mut out);
                Bytes::from(out)
            })
            .collect();
        let mut receipts_rlp = Vec::new();
        encoded.encode(&mut receipts_rlp);
        batch.put(Table::Receipts, key, receipts_rlp);
        batch.put(Table::CanonicalHashes, block.header.number.to_be_bytes(), key);
        for (index, tx) in block.body.transactions.iter().enumerate() {
            let mut location = key.to_vec();
            location.extend_from_slice(&(index as u32).to_be_bytes());
            batch.put(Table::TxIndex, tx.hash().as_slice(), location);
        }
        batch.put(Table::Meta, HEAD_KEY, key);
    }

    /// Queues this node's private state root after block `hash`.
    pub fn put_private_root(batch: &mut WriteBatch, hash: B256, root: B256) {
        batch.put(Table::PrivateRoots, hash.as_slice(), root.as_slice());
    }

    /// This node's private state root after block `hash` (`None` for blocks before the node
    /// had a transaction manager).
    pub fn private_root(&self, hash: B256) -> Result<Option<B256>, StorageError> {
        self.kv.get(Table::PrivateRoots, hash.as_slice())?.map_or(Ok(None), |bytes| {
            B256::try_from(bytes.as_slice())
                .map(Some)
                .map_err(|_| StorageError::Corrupt(format!("private root of {hash}")))
        })
    }

    /// Queues a party's private receipt: the contract address a creation made (if any) and the
    /// EIP-2718 receipt.
    pub fn put_private_receipt(
        batch: &mut WriteBatch,
        tx_hash: B256,
        receipt: &Receipt,
        contract_address: Option<Address>,
    ) {
        let mut value = match contract_address {
            Some(address) => [&[1u8][..], address.as_slice()].concat(),
            None => vec![0u8],
        };
        alloy_eips::eip2718::Encodable2718::encode_2718(receipt, &mut value);
        batch.put(Table::PrivateReceipts, tx_hash.as_slice(), value);
    }

    /// A party's private receipt of a private transaction, with the contract it created.
    pub fn private_receipt(
        &self,
        tx_hash: B256,
    ) -> Result<Option<(Receipt, Option<Address>)>, StorageError> {
        let Some(value) = self.kv.get(Table::PrivateReceipts, tx_hash.as_slice())? else {
            return Ok(None);
        };
        let corrupt = || StorageError::Corrupt(format!("private receipt of {tx_hash}"));
        let (address, mut rest) = match value.split_first() {
            Some((0, rest)) => (None, rest),
            Some((1, rest)) if rest.len() >= 20 => {
                (Some(Address::from_slice(&rest[..20])), &rest[20..])
            }
            _ => return Err(corrupt()),
        };
        let receipt = Receipt::decode_2718(&mut rest).map_err(|_| corrupt())?;
        Ok(Some((receipt, address)))
    }
}
