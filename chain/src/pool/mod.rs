//! The transaction pool: per-sender nonce order, pending (executable now) and queued (nonce
//! gap) transactions, replacement, limits and eviction, with geth's rejection reasons. Every
//! accepted transaction is journaled so it survives a crash.
//!
//! Transactions submitted to this node (*local* ones: their hash was acknowledged to a client)
//! are never evicted to make room, are handed out again for re-announcement while they stay
//! pending ([`TxPool::unannounced_local`]), and a local one that leaves the pool unmined is
//! logged as a warning with its hash and why.

mod delegation;
mod error;
mod journal;
mod sender;

pub use error::PoolError;
pub use journal::{Journal, JournalEntry};
use sender::{Origin, PooledTx, SenderTxs};

use alloy_consensus::Header;
use alloy_primitives::{Address, B256, U256};
use alloy_trie::KECCAK_EMPTY;
use delegation::{authorities, is_delegated};
use parking_lot::Mutex;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::time::{Duration, Instant};
use veil_config::{ChainSpec, Hardfork};
use veil_primitives::RecoveredTx;
use veil_storage::{StateReader, StorageError};

/// Pool limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    /// Most transactions held in all. geth holds 4096 pending + 1024 queued; Veil mints a
    /// block of up to 20,000 transactions at a time and its transactions stay pooled until the
    /// block is imported, so the pool holds two such blocks' worth plus arrivals.
    pub max_transactions: usize,
    /// Most queued (not yet executable) transactions per sender (geth: 64).
    pub max_queued_per_sender: usize,
    /// Fee increase a replacement needs, in percent (geth: 10).
    pub price_bump_percent: u128,
    /// Whether private transactions (V = 37/38) are taken from this node's own clients (the
    /// node has a transaction manager). From peers they are always taken: a node without a TM
    /// (a quickstart validator, GoQuorum's `PRIVATE_CONFIG=ignore`) still orders and executes
    /// them, as a non-party.
    pub private_transactions: bool,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_transactions: 50_000,
            max_queued_per_sender: 64,
            price_bump_percent: 10,
            private_transactions: false,
        }
    }
}

/// Most locally submitted transactions waiting for a [`TxPool::subscribe_local`] subscriber.
pub const LOCAL_FEED: usize = 16_384;

#[derive(Debug, Default)]
struct PoolState {
    senders: HashMap<Address, SenderTxs>,
    by_hash: HashMap<B256, (Address, u64)>,
    next_seq: u64,
    /// Hashes of pooled EIP-7702 set-code transactions (some may have left the pool since).
    set_code: HashSet<B256>,
}

/// Counts of what the pool holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PoolStatus {
    /// Executable now.
    pub pending: usize,
    /// Waiting for a nonce gap to close.
    pub queued: usize,
}

/// The transaction pool.
pub struct TxPool {
    config: PoolConfig,
    spec: std::sync::Arc<ChainSpec>,
    state: Mutex<PoolState>,
    journal: Option<Journal>,
    added: tokio::sync::Notify,
    announced: tokio::sync::broadcast::Sender<B256>,
    /// Receivers of transactions submitted to this node (not those heard from peers), for
    /// gossip ([`TxPool::subscribe_local`]).
    local: Mutex<Vec<tokio::sync::mpsc::Sender<RecoveredTx>>>,
}

/// Everything the pool holds, by sender and nonce (`txpool_content`).
#[derive(Debug, Default)]
pub struct PoolContent {
    /// Executable now.
    pub pending: BTreeMap<Address, BTreeMap<u64, RecoveredTx>>,
    /// Waiting for a nonce gap to close.
    pub queued: BTreeMap<Address, BTreeMap<u64, RecoveredTx>>,
}

impl std::fmt::Debug for TxPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxPool").field("status", &self.status()).finish_non_exhaustive()
    }
}

