//! Raft mode: blocks ordered by a Raft cluster over libp2p, as GoQuorum's `--raft`.
//!
//! One task owns the [`RaftNode`] and the p2p event stream. It ticks raft every 100 ms (an
//! election takes 10 ticks), steps it with peers' messages, and after each step sends raft's
//! messages and applies committed entries in log order. The leader builds a block from the pool
//! every `--raftblocktime` while transactions are pending, seals it ([`seal`]) and proposes it;
//! every member imports committed blocks whose parent is its head and whose seal names a
//! member's node key (for the term's leader when known), skipping the rest with a log line.
//! The leader commits its own block without executing it again; members reuse the senders
//! their pools recovered. Transaction gossip runs beside the raft task ([`gossip`]). Peers'
//! block requests are answered from the chain.

pub mod gossip;
pub mod seal;

use crate::{
    ptm::{payloads_blocking, Ptm},
    BlockBuilder, BuiltBlock, Chain, MintError, TxPool,
};
use alloy_primitives::{Address, B256};
use alloy_rlp::Decodable;
use eyre::{eyre, WrapErr};
use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::{mpsc, oneshot, watch};
use veil_consensus::{Committed, RaftNode};
use veil_p2p::{Enode, NodeKey, P2pConfig, P2pEvent, P2pHandle, PeerId, SyncResponse};
use veil_primitives::{Block, Transaction};
use veil_storage::{ChainStore, KvStore, WriteBatch};

/// Raft's logical clock.
const TICK: Duration = Duration::from_millis(100);
/// Most transactions in one block (~0.6 MB of transfers): one block is one raft entry, carried
/// whole to every member.
/// A proposal not applied within this long is given up (a leader change lost it).
const PROPOSAL_TIMEOUT: Duration = Duration::from_secs(3);
/// Applied entries kept in the raft log before it is compacted; lagging members further behind
/// get a snapshot and sync blocks from peers.
const LOG_RETAINED: u64 = 1_000;
/// How often a halted import asks the transaction manager again.
const HALT_RETRY: Duration = Duration::from_secs(1);
/// Chain meta key of the last raft index applied.
const APPLIED_KEY: &str = "raft_applied";
/// Chain meta key of the members added after the start (raft id → enode), and of removed ids.
const MEMBERS_KEY: &str = "raft_members";
const REMOVED_KEY: &str = "raft_removed";

/// How to run a Raft member.
#[derive(Clone, Debug)]
pub struct RaftSetup {
    /// The node key (identity and block seals).
    pub key: NodeKey,
    /// The p2p TCP port.
    pub port: u16,
    /// The cluster's first members in order (raft id = 1-based index), `static-nodes.json`.
    pub static_nodes: Vec<Enode>,
    /// `permissioned-nodes.json` when `--permissioned`.
    pub permissioned: Option<Vec<Enode>>,
    /// `--raftjoinexisting ID`.
    pub join_existing: Option<u64>,
    /// Least time between blocks.
    pub block_time: Duration,
    /// Fee recipient of minted blocks.
    pub beneficiary: Address,
    /// The transaction manager, when this node runs private transactions.
    pub ptm: Option<Arc<Ptm>>,
}

/// What the raft RPC methods report.
#[derive(Clone, Debug, Default)]
pub struct RaftStatus {
    /// This member's raft id.
    pub id: u64,
    /// "minter", "verifier" or "learner".
    pub role: &'static str,
    /// The leader's raft id (0: none).
    pub leader: u64,
    /// The term.
    pub term: u64,
    /// Known members by raft id.
    pub members: BTreeMap<u64, Enode>,
    /// Voting members.
    pub voters: Vec<u64>,
    /// Learners.
    pub learners: Vec<u64>,
    /// Connected p2p peers.
    pub peers: Vec<PeerId>,
    /// This node's enode.
    pub enode: Option<Enode>,
    /// Why block import is halted (the transaction manager cannot answer), if it is.
    pub halted: Option<String>,
    /// On the leader, the members that answered it within the last election timeout.
    pub recently_active: Vec<u64>,
}

