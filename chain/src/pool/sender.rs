//! One sender's pooled transactions in nonce order, with the end of the run executable now
//! kept up to date so counting pending transactions never walks them.

use std::collections::BTreeMap;
use std::time::Instant;
use veil_primitives::RecoveredTx;

#[derive(Debug, Clone)]
pub(super) struct PooledTx {
    pub(super) tx: RecoveredTx,
    pub(super) seq: u64,
    /// Submitted to this node: a client holds its hash as an acknowledgement.
    pub(super) local: bool,
    /// When a local transaction was last announced to peers (`None`: not yet).
    pub(super) announced: Option<Instant>,
}

/// Where a transaction comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Origin {
    /// Submitted to this node now; gossiped at once.
    Local,
    /// Submitted to this node before a restart (the journal); not announced yet.
    Restored,
    /// Heard from a peer.
    Remote,
}

#[derive(Debug, Default)]
pub(super) struct SenderTxs {
    /// Nonce of the sender in the latest state.
    pub(super) state_nonce: u64,
    pub(super) by_nonce: BTreeMap<u64, PooledTx>,
    /// The first nonce at or above `state_nonce` that is not pooled: the end of the run that
    /// is executable now. Kept up to date by every change, so counting pending transactions
    /// does not walk them (a sender may have thousands pooled).
    pub(super) pending_end: u64,
}

impl SenderTxs {
    /// Transactions at or above the state nonce. Those below it were mined by a block whose
    /// import has not yet reached [`TxPool::remove_after_block`]; they no longer count.
    pub(super) fn live(&self) -> impl Iterator<Item = (&u64, &PooledTx)> {
        self.by_nonce.range(self.state_nonce..)
    }

    /// Number of transactions executable in order from the state nonce.
    pub(super) fn pending_len(&self) -> usize {
        (self.pending_end - self.state_nonce) as usize
    }

    /// Number of transactions waiting behind a nonce gap.
    pub(super) fn queued_len(&self) -> usize {
        self.by_nonce.range(self.pending_end..).count()
    }

    /// The first nonce at or above `state_nonce` (the caller's view of the latest state) that
    /// is not pooled. The pool's own view may be older or newer than the caller's: a block
    /// commits before the pool is cleaned up after it, so pooled nonces below the caller's
    /// state nonce are mined (or about to be dropped) and do not count.
    pub(super) fn next_free_nonce(&self, state_nonce: u64) -> u64 {
        let from = state_nonce.max(self.state_nonce);
        if (self.state_nonce..=self.pending_end).contains(&from) {
            return self.pending_end;
        }
        let mut next = from;
        while self.by_nonce.contains_key(&next) {
            next += 1;
        }
        next
    }

    /// Moves `pending_end` over pooled nonces from `from`.
    pub(super) fn extend_pending_from(&mut self, from: u64) {
        let mut end = from;
        while self.by_nonce.contains_key(&end) {
            end += 1;
        }
        self.pending_end = end;
    }

    /// The sender's nonce in the latest state moved to `nonce`.
    pub(super) fn set_state_nonce(&mut self, nonce: u64) {
        let was = self.state_nonce;
        self.state_nonce = nonce;
        if nonce < was || nonce > self.pending_end {
            self.extend_pending_from(nonce);
        }
    }

    pub(super) fn insert(&mut self, nonce: u64, tx: PooledTx) {
        self.by_nonce.insert(nonce, tx);
        if nonce == self.pending_end {
            self.extend_pending_from(nonce);
        }
    }

    pub(super) fn remove(&mut self, nonce: u64) -> Option<PooledTx> {
        let removed = self.by_nonce.remove(&nonce)?;
        if (self.state_nonce..self.pending_end).contains(&nonce) {
            self.pending_end = nonce;
        }
        Some(removed)
    }
}
