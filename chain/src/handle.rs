//! [`ChainHandle`]: how a consensus engine, sync and RPC drive the chain without executing
//! anything on their own tasks.
//!
//! Building, importing and committing run on the **executor**: one task that takes requests in
//! order from a bounded queue ([`REQUEST_QUEUE`]) and runs each on a blocking thread, so a
//! consensus loop sends a request, keeps ticking, and picks the answer up when it comes. One
//! request runs at a time: a build sees the head the previous commit left.
//!
//! Importing a block first takes its private payloads from the cache, fetching the missing ones
//! from the TM (on the caller's task, not the executor's). A TM that cannot give them halts
//! import: the block is not executed, the reason is kept in [`ChainHandle::halted`] (shown in
//! `eth_syncing` and `/health`) until a later import succeeds. Nothing is ever committed as if
//! this node were not a party.

use crate::{
    builder::MintError, ptm::Ptm, BlockBuilder, BuiltBlock, Chain, HeaderTemplate, ImportError,
    ImportedBlock, NewBlock, PrivatePayloads, TxPool,
};
use alloy_primitives::B256;
use std::{future::Future, sync::Arc};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use veil_primitives::{Block, Transaction};

/// Requests waiting for the executor. Each engine, sync and the minter await their request
/// before sending the next, so a handful wait at most; a full queue makes the sender wait.
pub const REQUEST_QUEUE: usize = 64;

/// Why a request to the chain failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// Building, importing or committing failed.
    #[error(transparent)]
    Mint(#[from] MintError),
    /// The block was refused.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// The TM could not give the block's private payloads: import is halted.
    #[error("block {number}: private payloads unavailable: {why}")]
    PayloadsUnavailable {
        /// The block's number.
        number: u64,
        /// The TM's error.
        why: String,
    },
    /// The executor is gone (the node is shutting down, or it failed).
    #[error("the chain's executor stopped")]
    Stopped,
}

enum Request {
    Build(oneshot::Sender<Result<Option<BuiltBlock>, MintError>>),
    BuildWith(Box<HeaderTemplate>, oneshot::Sender<Result<BuiltBlock, MintError>>),
    Check(Box<Block>, PrivatePayloads, oneshot::Sender<Result<BuiltBlock, ImportError>>),
    Commit(Box<BuiltBlock>, oneshot::Sender<Result<ImportedBlock, MintError>>),
    Import(Box<Block>, PrivatePayloads, oneshot::Sender<Result<ImportedBlock, ImportError>>),
}

/// The async face of a chain, its pool and its builder; cheap to clone.
#[derive(Clone, Debug)]
pub struct ChainHandle {
    chain: Arc<Chain>,
    pool: Arc<TxPool>,
    ptm: Option<Arc<Ptm>>,
    requests: mpsc::Sender<Request>,
    halted: Arc<watch::Sender<Option<String>>>,
}

impl ChainHandle {
    /// A handle over `builder`'s chain and pool, and the executor to run (supervised) for it;
    /// the executor returns when every handle is dropped.
    pub fn new(
        builder: BlockBuilder,
    ) -> (Self, impl Future<Output = Result<(), String>> + Send + 'static) {
        let (requests, queue) = mpsc::channel(REQUEST_QUEUE);
        let handle = Self {
            chain: builder.chain().clone(),
            pool: builder.pool().clone(),
            ptm: builder.ptm().cloned(),
            requests,
            halted: Arc::new(watch::channel(None).0),
        };
        (handle, execute(builder, queue))
    }

    /// The chain, for reads (state, blocks, receipts): reads never wait on the executor.
    pub fn chain(&self) -> &Arc<Chain> {
        &self.chain
    }

    /// The pool the chain keeps up to date.
    pub fn pool(&self) -> &Arc<TxPool> {
        &self.pool
    }

    /// Every block committed from now on.
    pub fn subscribe_blocks(&self) -> broadcast::Receiver<Arc<NewBlock>> {
        self.chain.subscribe()
    }

    /// The hash of every transaction the pool accepts from now on.
    pub fn subscribe_pending(&self) -> broadcast::Receiver<B256> {
        self.pool.subscribe()
    }

    /// Why block import is halted (the TM cannot give a block's payloads), while it is.
    pub fn halted(&self) -> watch::Receiver<Option<String>> {
        self.halted.subscribe()
    }

    /// Builds a block on the head from the pool ([`BlockBuilder::build`]); `None` when
    /// nothing can go in.
    pub async fn build(&self) -> Result<Option<BuiltBlock>, ChainError> {
        Ok(self.ask(Request::Build).await??)
    }

    /// Builds a block on the head with `template`'s header fields, empty when nothing is
    /// pending ([`BlockBuilder::build_with`]).
    pub async fn build_with(&self, template: HeaderTemplate) -> Result<BuiltBlock, ChainError> {
        Ok(self.ask(|reply| Request::BuildWith(Box::new(template), reply)).await??)
    }

