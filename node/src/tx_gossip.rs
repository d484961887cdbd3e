//! Transaction gossip, off the consensus engine's task (Raft's or QBFT's).
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
//!
//! Again: gossip is best effort — a member that was down, paused or still catching up misses
//! messages, and if it then builds blocks, transactions acknowledged elsewhere would wait
//! forever. So every [`ANNOUNCE_EVERY`], a node sends its local transactions that stayed
//! pending that long straight to whoever builds next (the Raft leader, the next QBFT
//! proposer: [`BuilderPeer`]) ([`TxPool::unannounced_local`]); that pool ignores the ones it
//! has.

use crate::{Chain, TxPool};
use rayon::prelude::*;
use std::{sync::Arc, time::Duration};
use tokio::sync::{mpsc, watch};
use veil_p2p::{MessageId, P2pHandle, PeerId, Verdict};
use veil_primitives::{RecoveredTx, Transaction};

/// Transactions from a peer: a gossip message, or sent straight to this node.
#[derive(Debug)]
pub struct Incoming {
    /// The raw transactions.
    pub txs: Vec<Vec<u8>>,
    /// The peer that forwarded it.
    pub from: PeerId,
    /// Its gossip id, for a gossip message (which then needs a verdict).
    pub id: Option<MessageId>,
}

/// The peer that builds the next block, asked each time pending transactions are announced
/// again (`None`: this node, or nobody known).
pub type BuilderPeer = Box<dyn Fn() -> Option<PeerId> + Send + Sync>;

/// How long a local transaction stays pending before it is sent to the builder again.
pub const ANNOUNCE_EVERY: Duration = Duration::from_secs(3);
/// Most transactions re-announced in one round.
const MAX_ANNOUNCED: usize = 20_000;

/// Most bytes of transactions in one outgoing message (gossip allows 1 MiB).
const MAX_BATCH_BYTES: usize = 512 * 1024;
/// Most incoming messages judged together.
const MAX_INCOMING_BATCH: usize = 64;

/// Gossip messages from peers waiting to be judged. When full, a message is dropped: its
/// transactions stay pooled at their origin, which announces them to the leader again every
/// [`ANNOUNCE_EVERY`], so nothing acknowledged depends on this queue.
pub(crate) const INCOMING_QUEUE: usize = 4096;

/// Starts both directions, each on its own task; they stop on `shutdown`. Feed peers'
/// messages to the returned sender. The returned future ends when any of the tasks does
/// (at shutdown, or a failure): the caller supervises it.
pub fn start(
    chain: Arc<Chain>,
    pool: Arc<TxPool>,
    p2p: P2pHandle,
    builder: BuilderPeer,
    shutdown: watch::Receiver<bool>,
) -> (mpsc::Sender<Incoming>, impl std::future::Future<Output = ()> + Send + 'static) {
    let (incoming, incoming_rx) = mpsc::channel(INCOMING_QUEUE);
    let mut publishing =
        tokio::spawn(until_shutdown(shutdown.clone(), publish_local(pool.clone(), p2p.clone())));
    let mut announcing = tokio::spawn(until_shutdown(
        shutdown.clone(),
        announce_to_builder(pool.clone(), p2p.clone(), builder),
    ));
    let mut taking_in =
        tokio::spawn(until_shutdown(shutdown, take_in(incoming_rx, chain, pool, p2p)));
    let running = async move {
        let (part, ended) = tokio::select! {
            ended = &mut publishing => ("publishing local transactions", ended),
            ended = &mut announcing => ("announcing to the builder", ended),
            ended = &mut taking_in => ("taking in peers' transactions", ended),
        };
        if let Err(e) = ended {
            tracing::error!(target: "gossip", part, error = %e, "transaction gossip failed");
        }
        publishing.abort();
        announcing.abort();
        taking_in.abort();
    };
    (incoming, running)
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

/// Sends local transactions that stayed pending to the builder, every [`ANNOUNCE_EVERY`].
async fn announce_to_builder(pool: Arc<TxPool>, p2p: P2pHandle, builder: BuilderPeer) {
    let mut every = tokio::time::interval(ANNOUNCE_EVERY);
    loop {
        every.tick().await;
        let Some(leader) = builder() else { continue };
        let due = pool.unannounced_local(ANNOUNCE_EVERY, MAX_ANNOUNCED);
        if due.is_empty() {
            continue;
        }
        tracing::debug!(target: "gossip", count = due.len(), builder = %leader, "pending transactions sent to the next builder again");
        let mut batch = Vec::new();
        let mut bytes = 0;
        for tx in due {
            bytes += tx.tx().encode_2718_len();
            batch.push(tx.tx().encoded_2718());
            if bytes >= MAX_BATCH_BYTES {
                p2p.send_transactions(leader, std::mem::take(&mut batch));
                bytes = 0;
            }
        }
        if !batch.is_empty() {
            p2p.send_transactions(leader, batch);
        }
    }
}

async fn take_in(
    mut incoming: mpsc::Receiver<Incoming>,
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
            match id {
                Some(id) => p2p.validated(id, from, verdict),
                None if verdict == Verdict::Reject => {
                    tracing::debug!(target: "gossip", peer = %from, "peer sent a malformed transaction")
                }
                None => {}
            }
        }
    }
}

