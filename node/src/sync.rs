//! Block sync beside any consensus engine: catching up on committed blocks from peers, and
//! answering peers' block requests from the chain.
//!
//! An engine that finds blocks missing below what it has committed (a Raft snapshot, a
//! committed block ahead of the head) asks for a catch-up ([`SyncHandle::catch_up`]); the
//! service asks its connected peers for the blocks after the head, checks each with the
//! engine's header rule (a Raft seal by a member, QBFT's committed seals) and imports it through
//! the [`ChainHandle`] — never on the engine's task. A block whose private payloads the TM
//! cannot give halts import there (the chain handle says why); the catch-up is tried again
//! every [`RETRY`] until a peer has nothing more.

use alloy_consensus::Header;
use std::{sync::Arc, time::Duration};
use tokio::sync::{mpsc, watch, Notify};
use veil_chain::{ChainError, ChainHandle};
use veil_p2p::{P2pHandle, PeerId, SyncRequest, SyncResponse};
use veil_primitives::Block;

/// How often an unfinished catch-up is tried again (no peer answered to the end, or import
/// halted).
pub const RETRY: Duration = Duration::from_secs(1);
/// Blocks asked of a peer at once.
const BATCH: u64 = 128;
/// Most blocks given to a peer in one answer.
const MAX_SERVED: u64 = 256;
/// Peers' block requests waiting to be answered. When full, a request is dropped: its reply
/// channel closes and the asking node tries again or asks another peer.
pub const REQUEST_QUEUE: usize = 256;

/// The engine's rule for a synced block's header: `Err` says why the block is refused.
pub type HeaderCheck = Arc<dyn Fn(&Header) -> Result<(), String> + Send + Sync>;

/// A peer's request for blocks, with where to answer.
pub struct BlockRequest {
    /// The blocks asked for.
    pub request: SyncRequest,
    /// The answer.
    pub reply: tokio::sync::oneshot::Sender<SyncResponse>,
}

/// How an engine talks to the sync service.
#[derive(Clone)]
pub struct SyncHandle {
    wanted: Arc<Notify>,
    requests: mpsc::Sender<BlockRequest>,
}

impl SyncHandle {
    /// Blocks are missing after the head: fetch them from peers (once, however often asked
    /// before it starts).
    pub fn catch_up(&self) {
        self.wanted.notify_one();
    }

    /// Queues a peer's block request; a full queue drops it ([`REQUEST_QUEUE`]).
    pub fn serve(&self, request: BlockRequest) {
        if self.requests.try_send(request).is_err() {
            tracing::debug!(target: "sync", "block request queue full: request dropped");
        }
    }
}

/// The service: `peers` is the engine's view of connected peers, `check` its header rule.
/// Runs until `shutdown`.
pub fn start(
    chain: ChainHandle,
    p2p: P2pHandle,
    peers: watch::Receiver<Vec<PeerId>>,
    check: HeaderCheck,
    shutdown: watch::Receiver<bool>,
) -> (SyncHandle, impl std::future::Future<Output = ()> + Send + 'static) {
    let wanted = Arc::new(Notify::new());
    let (requests, mut incoming) = mpsc::channel(REQUEST_QUEUE);
    let handle = SyncHandle { wanted: wanted.clone(), requests };
    let service = Service { chain, p2p, peers, check };
    let mut stop = shutdown;
    let task = async move {
        // Answering never waits behind a catch-up (two nodes catching up from each other
        // would otherwise each wait for the other's answer).
        let serving = async {
            while let Some(request) = incoming.recv().await {
                service.answer(request);
            }
        };
        let catching_up = async {
            let mut pending = false;
            loop {
                tokio::select! {
                    _ = wanted.notified(), if !pending => pending = true,
                    _ = tokio::time::sleep(RETRY), if pending => {}
                }
                if pending {
                    pending = !service.catch_up().await;
                }
            }
        };
        tokio::select! {
            _ = serving => {}
            _ = catching_up => {}
            _ = stop.changed() => {}
        }
    };
    (handle, task)
}

struct Service {
    chain: ChainHandle,
    p2p: P2pHandle,
    peers: watch::Receiver<Vec<PeerId>>,
    check: HeaderCheck,
}

impl Service {
    /// Answers a peer's request with the canonical blocks it asks for, as many as are here.
    fn answer(&self, BlockRequest { request, reply }: BlockRequest) {
        let store = self.chain.chain().store();
        let blocks = (request.from..request.from.saturating_add(request.max.min(MAX_SERVED)))
            .map_while(|n| store.canonical_hash(n).ok().flatten())
            .map_while(|hash| store.block(hash).ok().flatten())
            .map(|block| alloy_rlp::encode(&block))
            .collect();
        let _ = reply.send(SyncResponse { blocks });
    }

    /// Fetches blocks after the head from connected peers until one has no more: `true` when
    /// done, `false` to try again later.
    async fn catch_up(&self) -> bool {
        let peers = self.peers.borrow().clone();
        for peer in peers {
            loop {
                let from = self.chain.chain().head().1.number + 1;
                let request = SyncRequest { from, max: BATCH };
                let Some(response) = self.p2p.request_blocks(peer, request).await else { break };
                if response.blocks.is_empty() {
                    return true;
                }
                match self.import(peer, response.blocks).await {
                    Ok(()) => {}
                    Err(Stop::Peer) => break,
                    Err(Stop::Halted) => return false,
                }
            }
        }
        false
    }

    async fn import(&self, peer: PeerId, blocks: Vec<Vec<u8>>) -> Result<(), Stop> {
        use alloy_rlp::Decodable;
        for bytes in blocks {
            let Ok(block) = Block::decode(&mut bytes.as_slice()) else {
                tracing::warn!(target: "sync", %peer, "peer sent bytes that are not a block");
                return Err(Stop::Peer);
            };
            let number = block.header.number;
            if let Err(why) = (self.check)(&block.header) {
                tracing::warn!(target: "sync", %peer, number, %why, "peer sent a block this chain's consensus refuses");
                return Err(Stop::Peer);
            }
            match self.chain.import(block).await {
                Ok(_) => tracing::info!(target: "sync", number, "block synced"),
                Err(ChainError::PayloadsUnavailable { .. }) => return Err(Stop::Halted),
                Err(e) => {
                    tracing::warn!(target: "sync", %peer, number, error = %e, "synced block refused");
                    return Err(Stop::Peer);
                }
            }
        }
        Ok(())
    }
}

/// Why a catch-up stops asking a peer.
enum Stop {
    /// The peer sent something wrong (or we already have it): ask the next.
    Peer,
    /// Import halted on the TM: try again later.
    Halted,
}