/// A membership request from the RPC layer.
#[derive(Debug)]
pub enum RaftCommand {
    /// `raft_addPeer` / `raft_addLearner`: answers the new raft id.
    Add {
        /// The new member's enode.
        enode: Enode,
        /// Join as a learner.
        learner: bool,
        /// The answer.
        reply: oneshot::Sender<Result<u64, String>>,
    },
    /// `raft_promoteToPeer`.
    Promote {
        /// The learner.
        id: u64,
        /// The answer.
        reply: oneshot::Sender<Result<bool, String>>,
    },
    /// `raft_removePeer`.
    Remove {
        /// The member.
        id: u64,
        /// The answer.
        reply: oneshot::Sender<Result<(), String>>,
    },
}

/// A running raft member, for the RPC layer.
#[derive(Clone, Debug)]
pub struct RaftHandle {
    /// The latest status.
    pub status: watch::Receiver<RaftStatus>,
    /// The p2p service.
    pub p2p: P2pHandle,
    /// Membership requests.
    pub commands: mpsc::Sender<RaftCommand>,
}

fn own_id(setup: &RaftSetup) -> eyre::Result<u64> {
    if let Some(id) = setup.join_existing {
        return Ok(id);
    }
    let public = setup.key.public();
    setup
        .static_nodes
        .iter()
        .position(|e| e.public == public)
        .map(|i| i as u64 + 1)
        .ok_or_else(|| eyre!("this node's key is not in static-nodes.json; list it there or join with --raftjoinexisting ID"))
}

fn applied_index(store: &ChainStore) -> eyre::Result<u64> {
    Ok(store
        .meta(APPLIED_KEY)?
        .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
        .map_or(0, u64::from_be_bytes))
}

/// Membership and admin commands from RPC waiting for the Raft task. Each is an operator's
/// call; when the queue is full the call is refused as busy, never queued without bound.
const COMMAND_QUEUE: usize = 64;

/// Starts the p2p service and the raft task.
pub async fn start(
    setup: RaftSetup,
    chain: Arc<Chain>,
    pool: Arc<TxPool>,
    kv: Arc<dyn KvStore>,
    mut shutdown: watch::Receiver<bool>,
) -> eyre::Result<(RaftHandle, tokio::task::JoinHandle<eyre::Result<()>>)> {
    let id = own_id(&setup)?;
    let mut members: BTreeMap<u64, Enode> =
        setup.static_nodes.iter().enumerate().map(|(i, e)| (i as u64 + 1, e.clone())).collect();
    let store = chain.store();
    if let Some(bytes) = store.meta(MEMBERS_KEY)? {
        let added: BTreeMap<u64, String> = serde_json::from_slice(&bytes)?;
        for (id, enode) in added {
            members.insert(id, enode.parse().map_err(|e: String| eyre!(e))?);
        }
    }
    let removed: Vec<u64> = match store.meta(REMOVED_KEY)? {
        Some(bytes) => serde_json::from_slice(&bytes)?,
        None => Vec::new(),
    };
    for id in &removed {
        members.remove(id);
    }
    let voters: Vec<u64> =
        if setup.join_existing.is_some() { vec![] } else { members.keys().copied().collect() };
    let applied = applied_index(chain.store())?;
    let raft = RaftNode::open(kv.clone(), id, &voters, applied)?;
    let config = P2pConfig {
        listen: format!("/ip4/0.0.0.0/tcp/{}", setup.port).parse().wrap_err("listen address")?,
        static_peers: setup.static_nodes.clone(),
        permissioned: setup.permissioned.clone(),
        max_peers: 50,
    };
    let (p2p, events, _) =
        veil_p2p::start(&setup.key, config).await.map_err(|e| eyre!("p2p: {e}"))?;
    let enode = members.get(&id).cloned();
    let (status_tx, status) =
        watch::channel(RaftStatus { id, enode: enode.clone(), ..Default::default() });
    let (commands, command_rx) = mpsc::channel(COMMAND_QUEUE);
    let gossip =
        gossip::start(chain.clone(), pool.clone(), p2p.clone(), status.clone(), shutdown.clone());
    let (chain_for_builder, pool_for_builder) = (chain.clone(), pool.clone());
    let mut member = Member {
        gossip,
        removed,
        raft,
        chain,
        pool,
        kv,
        p2p: p2p.clone(),
        key: setup.key,
        builder: BlockBuilder::new(chain_for_builder, pool_for_builder, setup.beneficiary)
            .with_ptm(setup.ptm.clone()),
        members,
        peers: Vec::new(),
        leaders: HashMap::new(),
        in_flight: None,
        needs_sync: false,
        compacted: applied.saturating_sub(LOG_RETAINED),
        ptm: setup.ptm,
        backlog: VecDeque::new(),
        halted: None,
        payload_fetch: None,
        stepping_aside: None,
        status: status_tx,
        enode,
    };
    let block_time = setup.block_time;
    let task =
        tokio::spawn(
            async move { member.run(events, command_rx, block_time, &mut shutdown).await },
        );
    Ok((RaftHandle { status, p2p, commands }, task))
}

