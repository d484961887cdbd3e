//! The libp2p service: TCP + Noise + Yamux; gossipsub for transactions (forwarded only after
//! the node validated them); request-response for consensus (raft or QBFT) messages, block
//! sync and transactions handed straight to one peer (a re-announcement to whoever builds
//! blocks); identify, ping, connection limits; static peers redialled with backoff, only at
//! their enode's address; permissioning by enode list in both directions; a block list for
//! removed peers.

use crate::{Enode, NodeKey};
use futures::StreamExt;
use libp2p::{
    allow_block_list::{self, AllowedPeers, BlockedPeers},
    connection_limits::{self, ConnectionLimits},
    gossipsub::{self, IdentTopic, MessageAcceptance, MessageAuthenticity, MessageId},
    identify, noise, ping,
    request_response::{self, cbor, ProtocolSupport},
    swarm::{behaviour::toggle::Toggle, NetworkBehaviour, SwarmEvent},
    tcp, yamux, Multiaddr, PeerId, StreamProtocol, Swarm, SwarmBuilder,
};
use serde::{Deserialize, Serialize};
use std::{
    collections::HashMap,
    time::{Duration, Instant},
};
use tokio::sync::{mpsc, oneshot, watch};

/// Gossip of transaction batches: a message is an RLP list of EIP-2718 encoded transactions.
const TX_TOPIC: &str = "veil/transactions/2";
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How often a connection is pinged, and how long a ping may take before the connection is
/// closed as dead (its static peer is then redialled).
const PING_INTERVAL: Duration = Duration::from_secs(5);
/// Raft message streams in flight per connection (see where it is used).
const MAX_RAFT_STREAMS: usize = 1024;

/// A block-sync request: blocks from `from` (a number), at most `max`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SyncRequest {
    /// The first block number wanted.
    pub from: u64,
    /// At most this many.
    pub max: u64,
}

/// A block-sync answer: RLP-encoded blocks in order.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SyncResponse {
    /// The blocks.
    pub blocks: Vec<Vec<u8>>,
}

/// A node's judgement of a gossiped message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Valid and new to us: forward it.
    Accept,
    /// Well formed but of no use (known, stale): drop it without blame.
    Ignore,
    /// Malformed or invalidly signed: drop it and count it against the sender.
    Reject,
}

/// What the service tells the node.
#[derive(Debug)]
pub enum P2pEvent {
    /// Gossiped transactions: validate them and answer with [`P2pHandle::validated`]. (A
    /// message that is not a list of byte strings is rejected by the service itself.)
    Transactions {
        /// The raw (EIP-2718) transactions.
        txs: Vec<Vec<u8>>,
        /// Who forwarded it.
        from: PeerId,
        /// Its gossip id.
        id: MessageId,
    },
    /// Transactions a peer sent straight to this node ([`P2pHandle::send_transactions`]):
    /// offer them to the pool. Nothing is forwarded.
    SentTransactions {
        /// The raw (EIP-2718) transactions.
        txs: Vec<Vec<u8>>,
        /// Who sent them.
        from: PeerId,
    },
    /// A consensus engine's message from a peer (raft, or QBFT).
    Consensus {
        /// Who sent it.
        from: PeerId,
        /// The encoded message.
        data: Vec<u8>,
    },
    /// A peer asks for blocks; answer on `reply`.
    BlockRequest {
        /// Who asks.
        from: PeerId,
        /// What it asks.
        request: SyncRequest,
        /// Where the answer goes.
        reply: oneshot::Sender<SyncResponse>,
    },
    /// A peer connected.
    PeerConnected(PeerId),
    /// A peer disconnected.
    PeerDisconnected(PeerId),
    /// A peer that tried to connect was refused (permissioning or the block list).
    PeerDenied(Option<PeerId>),
}

impl P2pEvent {
    /// The event's kind, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            P2pEvent::Transactions { .. } => "gossiped transactions",
            P2pEvent::SentTransactions { .. } => "sent transactions",
            P2pEvent::Consensus { .. } => "consensus message",
            P2pEvent::BlockRequest { .. } => "block request",
            P2pEvent::PeerConnected(_) => "peer connected",
            P2pEvent::PeerDisconnected(_) => "peer disconnected",
            P2pEvent::PeerDenied(_) => "peer denied",
        }
    }
}

