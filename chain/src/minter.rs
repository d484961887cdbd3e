//! The minter of a single node (the `instant` engine): builds a block with the
//! [`BlockBuilder`] and commits it at once. What decides *when* to mint is the node's mint
//! trigger.

use crate::{builder::MintError, ptm::Ptm, BlockBuilder, Chain, ImportedBlock, TxPool};
use alloy_primitives::Address;
use std::sync::Arc;

/// Builds and commits blocks from the pool.
#[derive(Debug, Clone)]
pub struct Minter {
    builder: BlockBuilder,
}

impl Minter {
    /// A minter for `chain` fed by `pool`, crediting `beneficiary`.
    pub fn new(chain: Arc<Chain>, pool: Arc<TxPool>, beneficiary: Address) -> Self {
        Self { builder: BlockBuilder::new(chain, pool, beneficiary) }
    }

    /// Fetches private payloads from `ptm` before building.
    pub fn with_ptm(self, ptm: Option<Arc<Ptm>>) -> Self {
        Self { builder: self.builder.with_ptm(ptm) }
    }

    /// Mints one block from the pending transactions; `None` when there is nothing to include
    /// (no empty blocks). Runs on a blocking thread of the runtime.
    pub fn mint(&self) -> Result<Option<ImportedBlock>, MintError> {
        let Some(built) = self.builder.build()? else { return Ok(None) };
        let imported = self.builder.commit(built)?;
        log_minted(&imported);
        Ok(Some(imported))
    }
}

/// Says that a block was minted (the single-node engines' log line).
pub fn log_minted(imported: &ImportedBlock) {
    tracing::info!(
        target: "miner",
        number = imported.header.number,
        hash = %imported.hash,
        txs = imported.transactions.len(),
        gas = imported.header.gas_used,
        "minted block"
    );
}