/// Why a committed block waits.
enum Wait {
    /// Its payloads are being fetched in the background.
    Fetching,
    /// The TM could not give them: import halts.
    Unavailable(String),
}

/// The result of a finished task, without waiting.
trait FinishedResult<T> {
    fn now_or_never_result(self) -> Option<T>;
}

impl<T> FinishedResult<T> for tokio::task::JoinHandle<T> {
    fn now_or_never_result(self) -> Option<T> {
        futures::FutureExt::now_or_never(self).and_then(Result::ok)
    }
}

struct Member {
    /// Raft ids removed from the cluster; they never come back.
    removed: Vec<u64>,
    raft: RaftNode,
    chain: Arc<Chain>,
    pool: Arc<TxPool>,
    kv: Arc<dyn KvStore>,
    p2p: P2pHandle,
    key: NodeKey,
    /// Builds this node's blocks when it leads.
    builder: BlockBuilder,
    members: BTreeMap<u64, Enode>,
    peers: Vec<PeerId>,
    /// The leader seen in each term, to check seals against.
    leaders: HashMap<u64, u64>,
    /// The block this leader proposed last: its hash, when, and its execution.
    in_flight: Option<(B256, Instant, BuiltBlock)>,
    /// Peers' transaction gossip goes here.
    gossip: mpsc::Sender<gossip::Incoming>,
    /// Blocks are missing below the log (a snapshot arrived, or a committed block was ahead
    /// of the head): fetch them from peers.
    needs_sync: bool,
    /// The raft log holds nothing before this index.
    compacted: u64,
    status: watch::Sender<RaftStatus>,
    enode: Option<Enode>,
    ptm: Option<Arc<Ptm>>,
    /// Committed entries not applied yet, in log order.
    backlog: VecDeque<Committed>,
    /// Import is halted: why, and when it was last tried.
    halted: Option<(String, Instant)>,
    /// The background fetch of a committed block's missing private payloads, by block hash.
    payload_fetch: Option<(B256, tokio::task::JoinHandle<Result<(), String>>)>,
    /// When this leader last handed leadership over for want of private payloads; it does not
    /// try to mint again for a while (each try waits on the TM).
    stepping_aside: Option<Instant>,
}

impl Member {
    async fn run(
        &mut self,
        mut events: mpsc::UnboundedReceiver<P2pEvent>,
        mut commands: mpsc::Receiver<RaftCommand>,
        block_time: Duration,
        shutdown: &mut watch::Receiver<bool>,
    ) -> eyre::Result<()> {
        let mut ticker = tokio::time::interval(TICK);
        let mut minting = tokio::time::interval(block_time);
        loop {
            tokio::select! {
                _ = ticker.tick() => self.raft.tick(),
                _ = minting.tick() => self.mint(),
                event = events.recv() => match event {
                    Some(event) => self.on_event(event),
                    None => return Err(eyre!("the p2p service stopped")),
                },
                Some(command) = commands.recv() => self.on_command(command),
                _ = shutdown.changed() => return Ok(()),
            }
            self.advance()?;
            if self.needs_sync {
                self.sync().await;
            }
        }
    }

