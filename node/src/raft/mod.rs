//! Raft mode: blocks ordered by a Raft cluster over libp2p, as GoQuorum's `--raft`.
//!
//! One task owns the [`RaftNode`] and the p2p event stream. It ticks raft every 100 ms (an
//! election takes 10 ticks), steps it with peers' messages, and after each step sends raft's
//! messages and applies committed entries in log order. It never executes a block or waits on
//! the TM: building, importing and committing are requests to the [`ChainHandle`], whose
//! answers the loop picks up as they come, ticking meanwhile. The leader has a block built
//! from the pool every `--raftblocktime` while transactions are pending, seals it ([`seal`])
//! and proposes it; every member imports committed blocks whose parent is its head and whose
//! seal names a member's node key (for the term's leader when known), skipping the rest with a
//! log line. The leader commits its own block without executing it again. Transaction gossip
//! runs beside the raft task ([`crate::tx_gossip`]); catching up on missing blocks and answering peers'
//! block requests is the sync service's ([`crate::sync`]).
//!
//! A little over 600 lines: the task's loop and the handlers it selects between read best
//! together; membership changes are in `membership.rs`, the RPC side in `rpc_api.rs`.

mod membership;
mod rpc_api;
pub mod seal;

use crate::{
    sync::{BlockRequest, SyncHandle},
    BuiltBlock, ChainError, ChainHandle, ImportedBlock, MintError,
};
use alloy_primitives::B256;
use alloy_rlp::Decodable;
use eyre::eyre;
use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::{mpsc, oneshot, watch};
use veil_consensus::{Committed, RaftNode};
use veil_p2p::{Enode, NodeKey, P2pEvent, P2pHandle, PeerId};
use veil_primitives::Block;
use veil_storage::{ChainStore, KvStore, WriteBatch};

/// Raft's logical clock.
const TICK: Duration = Duration::from_millis(100);
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
    /// The node key (identity and block seals), the port and the node lists; the cluster's
    /// first members are `static_nodes` in order (raft id = 1-based index).
    pub network: crate::network::NetworkSetup,
    /// `--raftjoinexisting ID`.
    pub join_existing: Option<u64>,
    /// Least time between blocks.
    pub block_time: Duration,
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
    let public = setup.network.key.public();
    setup
        .network
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

/// Starts the sync service, the transaction gossip and the raft task on a running p2p
/// service (libp2p's, or a test's in-memory network); the caller supervises the tasks.
pub fn start_on(
    setup: RaftSetup,
    (p2p, events): (P2pHandle, mpsc::Receiver<P2pEvent>),
    chain: ChainHandle,
    kv: Arc<dyn KvStore>,
    mut shutdown: watch::Receiver<bool>,
) -> eyre::Result<Started> {
    let id = own_id(&setup)?;
    let mut members: BTreeMap<u64, Enode> = setup
        .network
        .static_nodes
        .iter()
        .enumerate()
        .map(|(i, e)| (i as u64 + 1, e.clone()))
        .collect();
    let store = chain.chain().store();
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
    let applied = applied_index(store)?;
    let raft = RaftNode::open(kv.clone(), id, &voters, applied)?;
    let enode = members.get(&id).cloned();
    let (status_tx, status) =
        watch::channel(RaftStatus { id, enode: enode.clone(), ..Default::default() });
    let (commands, command_rx) = mpsc::channel(COMMAND_QUEUE);
    // Pending transactions are announced again to the leader.
    let leader: crate::tx_gossip::BuilderPeer = {
        let status = status.clone();
        Box::new(move || {
            let status = status.borrow();
            if status.leader == 0 || status.leader == status.id {
                return None;
            }
            status.members.get(&status.leader).and_then(|e| e.peer_id().ok())
        })
    };
    let (gossip, gossip_task) = crate::tx_gossip::start(
        chain.chain().clone(),
        chain.pool().clone(),
        p2p.clone(),
        leader,
        shutdown.clone(),
    );
    // A synced block must carry the seal of a member known now.
    let sealed_by_member: crate::sync::HeaderCheck = {
        let status = status.clone();
        // The term a synced block was proposed in is not known: any member's seal.
        Arc::new(move |header| seal::check(header, &status.borrow().members, None).map(|_| ()))
    };
    let (sync, sync_task) = crate::sync::start(
        chain.clone(),
        p2p.clone(),
        p2p.connected(),
        sealed_by_member,
        shutdown.clone(),
    );
    let mut member = Member {
        gossip,
        removed,
        raft,
        chain,
        sync,
        kv,
        p2p: p2p.clone(),
        key: setup.network.key,
        members,
        leaders: HashMap::new(),
        in_flight: None,
        building: None,
        applying: None,
        compacted: applied.saturating_sub(LOG_RETAINED),
        backlog: VecDeque::new(),
        retry_at: None,
        stepping_aside: None,
        status: status_tx,
        enode,
    };
    let block_time = setup.block_time;
    let task =
        tokio::spawn(
            async move { member.run(events, command_rx, block_time, &mut shutdown).await },
        );
    Ok(Started {
        handle: RaftHandle { status, p2p, commands },
        task,
        services: vec![
            ("block sync", Box::pin(sync_task)),
            ("transaction gossip", Box::pin(gossip_task)),
        ],
    })
}