/// A connected peer, for `admin_peers`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// Its libp2p id.
    pub peer_id: PeerId,
    /// The remote address.
    pub address: Multiaddr,
    /// Whether we dialled it.
    pub outbound: bool,
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::PublishTxs(_) => "publish transactions",
            Command::Validated { .. } => "gossip verdict",
            Command::SendConsensus { .. } => "consensus message",
            Command::SendTxs { .. } => "send transactions",
            Command::RequestBlocks { .. } => "block request",
            Command::AddPeer(_) => "add peer",
            Command::RemovePeer(_) => "remove peer",
            Command::Peers(_) => "peers",
        }
    }
}

pub(crate) enum Command {
    PublishTxs(Vec<u8>),
    Validated {
        id: MessageId,
        from: PeerId,
        verdict: Verdict,
    },
    SendConsensus {
        to: PeerId,
        data: Vec<u8>,
    },
    SendTxs {
        to: PeerId,
        txs: Vec<Vec<u8>>,
    },
    RequestBlocks {
        peer: PeerId,
        request: SyncRequest,
        reply: oneshot::Sender<Option<SyncResponse>>,
    },
    AddPeer(Enode),
    RemovePeer(PeerId),
    Peers(oneshot::Sender<Vec<PeerInfo>>),
}

/// Commands from the node waiting for the service. When full, messages that are repeated
/// anyway are dropped (raft messages — raft retransmits —, transactions — their origin
/// announces them again —, gossip verdicts — the message then times out of gossipsub's
/// validation); peer changes wait for room on a task of their own; requests wait for room.
pub const COMMAND_QUEUE: usize = 4096;
/// Events for the node waiting to be taken. When full, the event is dropped: a raft message
/// (raft retransmits), gossiped transactions (the service reports them ignored, so they are
/// not forwarded and not blamed on the peer), transactions sent to this node (their origin
/// sends them again), a block request (the asker sees no answer and asks again), or a peer
/// change (the connected set stays exact in [`P2pHandle::connected`]).
pub const EVENT_QUEUE: usize = 8192;

/// A cloneable handle to the service.
#[derive(Clone, Debug)]
pub struct P2pHandle {
    commands: mpsc::Sender<Command>,
    local: PeerId,
    connected: watch::Receiver<Vec<PeerId>>,
}

impl P2pHandle {
    /// A handle over command and connected-set channels some other carrier serves (the
    /// in-memory network of tests).
    #[cfg_attr(not(feature = "test-utils"), allow(dead_code))]
    pub(crate) fn from_parts(
        commands: mpsc::Sender<Command>,
        local: PeerId,
        connected: watch::Receiver<Vec<PeerId>>,
    ) -> Self {
        Self { commands, local, connected }
    }

    /// This node's peer id.
    pub fn local_peer_id(&self) -> PeerId {
        self.local
    }