/// Recovers every new transaction of `messages` in parallel, offers them to the pool in
/// message order, and judges each message.
fn judge(
    chain: &Chain,
    pool: &TxPool,
    messages: Vec<Incoming>,
) -> Vec<(Option<MessageId>, PeerId, Verdict)> {
    // Per message: `None` if any transaction is malformed, else each new one recovered.
    let recover = |raw: &Vec<u8>| {
        let tx = Transaction::decode_2718_exact(raw).ok()?;
        if pool.contains(&tx.hash()) {
            return Some(None);
        }
        RecoveredTx::try_new(tx).ok().map(Some)
    };
    let count: usize = messages.iter().map(|message| message.txs.len()).sum();
    let recovered: Vec<Option<Vec<Option<RecoveredTx>>>> = if count
        < veil_chain::PARALLEL_RECOVERY_MIN
    {
        messages.iter().map(|message| message.txs.iter().map(recover).collect()).collect()
    } else {
        messages.par_iter().map(|message| message.txs.par_iter().map(recover).collect()).collect()
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{dev, PoolConfig};
    use alloy_consensus::TxLegacy;
    use alloy_primitives::{Address, TxKind, U256};
    use veil_storage::{InMemoryKv, KvStore};

    fn transfer(nonce: u64, chain_id: u64) -> Vec<u8> {
        let tx = TxLegacy {
            chain_id: Some(chain_id),
            nonce,
            gas_price: 0,
            gas_limit: 21_000,
            to: TxKind::Call(Address::repeat_byte(1)),
            value: U256::ZERO,
            input: Default::default(),
        };
        veil_primitives::sign_transaction(tx.into(), &dev::dev_key(0)).encoded_2718()
    }

    fn message(txs: Vec<Vec<u8>>) -> Incoming {
        Incoming { txs, from: PeerId::random(), id: Some(MessageId::new(&[1])) }
    }

    #[test]
    fn new_transactions_are_forwarded_known_ones_ignored_and_malformed_ones_rejected() {
        let kv: Arc<dyn KvStore> = Arc::new(InMemoryKv::new());
        let spec = dev::dev_chain_spec();
        Chain::init(&kv, &spec).unwrap();
        let chain = Chain::open(kv).unwrap();
        let pool = TxPool::new(PoolConfig::default(), chain.spec().clone(), None);
        let chain_id = spec.chain_id();
        let verdicts = |messages| -> Vec<Verdict> {
            judge(&chain, &pool, messages).into_iter().map(|(_, _, v)| v).collect()
        };

        let first = verdicts(vec![message(vec![transfer(0, chain_id), transfer(1, chain_id)])]);
        assert_eq!(first, vec![Verdict::Accept]);
        assert_eq!(pool.status().pending, 2);
        assert_eq!(
            verdicts(vec![
                // Both already pooled.
                message(vec![transfer(0, chain_id), transfer(1, chain_id)]),
                // Well formed and signed, but for another chain: of no use, nobody to blame.
                message(vec![transfer(2, chain_id + 1)]),
                // Not a transaction.
                message(vec![vec![0xde, 0xad]]),
                // One good transaction does not excuse a malformed one beside it.
                message(vec![transfer(2, chain_id), vec![0xc0]]),
            ]),
            vec![Verdict::Ignore, Verdict::Ignore, Verdict::Reject, Verdict::Reject]
        );
        assert_eq!(pool.status().pending, 2, "nothing from a rejected message was pooled");
    }
}
