//! An in-memory network for tests that run many nodes in one process (feature `test-utils`),
//! in the style of raft-rs's test harness: each node gets the same [`P2pHandle`] and
//! [`P2pEvent`] stream the libp2p service gives, but messages travel through a switchboard
//! the test controls — links can be cut, a node isolated, messages dropped at random (seeded)
//! or delayed, and everything recovered. Every node that joins is connected to every other
//! over links that are up.
//!
//! What it carries: consensus messages, transactions (published to every connected peer, or sent
//! to one), and block requests with their answers. Gossip verdicts and peer admin commands
//! are accepted and ignored (the mesh is full and static).

use crate::network::{Command, COMMAND_QUEUE, EVENT_QUEUE};
use crate::{NodeKey, P2pEvent, P2pHandle, PeerInfo, SyncResponse};
use libp2p::{gossipsub::MessageId, PeerId};
use parking_lot::Mutex;
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// How long a block request waits for the peer's answer before it counts as unanswered.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The switchboard. Cloning gives another handle to the same network.
#[derive(Clone, Debug)]
pub struct MemoryNetwork {
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    peers: BTreeMap<PeerId, Peer>,
    /// Directed links that lose every message: (from, to).
    cut: HashSet<(PeerId, PeerId)>,
    /// Chance that any one message is lost.
    drop_rate: f64,
    /// How long each message takes.
    delay: Duration,
    rng: StdRng,
}

#[derive(Debug)]
struct Peer {
    events: mpsc::Sender<P2pEvent>,
    connected: watch::Sender<Vec<PeerId>>,
}

impl State {
    fn linked(&self, a: PeerId, b: PeerId) -> bool {
        !self.cut.contains(&(a, b)) && !self.cut.contains(&(b, a))
    }

    /// Whether a message from `from` to `to` gets through this time.
    fn passes(&mut self, from: PeerId, to: PeerId) -> bool {
        let lost = self.drop_rate > 0.0 && self.rng.gen_bool(self.drop_rate);
        !self.cut.contains(&(from, to)) && !lost
    }

    /// Brings every node's connected set up to date, telling each what changed.
    fn refresh(&self) {
        for (&id, peer) in &self.peers {
            let now: Vec<PeerId> =
                self.peers.keys().copied().filter(|&o| o != id && self.linked(id, o)).collect();
            let before = peer.connected.borrow().clone();
            for gone in before.iter().filter(|p| !now.contains(p)) {
                let _ = peer.events.try_send(P2pEvent::PeerDisconnected(*gone));
            }
            for new in now.iter().filter(|p| !before.contains(p)) {
                let _ = peer.events.try_send(P2pEvent::PeerConnected(*new));
            }
            peer.connected.send_replace(now);
        }
    }
}

impl MemoryNetwork {
    /// An empty network; `seed` drives the random drops (print it in the test).
    pub fn new(seed: u64) -> Self {
        let state = State {
            peers: BTreeMap::new(),
            cut: HashSet::new(),
            drop_rate: 0.0,
            delay: Duration::ZERO,
            rng: StdRng::seed_from_u64(seed),
        };
        Self { state: Arc::new(Mutex::new(state)) }
    }

    /// Joins the node with `key`: its handle and event stream, connected to every node on
    /// the network. Runs the node's router on the current tokio runtime.
    pub fn join(&self, key: &NodeKey) -> (P2pHandle, mpsc::Receiver<P2pEvent>) {
        let local = key.peer_id();
        let (commands, command_rx) = mpsc::channel(COMMAND_QUEUE);
        let (events, event_rx) = mpsc::channel(EVENT_QUEUE);
        let (connected_tx, connected) = watch::channel(Vec::new());
        {
            let mut state = self.state.lock();
            state.peers.insert(local, Peer { events, connected: connected_tx });
            state.refresh();
        }
        tokio::spawn(self.clone().route(local, command_rx));
        (P2pHandle::from_parts(commands, local, connected), event_rx)
    }