    /// Fetches blocks after the head from connected peers until one has no more.
    async fn sync(&mut self) {
        for peer in self.peers.clone() {
            loop {
                let from = self.chain.head().1.number + 1;
                let request = veil_p2p::SyncRequest { from, max: 128 };
                let Some(response) = self.p2p.request_blocks(peer, request).await else { break };
                if response.blocks.is_empty() {
                    self.needs_sync = false;
                    return;
                }
                for bytes in response.blocks {
                    let Ok(block) = Block::decode(&mut bytes.as_slice()) else { break };
                    let sealed_by_member = seal::signer(&block.header).is_ok_and(|(id, public)| {
                        self.members.get(&id).is_some_and(|e| e.public == public)
                    });
                    if !sealed_by_member {
                        tracing::warn!(target: "raft", %peer, "peer sent a block not sealed by a member");
                        break;
                    }
                    let number = block.header.number;
                    let payloads =
                        match payloads_blocking(self.ptm.as_deref(), &block.body.transactions) {
                            Ok(payloads) => payloads,
                            Err(e) => {
                                self.halt(format!(
                                    "block {number}: private payloads unavailable: {e}"
                                ));
                                return;
                            }
                        };
                    match tokio::task::block_in_place(|| self.chain.import(block, &payloads)) {
                        Ok(_) => {
                            tracing::info!(target: "raft", number, "block synced");
                            if self.halted.take().is_some() {
                                tracing::info!(target: "raft", number, "transaction manager answers again; block import resumed");
                            }
                        }
                        Err(e) => {
                            tracing::warn!(target: "raft", %peer, number, error = %e, "synced block refused");
                            break;
                        }
                    }
                }
            }
        }
    }

    fn on_command(&mut self, command: RaftCommand) {
        use veil_consensus::MembershipChange;
        match command {
            RaftCommand::Add { enode, learner, reply } => {
                let answer = if self.members.values().any(|e| e.public == enode.public) {
                    Err("node with this enode is already a member of the cluster".to_string())
                } else {
                    let highest =
                        self.members.keys().chain(&self.removed).max().copied().unwrap_or(0);
                    let id = highest.max(self.raft.id()) + 1;
                    let change = if learner {
                        MembershipChange::AddLearner(id)
                    } else {
                        MembershipChange::AddVoter(id)
                    };
                    self.raft
                        .propose_membership(&change, enode.to_string().into_bytes())
                        .map(|()| id)
                        .map_err(|e| e.to_string())
                };
                let _ = reply.send(answer);
            }
            RaftCommand::Promote { id, reply } => {
                let answer = if self.raft.members().1.contains(&id) {
                    self.raft
                        .propose_membership(&MembershipChange::AddVoter(id), vec![])
                        .map(|()| true)
                        .map_err(|e| e.to_string())
                } else {
                    Err(format!("raft id {id} is not a learner"))
                };
                let _ = reply.send(answer);
            }
            RaftCommand::Remove { id, reply } => {
                let answer = if self.members.contains_key(&id) {
                    self.raft
                        .propose_membership(&MembershipChange::Remove(id), vec![])
                        .map_err(|e| e.to_string())
                } else {
                    Err(format!("raft id {id} is not a member"))
                };
                let _ = reply.send(answer);
            }
        }
    }