    /// Checks a proposed block on the head as import would, without committing it
    /// ([`Chain::check_block`]); commit the answer with [`ChainHandle::commit`] once it is
    /// decided. Payloads the TM cannot give fail the check (the round moves on) but do not
    /// halt import.
    pub async fn check(&self, block: Block) -> Result<BuiltBlock, ChainError> {
        let number = block.header.number;
        let payloads = self
            .payloads(&block.body.transactions)
            .await
            .map_err(|why| ChainError::PayloadsUnavailable { number, why })?;
        Ok(self.ask(|reply| Request::Check(Box::new(block), payloads, reply)).await??)
    }

    /// Commits a block built by [`ChainHandle::build`] (perhaps sealed since).
    pub async fn commit(&self, built: BuiltBlock) -> Result<ImportedBlock, ChainError> {
        let built = Box::new(built);
        Ok(self.ask(|reply| Request::Commit(built, reply)).await??)
    }

    /// Imports a block from elsewhere on the head: its private payloads from the cache or the
    /// TM, the senders the pool recovered already, then execution on the executor. A TM that
    /// cannot answer halts import ([`ChainHandle::halted`]); a later import that succeeds
    /// resumes it.
    pub async fn import(&self, block: Block) -> Result<ImportedBlock, ChainError> {
        let number = block.header.number;
        let payloads = match self.payloads(&block.body.transactions).await {
            Ok(payloads) => payloads,
            Err(why) => {
                let error = ChainError::PayloadsUnavailable { number, why };
                self.halt(error.to_string());
                return Err(error);
            }
        };
        let imported =
            self.ask(|reply| Request::Import(Box::new(block), payloads, reply)).await??;
        if self.halted.send_replace(None).is_some() {
            metrics::gauge!(crate::metrics::HALTED).set(0.0);
            tracing::info!(target: "chain", number, "transaction manager answers again; block import resumed");
        }
        Ok(imported)
    }

    /// Says once that import halted, and keeps the latest reason.
    fn halt(&self, why: String) {
        if self.halted.borrow().is_none() {
            metrics::counter!(crate::metrics::HALTS).increment(1);
            metrics::gauge!(crate::metrics::HALTED).set(1.0);
            tracing::error!(target: "chain", %why, "block import halted until the transaction manager answers");
        }
        self.halted.send_replace(Some(why));
    }

    /// The private payloads of `transactions`: the cache's, then the missing ones from the TM.
    async fn payloads(&self, transactions: &[Transaction]) -> Result<PrivatePayloads, String> {
        let Some(ptm) = &self.ptm else { return Ok(PrivatePayloads::new()) };
        let (payloads, missing) = ptm.cached_payloads(transactions);
        if missing.is_empty() {
            return Ok(payloads);
        }
        ptm.fetch_into_cache(&missing).await.map_err(|e| e.to_string())?;
        let (payloads, still_missing) = ptm.cached_payloads(transactions);
        if still_missing.is_empty() {
            return Ok(payloads);
        }
        // The cache evicted some before they could be read (far more pending payloads than it
        // holds): fetch this block's directly.
        let private: Vec<&Transaction> = transactions.iter().filter(|tx| tx.is_private()).collect();
        ptm.payloads(&private).await.map_err(|e| e.to_string())
    }

    async fn ask<T>(
        &self,
        request: impl FnOnce(oneshot::Sender<T>) -> Request,
    ) -> Result<T, ChainError> {
        let (reply, answer) = oneshot::channel();
        self.requests.send(request(reply)).await.map_err(|_| ChainError::Stopped)?;
        answer.await.map_err(|_| ChainError::Stopped)
    }
}

/// The executor: one request at a time, each on a blocking thread. It returns when every
/// handle is gone, or with the panic of a request (a bug: the node stops rather than run on
/// half-alive).
async fn execute(builder: BlockBuilder, mut queue: mpsc::Receiver<Request>) -> Result<(), String> {
    let builder = Arc::new(builder);
    while let Some(request) = queue.recv().await {
        let builder = builder.clone();
        let runtime = tokio::runtime::Handle::current();
        let ran = tokio::task::spawn_blocking(move || {
            // The builder starts background payload fetches on the runtime.
            let _runtime = runtime.enter();
            run(&builder, request)
        })
        .await;
        ran.map_err(|e| format!("a chain request panicked: {e}"))?;
    }
    Ok(())
}

fn run(builder: &BlockBuilder, request: Request) {
    match request {
        Request::Build(reply) => {
            let _ = reply.send(builder.build());
        }
        Request::BuildWith(template, reply) => {
            let _ = reply.send(builder.build_with(&template));
        }
        Request::Check(block, payloads, reply) => {
            let hashes: Vec<B256> = block.body.transactions.iter().map(Transaction::hash).collect();
            let known = builder.pool().senders_of(&hashes);
            let _ = reply.send(builder.chain().check_block(*block, &known, &payloads));
        }
        Request::Commit(built, reply) => {
            let _ = reply.send(builder.commit(*built));
        }
        Request::Import(block, payloads, reply) => {
            let hashes: Vec<B256> = block.body.transactions.iter().map(Transaction::hash).collect();
            let known = builder.pool().senders_of(&hashes);
            let chain = builder.chain();
            let _ = reply.send(chain.import_with_known_senders(*block, &known, &payloads));
        }
    }
}
