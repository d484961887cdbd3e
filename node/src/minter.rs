//! The minter: takes pending transactions, builds a block on the head and commits it (the
//! block's execution while building is the one committed). What decides *when* to mint is separate
//! ([`crate::mint_trigger`]); in a Raft network the leader will call [`Minter::mint`] instead.

use crate::{
    chain::ImportError,
    ptm::{payloads_blocking, Ptm, PtmError},
    Chain, ImportedBlock, TxPool,
};
use alloy_primitives::Address;
use std::sync::Arc;

/// Most transactions considered for one block.
const MAX_CANDIDATES_PER_BLOCK: usize = 20_000;

/// Why a block was not minted.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    /// Building or committing failed.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// The private payloads could not be fetched.
    #[error("private payloads unavailable: {0}")]
    Ptm(#[from] PtmError),
    /// The pool's journal could not be written.
    #[error(transparent)]
    Storage(#[from] veil_storage::StorageError),
}

/// Builds and imports blocks from the pool.
#[derive(Debug, Clone)]
pub struct Minter {
    chain: Arc<Chain>,
    pool: Arc<TxPool>,
    beneficiary: Address,
    ptm: Option<Arc<Ptm>>,
}

impl Minter {
    /// A minter for `chain` fed by `pool`, crediting `beneficiary`.
    pub fn new(chain: Arc<Chain>, pool: Arc<TxPool>, beneficiary: Address) -> Self {
        Self { chain, pool, beneficiary, ptm: None }
    }

    /// Fetches private payloads from `ptm` before building.
    pub fn with_ptm(mut self, ptm: Option<Arc<Ptm>>) -> Self {
        self.ptm = ptm;
        self
    }

    /// Mints one block from the pending transactions; `None` when there is nothing to include
    /// (no empty blocks). Runs on a blocking thread of the runtime.
    pub fn mint(&self) -> Result<Option<ImportedBlock>, MintError> {
        let candidates = self.pool.pending(MAX_CANDIDATES_PER_BLOCK);
        if candidates.is_empty() {
            return Ok(None);
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let payloads = payloads_blocking(self.ptm.as_deref(), candidates.iter().map(|tx| tx.tx()))?;
        let mut built = self.chain.build_block(candidates, self.beneficiary, now, &payloads)?;
        let dropped = std::mem::take(&mut built.rejected);
        if built.included.is_empty() {
            self.pool.remove_after_block(&[], &dropped, &self.chain.latest_state())?;
            return Ok(None);
        }
        let imported = self.chain.commit_built(built)?;
        self.pool.remove_after_block(
            &imported.transactions,
            &dropped,
            &self.chain.latest_state(),
        )?;
        tracing::info!(
            target: "miner",
            number = imported.header.number,
            hash = %imported.hash,
            txs = imported.transactions.len(),
            gas = imported.header.gas_used,
            "minted block"
        );
        Ok(Some(imported))
    }
}