    /// Applies a committed membership change to the member list and the p2p peers.
    fn apply_membership(
        &mut self,
        change: &veil_consensus::MembershipChange,
        context: &[u8],
    ) -> eyre::Result<()> {
        use veil_consensus::MembershipChange;
        match change {
            MembershipChange::AddVoter(id) | MembershipChange::AddLearner(id) => {
                if let Ok(enode) = std::str::from_utf8(context).unwrap_or("").parse::<Enode>() {
                    if *id == self.raft.id() {
                        self.enode = Some(enode.clone());
                    } else {
                        self.p2p.add_peer(enode.clone());
                    }
                    self.members.insert(*id, enode);
                }
            }
            MembershipChange::Remove(id) => {
                if let Some(enode) = self.members.remove(id) {
                    if let Ok(peer) = enode.peer_id() {
                        self.p2p.remove_peer(peer);
                    }
                }
                self.removed.push(*id);
                if *id == self.raft.id() {
                    tracing::warn!(target: "raft", "this node was removed from the cluster");
                }
            }
        }
        let added: BTreeMap<u64, String> =
            self.members.iter().map(|(id, e)| (*id, e.to_string())).collect();
        let mut batch = WriteBatch::new();
        ChainStore::put_meta(&mut batch, MEMBERS_KEY, serde_json::to_vec(&added)?);
        ChainStore::put_meta(&mut batch, REMOVED_KEY, serde_json::to_vec(&self.removed)?);
        Ok(self.kv.write(batch)?)
    }

    /// Queues peers' transactions for the gossip task; a full queue drops them (see
    /// [`gossip::INCOMING_QUEUE`]).
    fn judge_later(&self, incoming: gossip::Incoming) {
        if let Err(mpsc::error::TrySendError::Full(dropped)) = self.gossip.try_send(incoming) {
            tracing::debug!(target: "raft", peer = %dropped.from, txs = dropped.txs.len(), "gossip queue full: message dropped (its origin announces again)");
            if let Some(id) = dropped.id {
                // Not forwarded, not blamed on the peer.
                self.p2p.validated(id, dropped.from, veil_p2p::Verdict::Ignore);
            }
        }
    }

    fn on_event(&mut self, event: P2pEvent) {
        match event {
            P2pEvent::Raft { data, from } => {
                if let Err(e) = self.raft.step(&data) {
                    tracing::debug!(target: "raft", peer = %from, error = %e, "raft message refused");
                }
            }
            P2pEvent::Transactions { txs, from, id } => {
                self.judge_later(gossip::Incoming { txs, from, id: Some(id) });
            }
            P2pEvent::SentTransactions { txs, from } => {
                self.judge_later(gossip::Incoming { txs, from, id: None });
            }
            P2pEvent::BlockRequest { request, reply, .. } => {
                let store = self.chain.store();
                let blocks = (request.from..request.from.saturating_add(request.max.min(256)))
                    .map_while(|n| store.canonical_hash(n).ok().flatten())
                    .map_while(|hash| store.block(hash).ok().flatten())
                    .map(|block| alloy_rlp::encode(&block))
                    .collect();
                let _ = reply.send(SyncResponse { blocks });
            }
            // The p2p service reports a peer once, however many connections it has.
            P2pEvent::PeerConnected(peer) => self.peers.push(peer),
            P2pEvent::PeerDisconnected(peer) => self.peers.retain(|p| *p != peer),
            P2pEvent::PeerDenied(_) => {}
        }
    }

    /// The leader builds, seals and proposes a block when transactions are pending and its
    /// previous proposal has been applied.
    fn mint(&mut self) {
        if let Some((_, since, _)) = &self.in_flight {
            if since.elapsed() < PROPOSAL_TIMEOUT {
                return;
            }
            self.in_flight = None;
        }
        if !self.raft.is_leader() {
            return;
        }
        if self.stepping_aside.is_some_and(|since| since.elapsed() < HALT_RETRY) {
            return;
        }
        // The one builder, as the dev minter uses it: same candidates, limits and pool rules.
        let built = match tokio::task::block_in_place(|| self.builder.build()) {
            Ok(Some(built)) => built,
            Ok(None) => return,
            Err(e @ (MintError::Ptm(_) | MintError::PayloadsUnavailable(_))) => {
                return self.step_aside(&e.to_string())
            }
            Err(e) => return tracing::error!(target: "raft", error = %e, "building a block failed"),
        };
        let mut built = built;
        seal::seal(&mut built.block.header, self.raft.id(), &self.key);
        let hash = built.block.header.hash_slow();
        match self.raft.propose(alloy_rlp::encode(&built.block)) {
            Ok(()) => self.in_flight = Some((hash, Instant::now(), built)),
            Err(e) => tracing::debug!(target: "raft", error = %e, "proposal refused"),
        }
    }