    /// Loses every message between `a` and `b`, both ways.
    pub fn cut(&self, a: PeerId, b: PeerId) {
        let mut state = self.state.lock();
        state.cut.insert((a, b));
        state.cut.insert((b, a));
        state.refresh();
    }

    /// Cuts `node` off from every other node.
    pub fn isolate(&self, node: PeerId) {
        let others: Vec<PeerId> = self.state.lock().peers.keys().copied().collect();
        for other in others.into_iter().filter(|&o| o != node) {
            self.cut(node, other);
        }
    }

    /// Loses each message with probability `rate` (0 to 1).
    pub fn drop_rate(&self, rate: f64) {
        self.state.lock().drop_rate = rate.clamp(0.0, 1.0);
    }

    /// Delivers each message after `delay`.
    pub fn delay(&self, delay: Duration) {
        self.state.lock().delay = delay;
    }

    /// Every link up, nothing dropped, nothing delayed.
    pub fn recover(&self) {
        let mut state = self.state.lock();
        state.cut.clear();
        state.drop_rate = 0.0;
        state.delay = Duration::ZERO;
        state.refresh();
    }

    /// Delivers `event` from `from` to `to` unless the link loses it.
    fn deliver(&self, from: PeerId, to: PeerId, event: P2pEvent) {
        let (events, delay) = {
            let mut state = self.state.lock();
            if !state.passes(from, to) {
                return;
            }
            let Some(peer) = state.peers.get(&to) else { return };
            (peer.events.clone(), state.delay)
        };
        if delay.is_zero() {
            let _ = events.try_send(event);
        } else {
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = events.try_send(event);
            });
        }
    }

    fn connected_to(&self, node: PeerId) -> Vec<PeerId> {
        let state = self.state.lock();
        state.peers.get(&node).map(|p| p.connected.borrow().clone()).unwrap_or_default()
    }

    /// Carries `local`'s commands until its handles are dropped.
    async fn route(self, local: PeerId, mut commands: mpsc::Receiver<Command>) {
        while let Some(command) = commands.recv().await {
            match command {
                Command::SendConsensus { to, data } => {
                    self.deliver(local, to, P2pEvent::Consensus { from: local, data });
                }
                Command::SendTxs { to, txs } => {
                    self.deliver(local, to, P2pEvent::SentTransactions { txs, from: local });
                }
                Command::PublishTxs(message) => {
                    let Ok(txs) = alloy_rlp::decode_exact::<Vec<alloy_primitives::Bytes>>(&message)
                    else {
                        continue;
                    };
                    let txs: Vec<Vec<u8>> = txs.into_iter().map(Vec::from).collect();
                    let id = MessageId::from(alloy_primitives::keccak256(&message).to_vec());
                    for peer in self.connected_to(local) {
                        let event = P2pEvent::Transactions {
                            txs: txs.clone(),
                            from: local,
                            id: id.clone(),
                        };
                        self.deliver(local, peer, event);
                    }
                }
                Command::RequestBlocks { peer, request, reply } => {
                    let (answer_tx, answer) = oneshot::channel::<SyncResponse>();
                    let event = P2pEvent::BlockRequest { from: local, request, reply: answer_tx };
                    self.deliver(local, peer, event);
                    let network = self.clone();
                    tokio::spawn(async move {
                        let answered = tokio::time::timeout(REQUEST_TIMEOUT, answer).await;
                        let answered = answered.ok().and_then(Result::ok);
                        // The answer crosses the link back, which may lose it too.
                        let back = answered.filter(|_| network.state.lock().passes(peer, local));
                        let _ = reply.send(back);
                    });
                }
                Command::Peers(reply) => {
                    let peers = self
                        .connected_to(local)
                        .into_iter()
                        .map(|peer_id| PeerInfo {
                            peer_id,
                            address: "/memory/0".parse().expect("a valid multiaddr"),
                            outbound: true,
                        })
                        .collect();
                    let _ = reply.send(peers);
                }
                Command::Validated { .. } | Command::AddPeer(_) | Command::RemovePeer(_) => {}
            }
        }
    }
}