    /// Queues a command; see [`COMMAND_QUEUE`] for a full queue.
    fn send(&self, command: Command) {
        match self.commands.try_send(command) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(command)) => match command {
                Command::AddPeer(_) | Command::RemovePeer(_) => {
                    let commands = self.commands.clone();
                    tokio::spawn(async move { commands.send(command).await });
                }
                dropped => {
                    tracing::debug!(command = dropped.name(), "p2p command queue full: dropped")
                }
            },
        }
    }

    /// The peers connected now (exact, whatever events were dropped).
    pub fn connected(&self) -> watch::Receiver<Vec<PeerId>> {
        self.connected.clone()
    }

    /// Gossips transactions this node accepted, as one message (keep it under 1 MiB).
    pub fn publish_transactions(&self, raws: &[Vec<u8>]) {
        let list: Vec<&[u8]> = raws.iter().map(Vec::as_slice).collect();
        self.send(Command::PublishTxs(alloy_rlp::encode(list)));
    }

    /// Reports a gossiped message's validation: accepted ones are forwarded, others dropped
    /// (a rejected one counts against the peer that forwarded it).
    pub fn validated(&self, id: MessageId, from: PeerId, verdict: Verdict) {
        self.send(Command::Validated { id, from, verdict });
    }

    /// Sends a consensus engine's message straight to `to` (no gossip: validators and raft
    /// members are one another's static peers).
    pub fn send_consensus(&self, to: PeerId, data: Vec<u8>) {
        self.send(Command::SendConsensus { to, data });
    }

    /// Sends transactions (EIP-2718 bytes, under 1 MiB in all) straight to `to`, which offers
    /// them to its pool without forwarding them. Delivery is not confirmed: the caller repeats
    /// what is still pending later.
    pub fn send_transactions(&self, to: PeerId, txs: Vec<Vec<u8>>) {
        self.send(Command::SendTxs { to, txs });
    }

    /// Asks `peer` for blocks; `None` when it did not answer.
    pub async fn request_blocks(&self, peer: PeerId, request: SyncRequest) -> Option<SyncResponse> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(Command::RequestBlocks { peer, request, reply }).await.ok()?;
        answer.await.ok().flatten()
    }

    /// Adds a static peer (dialled and redialled; with permissioning, only if it is listed).
    pub fn add_peer(&self, enode: Enode) {
        self.send(Command::AddPeer(enode));
    }

    /// Drops a peer and refuses it from now on.
    pub fn remove_peer(&self, peer: PeerId) {
        self.send(Command::RemovePeer(peer));
    }

    /// The connected peers.
    pub async fn peers(&self) -> Vec<PeerInfo> {
        let (reply, answer) = oneshot::channel();
        if self.commands.send(Command::Peers(reply)).await.is_err() {
            return Vec::new();
        }
        answer.await.unwrap_or_default()
    }
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    permitted: Toggle<allow_block_list::Behaviour<AllowedPeers>>,
    blocked: allow_block_list::Behaviour<BlockedPeers>,
    limits: connection_limits::Behaviour,
    gossipsub: gossipsub::Behaviour,
    consensus: cbor::Behaviour<Vec<u8>, ()>,
    sync: cbor::Behaviour<SyncRequest, SyncResponse>,
    txs: cbor::Behaviour<Vec<Vec<u8>>, ()>,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
}

/// How to start the service.
#[derive(Clone, Debug)]
pub struct P2pConfig {
    /// Where to listen.
    pub listen: Multiaddr,
    /// Peers to keep connected to.
    pub static_peers: Vec<Enode>,
    /// With `Some`, only these peers may connect or be dialled (`--permissioned`).
    pub permissioned: Option<Vec<Enode>>,
    /// Most established connections.
    pub max_peers: u32,
}

struct StaticPeer {
    address: Multiaddr,
    backoff: Duration,
    next_dial: Instant,
}

/// Starts the service on the current tokio runtime; answers the handle, the event stream and
/// the address it listens on.
pub async fn start(
    key: &NodeKey,
    config: P2pConfig,
) -> Result<(P2pHandle, mpsc::Receiver<P2pEvent>, Multiaddr), String> {
    let mut swarm = build(key, &config)?;
    swarm
        .listen_on(config.listen.clone())
        .map_err(|e| format!("listening on {}: {e}", config.listen))?;
    // Events before the listen address (a peer dialling in at once) are handled once the
    // service runs: dropping a ConnectionEstablished left that peer unknown here for good,
    // while the peer counted this node (seen as `veil-sim start` waiting for full peering).
    let mut early = Vec::new();
    let address = loop {
        match swarm.select_next_some().await {
            SwarmEvent::NewListenAddr { address, .. } => break address,
            other => early.push(other),
        }
    };
    let (commands, command_rx) = mpsc::channel(COMMAND_QUEUE);
    let (events, event_rx) = mpsc::channel(EVENT_QUEUE);
    let local = *swarm.local_peer_id();
    // One answer per block request the node was given; those are bounded by EVENT_QUEUE.
    let (sync_answers, answer_rx) = mpsc::unbounded_channel();
    let (connected_tx, connected) = watch::channel(Vec::new());
    let mut service = Service {
        swarm,
        events,
        connected_tx,
        statics: HashMap::new(),
        connected: HashMap::new(),
        pending_sync: HashMap::new(),
        sync_answers,
        unpublished: Default::default(),
    };
    for enode in config.static_peers {
        service.add_static(&enode);
    }
    for event in early {
        service.on_swarm(event);
    }
    tokio::spawn(service.run(command_rx, answer_rx));
    Ok((P2pHandle { commands, local, connected }, event_rx, address))
}