    /// A leader whose transaction manager cannot give the payloads of pending private
    /// transactions cannot mint: it hands leadership to another voter, so the chain goes on
    /// while its own import waits for the TM.
    fn step_aside(&mut self, why: &str) {
        let (voters, _) = self.raft.members();
        let own = self.raft.id();
        let Some(&to) =
            voters.iter().find(|&&id| id > own).or_else(|| voters.iter().find(|&&id| id != own))
        else {
            return tracing::error!(target: "raft", %why, "cannot mint: private payloads unavailable, and no other voter to lead");
        };
        tracing::warn!(target: "raft", %why, to, "cannot mint: private payloads unavailable; handing leadership over");
        self.raft.transfer_leader(to);
        self.stepping_aside = Some(Instant::now());
    }

    fn advance(&mut self) -> eyre::Result<()> {
        if self.raft.leader_id() != 0 {
            self.leaders.insert(self.raft.term(), self.raft.leader_id());
        }
        while let Some(progress) = self.raft.advance()? {
            if let Some(index) = progress.snapshot {
                tracing::info!(target: "raft", index, "raft snapshot received; syncing blocks from peers");
                self.needs_sync = true;
            }
            for (to, message) in progress.messages {
                match self.members.get(&to).map(Enode::peer_id) {
                    Some(Ok(peer)) => self.p2p.send_raft(peer, message),
                    _ => tracing::debug!(target: "raft", to, "no address for raft member"),
                }
            }
            self.backlog.extend(progress.committed);
        }
        self.apply_backlog()?;
        let (voters, learners) = self.raft.members();
        self.status.send_replace(RaftStatus {
            id: self.raft.id(),
            role: self.raft.role(),
            leader: self.raft.leader_id(),
            term: self.raft.term(),
            members: self.members.clone(),
            voters,
            learners,
            peers: self.peers.clone(),
            enode: self.enode.clone(),
            halted: self.halted.as_ref().map(|(why, _)| why.clone()),
            recently_active: self.raft.recently_active(),
        });
        Ok(())
    }

    /// Block import stops until the transaction manager answers: said once, then kept with the
    /// time of the last attempt.
    fn halt(&mut self, why: String) {
        if self.halted.is_none() {
            tracing::error!(target: "raft", %why, "block import halted until the transaction manager answers");
        }
        self.halted = Some((why, Instant::now()));
    }

    /// Applies committed entries in order until one needs private payloads the transaction
    /// manager cannot give; that one and those after it wait (retried every
    /// [`HALT_RETRY`]). Nothing is applied as if this node were not a party.
    fn apply_backlog(&mut self) -> eyre::Result<()> {
        if self.halted.as_ref().is_some_and(|(_, since)| since.elapsed() < HALT_RETRY) {
            return Ok(());
        }
        while let Some(committed) = self.backlog.pop_front() {
            match committed {
                Committed::Entry { index, term, data } => {
                    match self.apply_block(index, term, &data)? {
                        Ok(()) => {}
                        Err(Wait::Fetching) => {
                            self.backlog.push_front(Committed::Entry { index, term, data });
                            return Ok(());
                        }
                        Err(Wait::Unavailable(why)) => {
                            self.halt(why);
                            self.backlog.push_front(Committed::Entry { index, term, data });
                            return Ok(());
                        }
                    }
                    if self.halted.take().is_some() {
                        tracing::info!(target: "raft", index, "transaction manager answers again; block import resumed");
                    }
                }
                Committed::Membership { index, change, context } => {
                    tracing::info!(target: "raft", index, ?change, "membership changed");
                    self.apply_membership(&change, &context)?;
                    self.record_applied(index)?;
                }
            }
        }
        Ok(())
    }

    fn record_applied(&mut self, index: u64) -> eyre::Result<()> {
        if index >= self.compacted + 2 * LOG_RETAINED {
            self.compacted = index - LOG_RETAINED;
            self.raft.compact(self.compacted)?;
        }
        let mut batch = WriteBatch::new();
        ChainStore::put_meta(&mut batch, APPLIED_KEY, index.to_be_bytes().to_vec());
        Ok(self.kv.write(batch)?)
    }