/// A service beside the raft task, which runs until shutdown.
pub type Service = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// What [`start`] started.
pub struct Started {
    /// For the RPC layer.
    pub handle: RaftHandle,
    /// The raft task.
    pub task: tokio::task::JoinHandle<eyre::Result<()>>,
    /// The services beside it, by name, for the caller to supervise.
    pub services: Vec<(&'static str, Service)>,
}

/// The answer of a request to the chain that the raft task waits for without blocking.
type Pending<T> = tokio::task::JoinHandle<Result<T, ChainError>>;

/// A committed entry being imported (or committed, for the leader's own block).
struct Applying {
    entry: Committed,
    index: u64,
    task: Pending<ImportedBlock>,
}

/// Resolves when the entry in `slot` is applied (taking it out); never while the slot is empty.
async fn applied(
    slot: &mut Option<Applying>,
) -> (Committed, u64, Result<ImportedBlock, ChainError>) {
    match slot.as_mut() {
        Some(applying) => {
            let result = (&mut applying.task).await.unwrap_or(Err(ChainError::Stopped));
            let Applying { entry, index, .. } = slot.take().expect("checked above");
            (entry, index, result)
        }
        None => std::future::pending().await,
    }
}

/// Resolves when the task in `slot` ends (taking it out); never while the slot is empty.
async fn finished<T>(slot: &mut Option<Pending<T>>) -> Result<T, ChainError> {
    match slot.as_mut() {
        Some(task) => {
            let result = task.await;
            *slot = None;
            result.unwrap_or(Err(ChainError::Stopped))
        }
        None => std::future::pending().await,
    }
}

/// Raft's own state, and the requests to the chain it waits for.
struct Member {
    /// Raft ids removed from the cluster; they never come back.
    removed: Vec<u64>,
    raft: RaftNode,
    chain: ChainHandle,
    sync: SyncHandle,
    kv: Arc<dyn KvStore>,
    p2p: P2pHandle,
    key: NodeKey,
    members: BTreeMap<u64, Enode>,
    /// The leader seen in each term, to check seals against.
    leaders: HashMap<u64, u64>,
    /// The block this leader proposed last: its hash, when, and its execution.
    in_flight: Option<(B256, Instant, BuiltBlock)>,
    /// The block being built for this leader.
    building: Option<Pending<Option<BuiltBlock>>>,
    /// The committed entry being applied.
    applying: Option<Applying>,
    /// Peers' transaction gossip goes here.
    gossip: mpsc::Sender<crate::tx_gossip::Incoming>,
    /// The raft log holds nothing before this index.
    compacted: u64,
    status: watch::Sender<RaftStatus>,
    enode: Option<Enode>,
    /// Committed entries not applied yet, in log order.
    backlog: VecDeque<Committed>,
    /// Import halted: the next attempt waits until then.
    retry_at: Option<Instant>,
    /// When this leader last handed leadership over for want of private payloads; it does not
    /// try to mint again for a while.
    stepping_aside: Option<Instant>,
}

impl Member {
    async fn run(
        &mut self,
        mut events: mpsc::Receiver<P2pEvent>,
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
                built = finished(&mut self.building) => self.propose(built),
                applied = applied(&mut self.applying) => self.on_applied(applied)?,
                event = events.recv() => match event {
                    Some(event) => self.on_event(event),
                    None => return Err(eyre!("the p2p service stopped")),
                },
                Some(command) = commands.recv() => self.on_command(command),
                _ = shutdown.changed() => return Ok(()),
            }
            self.advance()?;
        }
    }

    /// Queues peers' transactions for the gossip task; a full queue drops them (see
    /// [`crate::tx_gossip::INCOMING_QUEUE`]).
    fn judge_later(&self, incoming: crate::tx_gossip::Incoming) {
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
            P2pEvent::Consensus { data, from } => {
                if let Err(e) = self.raft.step(&data) {
                    tracing::debug!(target: "raft", peer = %from, error = %e, "raft message refused");
                }
            }
            P2pEvent::Transactions { txs, from, id } => {
                self.judge_later(crate::tx_gossip::Incoming { txs, from, id: Some(id) });
            }
            P2pEvent::SentTransactions { txs, from } => {
                self.judge_later(crate::tx_gossip::Incoming { txs, from, id: None });
            }
            P2pEvent::BlockRequest { request, reply, .. } => {
                self.sync.serve(BlockRequest { request, reply });
            }
            // The connected set is the p2p service's (`P2pHandle::connected`).
            P2pEvent::PeerConnected(_)
            | P2pEvent::PeerDisconnected(_)
            | P2pEvent::PeerDenied(_) => {}
        }
    }

    /// The leader has a block built when transactions are pending, its previous proposal has
    /// been applied and nothing committed waits to be applied (a block built now would not
    /// extend the head those leave).
    fn mint(&mut self) {
        if let Some((_, since, _)) = &self.in_flight {
            if since.elapsed() < PROPOSAL_TIMEOUT {
                return;
            }
            self.in_flight = None;
        }
        if !self.raft.is_leader()
            || self.building.is_some()
            || self.applying.is_some()
            || !self.backlog.is_empty()
        {
            return;
        }
        if self.stepping_aside.is_some_and(|since| since.elapsed() < HALT_RETRY) {
            return;
        }
        // The one builder, as the dev minter uses it: same candidates, limits and pool rules.
        let chain = self.chain.clone();
        self.building = Some(tokio::spawn(async move { chain.build().await }));
    }

    /// Seals and proposes a block built for this leader (if it still leads).
    fn propose(&mut self, built: Result<Option<BuiltBlock>, ChainError>) {
        let mut built = match built {
            Ok(Some(built)) => built,
            Ok(None) => return,
            Err(ChainError::Mint(e @ (MintError::Ptm(_) | MintError::PayloadsUnavailable(_)))) => {
                return self.step_aside(&e.to_string())
            }
            Err(e) => return tracing::error!(target: "raft", error = %e, "building a block failed"),
        };
        if !self.raft.is_leader() {
            // Its transactions stay pooled for the next leader.
            return;
        }
        seal::seal(&mut built.block.header, self.raft.id(), &self.key);
        let hash = veil_primitives::istanbul::block_hash(&built.block.header);
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
                self.sync.catch_up();
            }
            for (to, message) in progress.messages {
                match self.members.get(&to).map(Enode::peer_id) {
                    Some(Ok(peer)) => self.p2p.send_consensus(peer, message),
                    _ => tracing::debug!(target: "raft", to, "no address for raft member"),
                }
            }
            self.backlog.extend(progress.committed);
        }
        self.apply_backlog()?;
        let (voters, learners) = self.raft.members();
        let leader = self.raft.leader_id();
        if leader != 0 && leader != self.status.borrow().leader {
            metrics::counter!("veil_raft_leader_changes_total").increment(1);
        }
        metrics::gauge!("veil_raft_term").set(self.raft.term() as f64);
        metrics::gauge!("veil_raft_is_leader").set(f64::from(u8::from(leader == self.raft.id())));
        self.status.send_replace(RaftStatus {
            id: self.raft.id(),
            role: self.raft.role(),
            leader: self.raft.leader_id(),
            term: self.raft.term(),
            members: self.members.clone(),
            voters,
            learners,
            peers: self.p2p.connected().borrow().clone(),
            enode: self.enode.clone(),
            recently_active: self.raft.recently_active(),
        });
        Ok(())
    }

    /// Applies committed entries in order. A block is imported (or, the leader's own,
    /// committed) by the chain handle while this task goes on ticking; the entries after it
    /// wait for its answer. One whose private payloads the TM cannot give waits, tried again
    /// every [`HALT_RETRY`]: nothing is applied as if this node were not a party.
    fn apply_backlog(&mut self) -> eyre::Result<()> {
        if self.applying.is_some() || self.retry_at.is_some_and(|at| Instant::now() < at) {
            return Ok(());
        }
        while let Some(committed) = self.backlog.pop_front() {
            match &committed {
                Committed::Entry { index, term, data } => {
                    let index = *index;
                    if let Some(task) = self.start_apply(index, *term, data)? {
                        self.applying = Some(Applying { entry: committed, index, task });
                        return Ok(());
                    }
                }
                Committed::Membership { index, change, context } => {
                    tracing::info!(target: "raft", index, ?change, "membership changed");
                    self.apply_membership(change, context)?;
                    self.record_applied(*index)?;
                }
            }
        }
        Ok(())
    }

    /// What the chain answered for the entry applied.
    fn on_applied(
        &mut self,
        (entry, index, result): (Committed, u64, Result<ImportedBlock, ChainError>),
    ) -> eyre::Result<()> {
        match result {
            Ok(imported) => {
                self.retry_at = None;
                tracing::info!(target: "raft", number = imported.header.number, hash = %imported.hash, txs = imported.transactions.len(), "block applied");
            }
            Err(ChainError::PayloadsUnavailable { .. }) => {
                // The chain handle says why (eth_syncing, /health); try again later.
                self.backlog.push_front(entry);
                self.retry_at = Some(Instant::now() + HALT_RETRY);
                return Ok(());
            }
            Err(ChainError::Stopped) => return Err(eyre!("the chain's executor stopped")),
            Err(e) => tracing::warn!(target: "raft", index, error = %e, "committed block refused"),
        }
        self.record_applied(index)
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

    /// Starts importing a committed block if it extends the head and its seal is a member's
    /// (the term's leader's, when known); the leader's own block is committed as built.
    /// `None`: the entry was skipped (and recorded applied).
    fn start_apply(
        &mut self,
        index: u64,
        term: u64,
        data: &[u8],
    ) -> eyre::Result<Option<Pending<ImportedBlock>>> {
        let block = match Block::decode(&mut &data[..]) {
            Ok(block) => block,
            Err(e) => {
                tracing::warn!(target: "raft", index, error = %e, "committed entry is not a block; skipped");
                return self.record_applied(index).map(|()| None);
            }
        };
        let hash = veil_primitives::istanbul::block_hash(&block.header);
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
            return self.record_applied(index).map(|()| None);
        }
        let (head_hash, head) = self.chain.chain().head();
        if block.header.parent_hash != head_hash {
            if number > head.number + 1 {
                self.sync.catch_up();
            }
            tracing::info!(target: "raft", number, %hash, "committed block does not extend the head; skipped");
            return self.record_applied(index).map(|()| None);
        }
        let chain = self.chain.clone();
        Ok(Some(match own {
            // The leader built it, with the payloads, and commits it as built.
            Some(built) => tokio::spawn(async move { chain.commit(built).await }),
            None => tokio::spawn(async move { chain.import(block).await }),
        }))
    }
}