impl TxPool {
    /// An empty pool for `spec`, journaling into `journal` when given.
    pub fn new(
        config: PoolConfig,
        spec: std::sync::Arc<ChainSpec>,
        journal: Option<Journal>,
    ) -> Self {
        Self {
            config,
            spec,
            state: Mutex::new(PoolState::default()),
            journal,
            added: Default::default(),
            announced: tokio::sync::broadcast::channel(4096).0,
            local: Mutex::new(Vec::new()),
        }
    }

    /// Every transaction accepted by [`TxPool::add`] (submitted to this node) from now on, in
    /// order of acceptance, up to [`LOCAL_FEED`] waiting: past that a subscriber misses some.
    /// Gossip is what subscribes, and a transaction it misses stays pooled and is announced to
    /// the leader again later (`announce_to_leader`), so none is lost.
    pub fn subscribe_local(&self) -> tokio::sync::mpsc::Receiver<RecoveredTx> {
        let (tx, rx) = tokio::sync::mpsc::channel(LOCAL_FEED);
        self.local.lock().push(tx);
        rx
    }

    /// Hashes of transactions as they are accepted (`newPendingTransactions`). A receiver that
    /// falls more than 4096 behind loses the oldest.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<B256> {
        self.announced.subscribe()
    }

    /// Resolves when a transaction was added since the last call.
    pub async fn wait_for_transactions(&self) {
        self.added.notified().await
    }

    fn check_stateless(
        &self,
        tx: &RecoveredTx,
        head: &Header,
        origin: Origin,
    ) -> Result<(), PoolError> {
        let t = tx.tx();
        let size = t.encode_2718_len();
        let limit = self.spec.txn_size_limit();
        if size > limit {
            return Err(PoolError::Oversized { size, limit });
        }
        if t.is_private() && !self.config.private_transactions && origin == Origin::Local {
            return Err(PoolError::PrivateUnsupported);
        }
        let fork = self.spec.hardfork_at(head.number + 1, head.timestamp);
        match t.tx_type() {
            0..=2 => {}
            3 => return Err(PoolError::BlobsNotSupported),
            4 if fork < Hardfork::Prague => {
                return Err(PoolError::TxTypeNotActive { tx_type: 4, fork: "Prague" })
            }
            4 if t.fields().authorization_list().is_none_or(<[_]>::is_empty) => {
                return Err(PoolError::EmptyAuthorizations)
            }
            4 => {}
            other => return Err(PoolError::TxTypeNotSupported(other)),
        }
        if let Some(have) = t.chain_id() {
            if have != self.spec.chain_id() {
                return Err(PoolError::InvalidChainId { have, want: self.spec.chain_id() });
            }
        }
        let cap = veil_evm::TX_GAS_LIMIT_CAP;
        if fork >= Hardfork::Osaka && t.gas_limit() > cap {
            return Err(PoolError::GasLimitAboveCap { gas: t.gas_limit(), cap });
        }
        if t.gas_limit() > head.gas_limit {
            return Err(PoolError::ExceedsBlockGasLimit {
                gas: t.gas_limit(),
                limit: head.gas_limit,
            });
        }
        if self.spec.is_gas_free() && t.max_fee_per_gas() != 0 {
            return Err(PoolError::GasPriceNotZero);
        }
        let want = veil_evm::intrinsic_gas(&self.spec, tx, head.number + 1, head.timestamp);
        if t.gas_limit() < want {
            return Err(PoolError::IntrinsicGas { have: t.gas_limit(), want });
        }
        Ok(())
    }

    /// Validates a transaction submitted to this node against the head and the latest state
    /// and adds it; returns its hash. Local subscribers ([`TxPool::subscribe_local`]) get it.
    pub fn add(
        &self,
        tx: RecoveredTx,
        state: &impl StateReader,
        head: &Header,
    ) -> Result<B256, PoolError> {
        let hash = self.admit(tx.clone(), state, head, Origin::Local)?;
        self.local.lock().retain(|subscriber| match subscriber.try_send(tx.clone()) {
            Ok(()) | Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => true,
            Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => false,
        });
        Ok(hash)
    }

    /// [`TxPool::add`] for a transaction heard from a peer: not handed to local subscribers.
    pub fn add_remote(
        &self,
        tx: RecoveredTx,
        state: &impl StateReader,
        head: &Header,
    ) -> Result<B256, PoolError> {
        self.admit(tx, state, head, Origin::Remote)
    }

    fn admit(
        &self,
        tx: RecoveredTx,
        state: &impl StateReader,
        head: &Header,
        origin: Origin,
    ) -> Result<B256, PoolError> {
        self.check_stateless(&tx, head, origin)?;
        let hash = tx.hash();
        let sender = tx.sender();
        let nonce = tx.tx().nonce();
        let account = state.account(sender)?;
        let (state_nonce, balance) = account.map_or((0, U256::ZERO), |a| (a.nonce, a.balance));
        if nonce < state_nonce {
            return Err(PoolError::NonceTooLow { sender, nonce, next: state_nonce });
        }
        let t = tx.tx();
        let cost = U256::from(t.gas_limit()) * U256::from(t.max_fee_per_gas()) + t.value();
        if balance < cost {
            return Err(PoolError::InsufficientFunds { sender, balance, cost });
        }

        let delegated = account.is_some_and(|a| a.code_hash != KECCAK_EMPTY)
            && is_delegated(state, account.map(|a| a.code_hash))?;
        let authorities = authorities(&tx);

        let mut pool = self.state.lock();
        if pool.by_hash.contains_key(&hash) {
            return Err(PoolError::AlreadyKnown);
        }
        // The nonce again, under the lock: a block that committed since the read above, and
        // whose clean-up ran, used nonces; the sender's recorded nonce set back to the older
        // value would make its executable transactions look queued behind a gap, and a minter
        // builds only from pending ones. Blocks clean up under this lock after committing, so
        // this read is never older than what the pool recorded.
        let state_nonce = state.account(sender)?.map_or(0, |a| a.nonce);
        if nonce < state_nonce {
            return Err(PoolError::NonceTooLow { sender, nonce, next: state_nonce });
        }
        // EIP-7702, geth's pool rules: an account whose code is a delegation, or that a pooled
        // set-code transaction delegates, may have one transaction pooled (its code can move
        // its balance and nonce at any time); an account with transactions pooled cannot be
        // delegated by another sender's set-code transaction.
        let pooled_nonces =
            |pool: &PoolState, who: &Address| pool.senders.get(who).map_or(0, |s| s.by_nonce.len());
        let replaces_own =
            pool.senders.get(&sender).is_some_and(|s| s.by_nonce.contains_key(&nonce));
        if (delegated || pool.being_delegated(&sender))
            && pooled_nonces(&pool, &sender) > 0
            && !replaces_own
        {
            return Err(PoolError::DelegatedInflightLimit(sender));
        }
        if let Some(reserved) =
            authorities.iter().find(|a| **a != sender && pooled_nonces(&pool, a) > 0)
        {
            return Err(PoolError::AuthorityReserved(*reserved));
        }
        let seq = pool.next_seq;
        let total = pool.by_hash.len();
        let entry = pool.senders.entry(sender).or_default();
        entry.set_state_nonce(state_nonce);
        let replaced = match entry.by_nonce.get(&nonce) {
            Some(old) if self.spec.is_gas_free() => {
                return Err(PoolError::NonceTaken { sender, nonce, pooled: old.tx.hash() });
            }
            Some(old) => {
                if !self.is_acceptable_replacement(&old.tx, &tx) {
                    return Err(PoolError::ReplacementUnderpriced(self.config.price_bump_percent));
                }
                if old.local {
                    tracing::info!(target: "txpool", replaced = %old.tx.hash(), by = %hash, "local transaction replaced by one paying more");
                }
                Some(old.tx.hash())
            }
            None => None,
        };
        if replaced.is_none() {
            // Counts the queued ones only for a transaction that would join them.
            let is_queued = nonce > entry.pending_end;
            if is_queued && entry.queued_len() >= self.config.max_queued_per_sender {
                return Err(PoolError::Full);
            }
            if total >= self.config.max_transactions && !Self::evict_one_queued(&mut pool) {
                return Err(PoolError::Full);
            }
        }
        // Journaled first: a transaction whose journal write fails is refused and not pooled
        // (held in memory it would be mined while its sender was told it failed).
        if let Some(journal) = &self.journal {
            journal.record(seq, &tx, replaced)?;
        }
        let entry = pool.senders.entry(sender).or_default();
        let local = origin != Origin::Remote;
        let announced = (origin == Origin::Local).then(Instant::now);
        entry.insert(nonce, PooledTx { tx: tx.clone(), seq, local, announced });
        pool.next_seq += 1;
        if let Some(old) = replaced {
            pool.by_hash.remove(&old);
        }
        pool.by_hash.insert(hash, (sender, nonce));
        if !authorities.is_empty() {
            pool.set_code.insert(hash);
        }
        drop(pool);
        self.added.notify_one();
        // No receiver is not an error: nobody is subscribed.
        let _ = self.announced.send(hash);
        Ok(hash)
    }

    /// Re-adds journaled transactions after a restart; those no longer valid are dropped from
    /// the journal. Returns how many came back.
    pub fn restore(&self, state: &impl StateReader, head: &Header) -> Result<usize, StorageError> {
        let Some(journal) = &self.journal else { return Ok(0) };
        let mut restored = 0;
        for (hash, tx) in journal.load()? {
            let admitted = match tx {
                Ok(tx) => self.admit(tx, state, head, Origin::Restored),
                Err(reason) => {
                    tracing::warn!(target: "txpool", %hash, %reason, "acknowledged transaction dropped: its journal entry no longer decodes");
                    journal.forget(&[hash])?;
                    continue;
                }
            };
            match admitted {
                Ok(_) => restored += 1,
                // Its nonce was used while the node was down, or by a block committed between
                // its admission and its journal write (a block's write batch forgets only
                // entries already written): almost always by this very transaction.
                Err(reason @ PoolError::NonceTooLow { .. }) => {
                    tracing::debug!(target: "txpool", %hash, %reason, "journaled transaction's nonce is used");
                    journal.forget(&[hash])?;
                }
                Err(reason) => {
                    tracing::warn!(target: "txpool", %hash, %reason, "acknowledged transaction dropped: no longer valid after restart");
                    journal.forget(&[hash])?;
                }
            }
        }
        Ok(restored)
    }

    fn is_acceptable_replacement(&self, old: &RecoveredTx, new: &RecoveredTx) -> bool {
        let bump = |fee: u128| fee.saturating_mul(100 + self.config.price_bump_percent) / 100;
        let (old, new) = (old.tx().fields(), new.tx().fields());
        let old_tip = old.max_priority_fee_per_gas().unwrap_or(old.max_fee_per_gas());
        let new_tip = new.max_priority_fee_per_gas().unwrap_or(new.max_fee_per_gas());
        new.max_fee_per_gas() >= bump(old.max_fee_per_gas()).max(old.max_fee_per_gas() + 1)
            && new_tip >= bump(old_tip)
    }

    /// Drops the queued transaction furthest in the future of the sender with most queued,
    /// among those heard from peers: a local transaction was acknowledged to a client and is
    /// never evicted (geth exempts locals too).
    fn evict_one_queued(pool: &mut PoolState) -> bool {
        let victim = pool
            .senders
            .iter()
            .filter(|(_, s)| s.queued_len() > 0)
            .filter_map(|(sender, s)| {
                let (nonce, last) = s.by_nonce.last_key_value()?;
                (!last.local).then_some((s.queued_len(), *sender, *nonce))
            })
            .max_by_key(|(queued, _, _)| *queued)
            .map(|(_, sender, nonce)| (sender, nonce));
        let Some((sender, nonce)) = victim else { return false };
        if let Some(removed) = pool.senders.get_mut(&sender).and_then(|s| s.remove(nonce)) {
            pool.by_hash.remove(&removed.tx.hash());
            tracing::debug!(target: "txpool", hash = %removed.tx.hash(), "evicted queued transaction");
        }
        true
    }

    /// Up to `limit` executable transactions, each sender's in nonce order, senders
    /// interleaved by arrival.
    pub fn pending(&self, limit: usize) -> Vec<RecoveredTx> {
        let pool = self.state.lock();
        let mut runs: Vec<Vec<&PooledTx>> = pool
            .senders
            .values()
            .map(|s| {
                s.live().map(|(_, tx)| tx).take(s.pending_len().min(limit)).collect::<Vec<_>>()
            })
            .filter(|run| !run.is_empty())
            .collect();
        for run in &mut runs {
            run.reverse();
        }
        let mut heap: BinaryHeap<Reverse<(u64, usize)>> = runs
            .iter()
            .enumerate()
            .filter_map(|(i, run)| run.last().map(|tx| Reverse((tx.seq, i))))
            .collect();
        let mut out = Vec::new();
        while let Some(Reverse((_, i))) = heap.pop() {
            if out.len() >= limit {
                break;
            }
            if let Some(tx) = runs[i].pop() {
                out.push(tx.tx.clone());
            }
            if let Some(next) = runs[i].last() {
                heap.push(Reverse((next.seq, i)));
            }
        }
        out
    }

    /// Forgets transactions that a new block included or that can no longer be included, and
    /// moves the senders' state nonces on.
    pub fn remove_after_block(
        &self,
        included: &[RecoveredTx],
        dropped: &[(RecoveredTx, String)],
        state: &impl StateReader,
    ) -> Result<(), StorageError> {
        let mut pool = self.state.lock();
        let mut stale = Vec::new();
        for (tx, reason) in dropped {
            if let Some((sender, nonce)) = pool.by_hash.remove(&tx.hash()) {
                let removed = pool.senders.get_mut(&sender).and_then(|s| s.remove(nonce));
                if removed.is_some_and(|r| r.local) {
                    tracing::warn!(target: "txpool", hash = %tx.hash(), %sender, nonce, %reason, "acknowledged transaction dropped: a block could not include it");
                }
                stale.push(tx.hash());
            }
        }
        // The block's own write batch already removed its transactions from the journal.
        let mined: HashSet<B256> = included.iter().map(RecoveredTx::hash).collect();
        let senders: HashSet<Address> = included.iter().map(RecoveredTx::sender).collect();
        for sender in senders {
            let state_nonce = state.account(sender)?.map_or(0, |a| a.nonce);
            let Some(s) = pool.senders.get_mut(&sender) else { continue };
            let kept = s.by_nonce.split_off(&state_nonce);
            let gone = std::mem::replace(&mut s.by_nonce, kept);
            s.set_state_nonce(state_nonce);
            let empty = s.by_nonce.is_empty();
            for tx in gone.into_values() {
                let hash = tx.tx.hash();
                pool.by_hash.remove(&hash);
                if !mined.contains(&hash) {
                    if tx.local {
                        tracing::warn!(target: "txpool", %hash, %sender, nonce = tx.tx.tx().nonce(), "acknowledged transaction dropped: another transaction of its sender took its nonce");
                    }
                    stale.push(hash);
                }
            }
            if empty {
                pool.senders.remove(&sender);
            }
        }
        drop(pool);
        if let Some(journal) = &self.journal {
            journal.forget(&stale)?;
        }
        Ok(())
    }

    /// Pending and queued counts.
    pub fn status(&self) -> PoolStatus {
        let pool = self.state.lock();
        let pending: usize = pool.senders.values().map(SenderTxs::pending_len).sum();
        PoolStatus { pending, queued: pool.by_hash.len() - pending }
    }

    /// A pooled transaction by hash.
    pub fn get(&self, hash: &B256) -> Option<RecoveredTx> {
        let pool = self.state.lock();
        let (sender, nonce) = pool.by_hash.get(hash)?;
        Some(pool.senders.get(sender)?.by_nonce.get(nonce)?.tx.clone())
    }

    /// Every pooled transaction, split into pending and queued.
    pub fn content(&self) -> PoolContent {
        let pool = self.state.lock();
        let mut content = PoolContent::default();
        for (sender, txs) in &pool.senders {
            let pending = txs.pending_len();
            for (i, (nonce, pooled)) in txs.live().enumerate() {
                let side = if i < pending { &mut content.pending } else { &mut content.queued };
                side.entry(*sender).or_default().insert(*nonce, pooled.tx.clone());
            }
        }
        content
    }

    /// The senders of pooled transactions by hash (`None` for those not pooled), under one lock.
    pub fn senders_of(&self, hashes: &[B256]) -> Vec<Option<Address>> {
        let pool = self.state.lock();
        hashes.iter().map(|hash| pool.by_hash.get(hash).map(|(sender, _)| *sender)).collect()
    }

    /// Whether the pool holds a transaction.
    pub fn contains(&self, hash: &B256) -> bool {
        self.state.lock().by_hash.contains_key(hash)
    }

    /// The next nonce of `sender` counting its pending transactions (geth's "pending" nonce):
    /// never one that a pooled transaction above `state_nonce` holds, whether the pool has
    /// caught up with the state the caller read or not.
    pub fn pending_nonce(&self, sender: Address, state_nonce: u64) -> u64 {
        let pool = self.state.lock();
        pool.senders.get(&sender).map_or(state_nonce, |s| s.next_free_nonce(state_nonce))
    }

    /// [`TxPool::pending_nonce`] with the state nonce read from `state` under the pool's lock.
    /// A block's transactions leave the pool only after the block's state is committed, so
    /// this never answers a nonce below the state's or one a pooled transaction holds — a
    /// state nonce read before the lock could be a block old when the pool has already
    /// forgotten the sender.
    pub fn pending_nonce_in(
        &self,
        sender: Address,
        state: &impl StateReader,
    ) -> Result<u64, StorageError> {
        let pool = self.state.lock();
        let state_nonce = state.account(sender)?.map_or(0, |a| a.nonce);
        Ok(pool.senders.get(&sender).map_or(state_nonce, |s| s.next_free_nonce(state_nonce)))
    }

    /// Local transactions still pending that were not announced to peers within `every`
    /// (or ever, after a restart), at most `limit`, oldest first; each is marked announced
    /// now. A node hands them to whoever builds blocks: gossip may have missed that node
    /// (it was down, paused, or catching up), and an acknowledged transaction must reach it.
    pub fn unannounced_local(&self, every: Duration, limit: usize) -> Vec<RecoveredTx> {
        let now = Instant::now();
        let mut pool = self.state.lock();
        let mut due: Vec<(u64, Address, u64)> = pool
            .senders
            .iter()
            .flat_map(|(sender, s)| {
                s.live()
                    .take(s.pending_len())
                    .filter(|(_, t)| {
                        t.local && t.announced.is_none_or(|at| now.duration_since(at) >= every)
                    })
                    .map(move |(nonce, t)| (t.seq, *sender, *nonce))
            })
            .collect();
        due.sort_unstable();
        due.truncate(limit);
        let mut out = Vec::with_capacity(due.len());
        for (_, sender, nonce) in due {
            if let Some(t) = pool.senders.get_mut(&sender).and_then(|s| s.by_nonce.get_mut(&nonce))
            {
                t.announced = Some(now);
                out.push(t.tx.clone());
            }
        }
        out
    }
}