/// Largest raft message or block-sync message: raft appends carry whole blocks (the codec's
/// default of 1 MiB stalled replication of large blocks in the load test).
const MAX_MESSAGE_BYTES: u64 = 64 << 20;

fn large_messages<Req, Resp>() -> cbor::codec::Codec<Req, Resp> {
    cbor::codec::Codec::default()
        .set_request_size_maximum(MAX_MESSAGE_BYTES)
        .set_response_size_maximum(MAX_MESSAGE_BYTES)
}

fn build(key: &NodeKey, config: &P2pConfig) -> Result<Swarm<Behaviour>, String> {
    let permitted = match &config.permissioned {
        None => None,
        Some(list) => {
            let mut allowed = allow_block_list::Behaviour::<AllowedPeers>::default();
            for enode in list {
                allowed.allow_peer(enode.peer_id()?);
            }
            Some(allowed)
        }
    };
    let gossip_config = gossipsub::ConfigBuilder::default()
        // Transactions carry their senders' signatures: gossipsub's own per-message signatures
        // cost every node a signature check per copy for nothing.
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .validate_messages()
        .max_transmit_size(1 << 20)
        // Content-addressed ids: the same transaction published by several nodes is one message.
        .message_id_fn(|message| {
            MessageId::from(alloy_primitives::keccak256(&message.data).to_vec())
        })
        .build()
        .map_err(|e| e.to_string())?;
    let swarm = SwarmBuilder::with_existing_identity(key.keypair())
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|e| e.to_string())?
        // Enode hosts may be names (Kubernetes services); resolved with the system's resolver.
        .with_dns()
        .map_err(|e| format!("the system's DNS configuration: {e}"))?
        .with_behaviour(|keypair| {
            let mut gossipsub =
                gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, gossip_config)?;
            gossipsub.subscribe(&IdentTopic::new(TX_TOPIC))?;
            let rr =
                request_response::Config::default().with_request_timeout(Duration::from_secs(10));
            // Streams in flight per connection, both ways. Each raft message is a stream: a
            // member that was paused (SIGSTOP) gets its peers' backlog at once, and beyond
            // libp2p's default of 100 the rest are dropped ("Dropping inbound stream because
            // we are at capacity"). Raft resends what was lost, so that cost only time.
            let raft_rr = rr.clone().with_max_concurrent_streams(MAX_RAFT_STREAMS);
            Ok(Behaviour {
                permitted: Toggle::from(permitted),
                blocked: allow_block_list::Behaviour::default(),
                limits: connection_limits::Behaviour::new(
                    ConnectionLimits::default().with_max_established(Some(config.max_peers)),
                ),
                gossipsub,
                consensus: cbor::Behaviour::with_codec(
                    large_messages(),
                    [(StreamProtocol::new("/veil/consensus/1"), ProtocolSupport::Full)],
                    raft_rr,
                ),
                sync: cbor::Behaviour::with_codec(
                    large_messages(),
                    [(StreamProtocol::new("/veil/sync/1"), ProtocolSupport::Full)],
                    rr.clone(),
                ),
                txs: cbor::Behaviour::with_codec(
                    large_messages(),
                    [(StreamProtocol::new("/veil/txs/1"), ProtocolSupport::Full)],
                    rr,
                ),
                // No cache of the addresses peers announce: a peer is dialled only at the
                // address of its enode (static-nodes.json, admin_addPeer, raft membership), as
                // GoQuorum does without discovery. An announced address may be one the peer
                // cannot be reached at from here (a container's), and dialling it would
                // bypass whatever the operator put on the listed one.
                identify: identify::Behaviour::new(
                    identify::Config::new("/veil/1".into(), keypair.public()).with_cache_size(0),
                ),
                ping: ping::Behaviour::new(
                    ping::Config::new().with_interval(PING_INTERVAL).with_timeout(PING_INTERVAL),
                ),
            })
        })
        .map_err(|e| e.to_string())?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();
    Ok(swarm)
}

