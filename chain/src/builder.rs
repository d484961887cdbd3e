//! The one block builder. The dev minter ([`crate::Minter`], the `instant` engine) and a Raft
//! leader both build here, with the same limits: pending transactions from the pool (at most
//! [`MAX_BLOCK_TXS`] considered), their private payloads, a block built on the head (gas and,
//! from Osaka, EIP-7934's size decide what fits), and the pool told which were invalid.
//! Committing is the caller's: the minter commits at once, a leader after consensus.

use crate::{
    chain::ImportError,
    ptm::{payloads_blocking, Ptm, PtmError},
    BuiltBlock, Chain, ImportedBlock, TxPool,
};
use alloy_primitives::Address;
use std::sync::Arc;

/// Most pending transactions considered for one block.
pub const MAX_BLOCK_TXS: usize = 5_000;

/// Why a block was not built or committed.
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

/// Builds blocks on the head of a chain from its pool.
#[derive(Debug, Clone)]
pub struct BlockBuilder {
    chain: Arc<Chain>,
    pool: Arc<TxPool>,
    beneficiary: Address,
    ptm: Option<Arc<Ptm>>,
}

impl BlockBuilder {
    /// A builder for `chain` fed by `pool`, crediting `beneficiary`. The chain keeps the pool
    /// up to date from then on ([`Chain::maintain_pool`]).
    pub fn new(chain: Arc<Chain>, pool: Arc<TxPool>, beneficiary: Address) -> Self {
        if !chain.maintain_pool(pool.clone()) {
            tracing::warn!(target: "miner", "the chain keeps another pool up to date than this builder's");
        }
        Self { chain, pool, beneficiary, ptm: None }
    }

    /// Fetches private payloads from `ptm` before building.
    pub fn with_ptm(mut self, ptm: Option<Arc<Ptm>>) -> Self {
        self.ptm = ptm;
        self
    }

    /// The chain built on.
    pub fn chain(&self) -> &Arc<Chain> {
        &self.chain
    }

    /// Builds a block from the pending transactions; `None` when nothing can go in (no empty
    /// blocks). Transactions invalid on the head are dropped from the pool, as geth's pool
    /// drops unexecutable ones. Runs execution here: call it from a blocking thread.
    pub fn build(&self) -> Result<Option<BuiltBlock>, MintError> {
        let candidates = self.pool.pending(MAX_BLOCK_TXS);
        if candidates.is_empty() {
            return Ok(None);
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let payloads = payloads_blocking(self.ptm.as_deref(), candidates.iter().map(|tx| tx.tx()))?;
        let mut built = self.chain.build_block(candidates, self.beneficiary, now, &payloads)?;
        let rejected = std::mem::take(&mut built.rejected);
        if !rejected.is_empty() {
            self.pool.remove_after_block(&[], &rejected, &self.chain.latest_state())?;
        }
        Ok((!built.included.is_empty()).then_some(built))
    }

    /// Commits a block this builder built (possibly sealed since); the chain takes its
    /// transactions out of the pool.
    pub fn commit(&self, built: BuiltBlock) -> Result<ImportedBlock, MintError> {
        Ok(self.chain.commit_built(built)?)
    }
}