    /// The private payloads of block `hash`'s transactions, from the payload cache, without
    /// waiting on the TM: `Ok(None)` while a background fetch of the missing ones runs (this
    /// task keeps ticking meanwhile), `Err` once that fetch failed (it is tried again at the
    /// next attempt).
    fn payloads_of(
        &mut self,
        hash: B256,
        transactions: &[Transaction],
    ) -> Result<Option<crate::PrivatePayloads>, String> {
        let Some(ptm) = self.ptm.clone() else { return Ok(Some(Default::default())) };
        let (payloads, missing) = ptm.cached_payloads(transactions);
        if missing.is_empty() {
            self.payload_fetch = None;
            return Ok(Some(payloads));
        }
        match self.payload_fetch.take() {
            Some((block, task)) if block == hash && !task.is_finished() => {
                self.payload_fetch = Some((block, task));
                return Ok(None);
            }
            Some((block, task)) if block == hash => {
                // Finished: an error halts; success fills the cache (looked at again below
                // only if an entry was evicted meanwhile).
                if let Some(Err(e)) = task.now_or_never_result() {
                    return Err(e);
                }
            }
            _ => {}
        }
        let task =
            tokio::spawn(
                async move { ptm.fetch_into_cache(&missing).await.map_err(|e| e.to_string()) },
            );
        self.payload_fetch = Some((hash, task));
        Ok(None)
    }

    /// Imports a committed block if it extends the head and its seal is a member's (the
    /// term's leader's, when known). `Ok(Err(_))`: the block's private payloads are not at
    /// hand yet, or cannot be fetched; nothing was applied.
    fn apply_block(
        &mut self,
        index: u64,
        term: u64,
        data: &[u8],
    ) -> eyre::Result<Result<(), Wait>> {
        let block = match Block::decode(&mut &data[..]) {
            Ok(block) => block,
            Err(e) => {
                tracing::warn!(target: "raft", index, error = %e, "committed entry is not a block; skipped");
                return self.record_applied(index).map(Ok);
            }
        };
        let hash = block.header.hash_slow();
        let own = match self.in_flight.take() {
            Some((h, _, built)) if h == hash => Some(built),
            other => {
                self.in_flight = other;
                None
            }
        };
        let number = block.header.number;
        if let Err(why) =
            seal::check(&block.header, &self.members, self.leaders.get(&term).copied())
        {
            tracing::warn!(target: "raft", number, %hash, %why, "committed block refused");
            return self.record_applied(index).map(Ok);
        }
        let (head_hash, head) = self.chain.head();
        if block.header.parent_hash != head_hash {
            if number > head.number + 1 {
                self.needs_sync = true;
            }
            tracing::info!(target: "raft", number, %hash, "committed block does not extend the head; skipped");
            return self.record_applied(index).map(Ok);
        }
        let imported = match own {
            // The leader built it, with the payloads, and commits it as built.
            Some(built) => tokio::task::block_in_place(|| self.chain.commit_built(built)),
            None => {
                let payloads = match self.payloads_of(hash, &block.body.transactions) {
                    Ok(Some(payloads)) => payloads,
                    Ok(None) => return Ok(Err(Wait::Fetching)),
                    Err(e) => {
                        return Ok(Err(Wait::Unavailable(format!(
                            "block {number}: private payloads unavailable: {e}"
                        ))))
                    }
                };
                let hashes: Vec<B256> =
                    block.body.transactions.iter().map(Transaction::hash).collect();
                let known = self.pool.senders_of(&hashes);
                tokio::task::block_in_place(|| {
                    self.chain.import_with_known_senders(block, &known, &payloads)
                })
            }
        };
        match imported {
            Ok(imported) => {
                tracing::info!(target: "raft", number, %hash, txs = imported.transactions.len(), "block applied");
            }
            Err(e) => {
                tracing::warn!(target: "raft", number, %hash, error = %e, "committed block refused")
            }
        }
        self.record_applied(index).map(Ok)
    }
}
