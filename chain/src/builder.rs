//! The one block builder. The dev minter ([`crate::Minter`], the `instant` engine) and a Raft
//! leader both build here, with the same limits: pending transactions from the pool (at most
//! [`MAX_BLOCK_TXS`] considered), their private payloads from the cache (never waiting on the
//! TM), a block built on the head (gas and, from Osaka, EIP-7934's size decide what fits), and
//! the pool told which were invalid.
//! Committing is the caller's: the minter commits at once, a leader after consensus.

use crate::{
    chain::ImportError,
    ptm::{Ptm, PtmError},
    BuiltBlock, Chain, HeaderTemplate, ImportedBlock, PrivatePayloads, TxPool,
};
use alloy_primitives::{Address, B256};
use std::{collections::HashSet, sync::Arc};
use veil_primitives::{RecoveredTx, Transaction};

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
    /// A background fetch of the payloads of pending private transactions failed.
    #[error("private payloads unavailable: {0}")]
    PayloadsUnavailable(String),
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
    /// The background fetch of pending private transactions' missing payloads (shared by the
    /// clones a minter hands its blocking threads).
    fetch: Arc<parking_lot::Mutex<Option<PayloadFetch>>>,
}

/// A background fetch of payloads into the TM's cache; its error is why it failed.
type PayloadFetch = tokio::task::JoinHandle<Result<(), String>>;

impl BlockBuilder {
    /// A builder for `chain` fed by `pool`, crediting `beneficiary`. The chain keeps the pool
    /// up to date from then on ([`Chain::maintain_pool`]).
    pub fn new(chain: Arc<Chain>, pool: Arc<TxPool>, beneficiary: Address) -> Self {
        if !chain.maintain_pool(pool.clone()) {
            tracing::warn!(target: "miner", "the chain keeps another pool up to date than this builder's");
        }
        Self { chain, pool, beneficiary, ptm: None, fetch: Arc::default() }
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

    /// The pool built from.
    pub fn pool(&self) -> &Arc<TxPool> {
        &self.pool
    }

    /// The transaction manager payloads come from, if this node runs private transactions.
    pub fn ptm(&self) -> Option<&Arc<Ptm>> {
        self.ptm.as_ref()
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
        let (candidates, payloads) = self.with_payloads(candidates)?;
        if candidates.is_empty() {
            return Ok(None);
        }
        let mut built = self.chain.build_block(candidates, self.beneficiary, now, &payloads)?;
        let rejected = std::mem::take(&mut built.rejected);
        if !rejected.is_empty() {
            self.pool.remove_after_block(&[], &rejected, &self.chain.latest_state())?;
        }
        Ok((!built.included.is_empty()).then_some(built))
    }

    /// Builds a block with the header fields a consensus engine chose, empty when nothing is
    /// pending (QBFT proposes a block every period). Runs execution here.
    pub fn build_with(&self, template: &HeaderTemplate) -> Result<BuiltBlock, MintError> {
        let candidates = self.pool.pending(MAX_BLOCK_TXS);
        let (candidates, payloads) = self.with_payloads(candidates)?;
        let mut built = self.chain.build_block_with(candidates, template, &payloads)?;
        let rejected = std::mem::take(&mut built.rejected);
        if !rejected.is_empty() {
            self.pool.remove_after_block(&[], &rejected, &self.chain.latest_state())?;
        }
        Ok(built)
    }

    /// The candidates whose private payloads are at hand, with those payloads. The payloads
    /// come from the TM's cache; missing ones are fetched in the background, and their
    /// transactions — with their senders' later ones — wait for a later block. A background
    /// fetch that failed is this call's error: the TM is out.
    fn with_payloads(
        &self,
        mut candidates: Vec<RecoveredTx>,
    ) -> Result<(Vec<RecoveredTx>, PrivatePayloads), MintError> {
        let Some(ptm) = &self.ptm else { return Ok((candidates, PrivatePayloads::new())) };
        let (payloads, missing) = ptm.cached_payloads(candidates.iter().map(|tx| tx.tx()));
        let mut fetch = self.fetch.lock();
        if fetch.as_ref().is_some_and(|task| task.is_finished()) {
            let finished = fetch.take().and_then(futures::FutureExt::now_or_never);
            if let Some(Ok(Err(e))) = finished {
                return Err(MintError::PayloadsUnavailable(e));
            }
        }
        if missing.is_empty() {
            return Ok((candidates, payloads));
        }
        let waiting: HashSet<B256> = missing.iter().map(Transaction::hash).collect();
        if fetch.is_none() {
            let ptm = ptm.clone();
            *fetch = Some(tokio::runtime::Handle::current().spawn(async move {
                ptm.fetch_into_cache(&missing).await.map_err(|e| e.to_string())
            }));
        }
        let mut held: HashSet<Address> = HashSet::new();
        candidates.retain(|tx| {
            if held.contains(&tx.sender()) || waiting.contains(&tx.hash()) {
                held.insert(tx.sender());
                return false;
            }
            true
        });
        Ok((candidates, payloads))
    }

    /// Commits a block this builder built (possibly sealed since); the chain takes its
    /// transactions out of the pool.
    pub fn commit(&self, built: BuiltBlock) -> Result<ImportedBlock, MintError> {
        Ok(self.chain.commit_built(built)?)
    }
}