/// A block-sync answer the node produced, on its way back to the asking peer.
type SyncAnswer = (request_response::ResponseChannel<SyncResponse>, SyncResponse);

struct Service {
    swarm: Swarm<Behaviour>,
    events: mpsc::Sender<P2pEvent>,
    /// The connected peers, for [`P2pHandle::connected`].
    connected_tx: watch::Sender<Vec<PeerId>>,
    statics: HashMap<PeerId, StaticPeer>,
    connected: HashMap<PeerId, PeerInfo>,
    pending_sync:
        HashMap<request_response::OutboundRequestId, oneshot::Sender<Option<SyncResponse>>>,
    sync_answers: mpsc::UnboundedSender<SyncAnswer>,
    /// Transaction messages published while no peer was subscribed yet (a node that has just
    /// started): sent when one subscribes, instead of being lost.
    unpublished: std::collections::VecDeque<Vec<u8>>,
}

/// Most transaction messages kept while no peer is subscribed.
const MAX_UNPUBLISHED: usize = 1024;

/// Connected peers (geth's `p2p/peers`).
const PEERS_METRIC: &str = "p2p_peers";
/// Bytes of messages received and sent: transactions, consensus messages (geth's
/// `p2p/ingress` and `p2p/egress` count wire bytes; these count the messages' own bytes and
/// leave out block sync and libp2p's framing).
const INGRESS_METRIC: &str = "p2p_ingress";
const EGRESS_METRIC: &str = "p2p_egress";

fn ingress(bytes: usize) {
    metrics::counter!(INGRESS_METRIC).increment(bytes as u64);
}

fn egress(bytes: usize) {
    metrics::counter!(EGRESS_METRIC).increment(bytes as u64);
}

impl Service {
    /// Gossips a transaction message, or keeps it until a peer subscribes.
    fn publish(&mut self, data: Vec<u8>) {
        let topic = IdentTopic::new(TX_TOPIC);
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        let hash = topic.hash();
        if !gossipsub.all_peers().any(|(_, topics)| topics.contains(&&hash)) {
            if self.unpublished.len() == MAX_UNPUBLISHED {
                self.unpublished.pop_front();
                tracing::warn!("no peer to gossip to; the oldest waiting transactions are dropped");
            }
            self.unpublished.push_back(data);
            return;
        }
        egress(data.len());
        if let Err(e) = gossipsub.publish(topic, data) {
            tracing::debug!(error = %e, "transactions not gossiped");
        }
    }

    fn add_static(&mut self, enode: &Enode) {
        let Ok(peer) = enode.peer_id() else { return };
        if peer == *self.swarm.local_peer_id() {
            return;
        }
        self.swarm.behaviour_mut().blocked.unblock_peer(peer);
        self.statics.insert(
            peer,
            StaticPeer {
                address: enode.multiaddr(),
                backoff: Duration::from_millis(250),
                next_dial: Instant::now(),
            },
        );
    }

