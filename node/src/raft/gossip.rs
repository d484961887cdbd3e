//! Transaction gossip for a Raft member, off the raft task.
//!
//! Out: transactions submitted to this node ([`TxPool::subscribe_local`]) are published in
//! batches — one gossip message carries whatever accumulated while the previous one was being
//! sent, so a quiet node sends single transactions at once and a busy one amortises the
//! per-message cost. Transactions heard from peers are not republished: gossipsub forwards
//! the message itself once it is accepted.
//!
//! In: peers' messages are decoded and their senders recovered in parallel (rayon), then
//! offered to the pool. A message with a malformed or unsigned transaction is rejected (and
//! counts against the peer); one that added something new is accepted (forwarded); one whose
//! transactions were all known or stale is ignored.

use crate::{Chain, TxPool};
use rayon::prelude::*;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use veil_p2p::{MessageId, P2pHandle, PeerId, Verdict};
use veil_primitives::{RecoveredTx, Transaction};

/// A gossiped message of transactions from a peer.
#[derive(Debug)]
pub struct Incoming {
    /// The raw transactions.
    pub txs: Vec<Vec<u8>>,
    /// The peer that forwarded it.
    pub from: PeerId,
    /// Its gossip id.
    pub id: MessageId,
}

/// Most bytes of transactions in one outgoing message (gossip allows 1 MiB).
const MAX_BATCH_BYTES: usize = 512 * 1024;
/// Most incoming messages judged together.
const MAX_INCOMING_BATCH: usize = 64;

/// Starts both directions; they stop on `shutdown`. Feed peers' messages to the returned
/// sender.
pub fn start(
    chain: Arc<Chain>,
    pool: Arc<TxPool>,
    p2p: P2pHandle,
    shutdown: watch::Receiver<bool>,
) -> mpsc::UnboundedSender<Incoming> {
    let (incoming, incoming_rx) = mpsc::unbounded_channel();
    tokio::spawn(until_shutdown(shutdown.clone(), publish_local(pool.clone(), p2p.clone())));
    tokio::spawn(until_shutdown(shutdown, take_in(incoming_rx, chain, pool, p2p)));
    incoming
}

async fn until_shutdown(mut shutdown: watch::Receiver<bool>, work: impl std::future::Future) {
    tokio::select! {
        _ = work => {}
        _ = shutdown.changed() => {}
    }
}

async fn publish_local(pool: Arc<TxPool>, p2p: P2pHandle) {
    let mut local = pool.subscribe_local();
    while let Some(first) = local.recv().await {
        let mut bytes = first.tx().encode_2718_len();
        let mut batch = vec![first.tx().encoded_2718()];
        while bytes < MAX_BATCH_BYTES {
            let Ok(tx) = local.try_recv() else { break };
            bytes += tx.tx().encode_2718_len();
            batch.push(tx.tx().encoded_2718());
        }
        p2p.publish_transactions(&batch);
        // Let arrivals accumulate behind a busy sender instead of sending one by one.
        tokio::task::yield_now().await;
    }
}

async fn take_in(
    mut incoming: mpsc::UnboundedReceiver<Incoming>,
    chain: Arc<Chain>,
    pool: Arc<TxPool>,
    p2p: P2pHandle,
) {
    while let Some(first) = incoming.recv().await {
        let mut messages = vec![first];
        while messages.len() < MAX_INCOMING_BATCH {
            let Ok(message) = incoming.try_recv() else { break };
            messages.push(message);
        }
        let (chain, pool) = (chain.clone(), pool.clone());
        let Ok(verdicts) =
            tokio::task::spawn_blocking(move || judge(&chain, &pool, messages)).await
        else {
            return;
        };
        for (id, from, verdict) in verdicts {
            p2p.validated(id, from, verdict);
        }
    }
}

/// Recovers every new transaction of `messages` in parallel, offers them to the pool in
/// message order, and judges each message.
fn judge(
    chain: &Chain,
    pool: &TxPool,
    messages: Vec<Incoming>,
) -> Vec<(MessageId, PeerId, Verdict)> {
    let recovered: Vec<Option<Vec<Option<RecoveredTx>>>> = messages
        .par_iter()
        .map(|message| {
            message
                .txs
                .par_iter()
                .map(|raw| {
                    let tx = Transaction::decode_2718_exact(raw).ok()?;
                    if pool.contains(&tx.hash()) {
                        return Some(None);
                    }
                    RecoveredTx::try_new(tx).ok().map(Some)
                })
                .collect()
        })
        .collect();
    let (_, head) = chain.head();
    let state = chain.latest_state();
    messages
        .into_iter()
        .zip(recovered)
        .map(|(message, txs)| {
            let verdict = match txs {
                None => Verdict::Reject,
                Some(txs) => {
                    let added = txs
                        .into_iter()
                        .flatten()
                        .map(|tx| pool.add_remote(tx, &state, &head).is_ok())
                        .filter(|added| *added)
                        .count();
                    if added > 0 {
                        Verdict::Accept
                    } else {
                        Verdict::Ignore
                    }
                }
            };
            (message.id, message.from, verdict)
        })
        .collect()
}
