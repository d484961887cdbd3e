//! The chain engine as a node runs it: the chain over a store, the journaled pool it keeps up
//! to date, the one block builder, and the handle a consensus engine drives — assembled the
//! same way by `veil` and by the in-process test harness.

use crate::{pool::Journal, ptm::Ptm, BlockBuilder, Chain, ChainHandle, PoolConfig, TxPool};
use alloy_primitives::Address;
use std::{future::Future, pin::Pin, sync::Arc};
use veil_storage::KvStore;

/// The parts of a running chain engine.
pub struct ChainEngine {
    /// The chain (reads, and what the RPC layer serves).
    pub chain: Arc<Chain>,
    /// The pool.
    pub pool: Arc<TxPool>,
    /// The handle consensus engines drive.
    pub handle: ChainHandle,
    /// The executor: run it on a supervised task; it ends when every handle is dropped.
    pub executor: Pin<Box<dyn Future<Output = Result<(), String>> + Send>>,
    /// With a TM: the task that fetches each private transaction's payload when it enters
    /// the pool (run it supervised; it ends at shutdown).
    pub prefetch: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

/// Opens the chain in `kv` (initialised already) and assembles the engine around it; with a
/// transaction manager, blocks run private transactions and payloads are dropped from the
/// cache once their blocks are committed, and private payloads are fetched when their
/// transactions enter the pool, not at import. The pool is restored from its journal.
pub fn assemble(
    kv: Arc<dyn KvStore>,
    ptm: Option<Arc<Ptm>>,
    beneficiary: Address,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> eyre::Result<ChainEngine> {
    let mut chain = Chain::open(kv.clone())?;
    if ptm.is_some() {
        chain = chain.with_private_transactions();
    }
    let chain = Arc::new(chain);
    let pool = Arc::new(TxPool::new(
        PoolConfig { private_transactions: ptm.is_some(), ..PoolConfig::default() },
        chain.spec().clone(),
        Some(Journal::new(kv)),
    ));
    // Every block the chain commits, built here or imported, keeps the pool up to date and
    // drops the payloads prefetched for it.
    chain.maintain_pool(pool.clone());
    if let Some(ptm) = &ptm {
        chain.forget_payloads_in(ptm.clone());
    }
    let (_, head) = chain.head();
    let restored = pool.restore(&chain.latest_state(), &head)?;
    tracing::info!(target: "txpool", restored, "transaction pool loaded from journal");
    let prefetch = ptm.clone().map(|ptm| {
        let prefetch = crate::ptm::prefetch_pooled(ptm, pool.clone(), shutdown);
        Box::pin(prefetch) as Pin<Box<dyn Future<Output = ()> + Send>>
    });
    let builder = BlockBuilder::new(chain.clone(), pool.clone(), beneficiary).with_ptm(ptm);
    let (handle, executor) = ChainHandle::new(builder);
    Ok(ChainEngine { chain, pool, handle, executor: Box::pin(executor), prefetch })
}