    fn redial(&mut self) {
        let now = Instant::now();
        let behaviour = self.swarm.behaviour();
        let refused = |peer: &PeerId| {
            behaviour.blocked.blocked_peers().contains(peer)
                || behaviour.permitted.as_ref().is_some_and(|p| !p.allowed_peers().contains(peer))
        };
        let due: Vec<(PeerId, Multiaddr)> = self
            .statics
            .iter()
            .filter(|(peer, s)| {
                s.next_dial <= now && !self.swarm.is_connected(peer) && !refused(peer)
            })
            .map(|(peer, s)| (*peer, s.address.clone()))
            .collect();
        for (peer, address) in due {
            if let Err(error) = self.swarm.dial(address.with_p2p(peer).unwrap_or_else(|a| a)) {
                tracing::debug!(%peer, %error, "static peer not dialled");
            }
            if let Some(s) = self.statics.get_mut(&peer) {
                s.next_dial = now + s.backoff;
                s.backoff = (s.backoff * 2).min(MAX_BACKOFF);
            }
        }
    }

    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut answers: mpsc::UnboundedReceiver<SyncAnswer>,
    ) {
        let mut redial = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                Some((channel, response)) = answers.recv() => {
                    let _ = self.swarm.behaviour_mut().sync.send_response(channel, response);
                }
                event = self.swarm.select_next_some() => self.on_swarm(event),
                command = commands.recv() => match command {
                    Some(command) => self.on_command(command),
                    None => return,
                },
                _ = redial.tick() => self.redial(),
            }
        }
    }

    fn on_command(&mut self, command: Command) {
        let behaviour = self.swarm.behaviour_mut();
        match command {
            Command::PublishTxs(data) => self.publish(data),
            Command::Validated { id, from, verdict } => {
                let verdict = match verdict {
                    Verdict::Accept => MessageAcceptance::Accept,
                    Verdict::Ignore => MessageAcceptance::Ignore,
                    Verdict::Reject => MessageAcceptance::Reject,
                };
                behaviour.gossipsub.report_message_validation_result(&id, &from, verdict);
            }
            Command::SendConsensus { to, data } => {
                egress(data.len());
                behaviour.consensus.send_request(&to, data);
            }
            Command::SendTxs { to, txs } => {
                egress(txs.iter().map(Vec::len).sum());
                behaviour.txs.send_request(&to, txs);
            }
            Command::RequestBlocks { peer, request, reply } => {
                let id = behaviour.sync.send_request(&peer, request);
                self.pending_sync.insert(id, reply);
            }
            Command::AddPeer(enode) => self.add_static(&enode),
            Command::RemovePeer(peer) => {
                self.statics.remove(&peer);
                behaviour.blocked.block_peer(peer);
            }
            Command::Peers(reply) => {
                let _ = reply.send(self.connected.values().cloned().collect());
            }
        }
    }

    /// Hands an event to the node; see [`EVENT_QUEUE`] for a full queue.
    fn emit(&mut self, event: P2pEvent) {
        let Err(mpsc::error::TrySendError::Full(event)) = self.events.try_send(event) else {
            return;
        };
        tracing::debug!(event = event.name(), "p2p event queue full: dropped");
        if let P2pEvent::Transactions { id, from, .. } = event {
            self.swarm.behaviour_mut().gossipsub.report_message_validation_result(
                &id,
                &from,
                MessageAcceptance::Ignore,
            );
        }
    }

    fn publish_connected(&self) {
        let mut peers: Vec<PeerId> = self.connected.keys().copied().collect();
        peers.sort_unstable();
        metrics::gauge!(PEERS_METRIC).set(peers.len() as f64);
        self.connected_tx.send_replace(peers);
    }

    fn on_swarm(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::ConnectionEstablished { peer_id, endpoint, num_established, .. } => {
                if let Some(s) = self.statics.get_mut(&peer_id) {
                    s.backoff = Duration::from_millis(250);
                }
                // Two nodes dialling each other at once end up with two connections: one peer.
                if num_established.get() == 1 {
                    tracing::info!(peer = %peer_id, address = %endpoint.get_remote_address(), "peer allowed");
                    self.connected.insert(
                        peer_id,
                        PeerInfo {
                            peer_id,
                            address: endpoint.get_remote_address().clone(),
                            outbound: endpoint.is_dialer(),
                        },
                    );
                    self.publish_connected();
                    self.emit(P2pEvent::PeerConnected(peer_id));
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                self.connected.remove(&peer_id);
                self.publish_connected();
                self.emit(P2pEvent::PeerDisconnected(peer_id));
            }
            SwarmEvent::IncomingConnectionError { send_back_addr, error, peer_id, .. } => {
                if matches!(error, libp2p::swarm::ListenError::Denied { .. }) {
                    tracing::info!(peer = ?peer_id, address = %send_back_addr, "peer denied");
                    self.emit(P2pEvent::PeerDenied(peer_id));
                } else {
                    tracing::debug!(address = %send_back_addr, %error, "incoming connection failed");
                }
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(peer = ?peer_id, %error, "dial failed");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Subscribed {
                ..
            })) => {
                for data in std::mem::take(&mut self.unpublished) {
                    self.publish(data);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
                ingress(message.data.len());
                match alloy_rlp::decode_exact::<Vec<alloy_primitives::Bytes>>(&message.data) {
                    Ok(txs) => self.emit(P2pEvent::Transactions {
                        txs: txs.into_iter().map(Vec::from).collect(),
                        from: propagation_source,
                        id: message_id,
                    }),
                    Err(e) => {
                        tracing::debug!(peer = %propagation_source, error = %e, "gossip message is not a transaction list");
                        self.swarm.behaviour_mut().gossipsub.report_message_validation_result(
                            &message_id,
                            &propagation_source,
                            MessageAcceptance::Reject,
                        );
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Consensus(
                request_response::Event::Message {
                    peer,
                    message: request_response::Message::Request { request, channel, .. },
                    ..
                },
            )) => {
                ingress(request.len());
                let _ = self.swarm.behaviour_mut().consensus.send_response(channel, ());
                self.emit(P2pEvent::Consensus { from: peer, data: request });
            }
            SwarmEvent::Behaviour(BehaviourEvent::Txs(request_response::Event::Message {
                peer,
                message: request_response::Message::Request { request, channel, .. },
                ..
            })) => {
                ingress(request.iter().map(Vec::len).sum());
                let _ = self.swarm.behaviour_mut().txs.send_response(channel, ());
                self.emit(P2pEvent::SentTransactions { from: peer, txs: request });
            }
            SwarmEvent::Behaviour(BehaviourEvent::Txs(
                request_response::Event::OutboundFailure { peer, error, .. },
            )) => tracing::debug!(%peer, %error, "transactions not delivered"),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                peer,
                message,
                ..
            })) => {
                match message {
                    request_response::Message::Request { request, channel, .. } => {
                        let (reply, answer) = oneshot::channel();
                        self.emit(P2pEvent::BlockRequest { from: peer, request, reply });
                        // The node answers asynchronously; the response goes back through a command.
                        let commands = self.sync_answers.clone();
                        tokio::spawn(async move {
                            if let Ok(response) = answer.await {
                                let _ = commands.send((channel, response));
                            }
                        });
                    }
                    request_response::Message::Response { request_id, response } => {
                        if let Some(reply) = self.pending_sync.remove(&request_id) {
                            let _ = reply.send(Some(response));
                        }
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(
                request_response::Event::OutboundFailure { request_id, .. },
            )) => {
                if let Some(reply) = self.pending_sync.remove(&request_id) {
                    let _ = reply.send(None);
                }
            }
            // libp2p's ping no longer closes a connection that stops answering: a connection
            // one side has lost (seen when both ends of a pair dial at start) would otherwise
            // count as a peer on the other side for the idle timeout, an hour.
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event {
                peer,
                connection,
                result: Err(error),
            })) => {
                tracing::debug!(%peer, %error, "ping failed; closing the connection");
                self.swarm.close_connection(connection);
            }
            // Raft resends what a lost message carried and QBFT changes round, and a peer that
            // is down fails every message: worth a line only when looking into a slow cluster.
            SwarmEvent::Behaviour(BehaviourEvent::Consensus(
                request_response::Event::OutboundFailure { peer, error, .. },
            )) => tracing::debug!(%peer, %error, "consensus message not delivered"),
            SwarmEvent::Behaviour(BehaviourEvent::Consensus(
                request_response::Event::InboundFailure { peer, error, .. },
            )) => tracing::debug!(%peer, %error, "consensus message not received"),
            _ => {}
        }
    }
}
