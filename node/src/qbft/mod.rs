//! The QBFT engine: one validator's [`Core`] driven by the wall clock, the p2p service's
//! consensus channel and the chain handle (`docs/design/qbft.md`).
//!
//! One task owns the core. It never executes a block and never waits on the TM: building,
//! checking and committing are spawned requests to the chain handle whose answers come back
//! on a channel; messages, committed blocks (its own, or synced) and the round timer arrive
//! through one `select!`. Each message travels as its code byte and GoQuorum's RLP, straight
//! to every connected peer. The core's crash state is written to the chain's meta table
//! before whatever it precedes is sent. Block sync runs beside it and checks each synced
//! block's committed seals against the validators of its parent; transaction gossip
//! announces pending transactions again to the next proposer.

mod rpc_api;
pub mod validators;

pub use rpc_api::{Proposals, QbftRpc};

use crate::{sync::SyncHandle, tx_gossip};
use alloy_primitives::{Address, B256};
use eyre::eyre;
use parking_lot::Mutex;
use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tokio::sync::{mpsc, watch};
use validators::Validators;
use veil_chain::{BuiltBlock, ChainHandle, HeaderTemplate};
use veil_config::QbftConfig;
use veil_consensus::qbft::{Action, Core, HeightInfo, Message};
use veil_p2p::{P2pEvent, P2pHandle, PeerId};
use veil_primitives::{
    istanbul::{block_hash, QbftExtra, ISTANBUL_DIGEST},
    Block,
};
use veil_storage::{ChainStore, KvStore, WriteBatch};

/// Chain meta key of the core's crash state (its height, round and prepared certificate).
const ROUND_STATE_KEY: &str = "qbft_round_state";
/// Answers from the chain handle waiting for the engine: a handful at most (one build or
/// check per round, one commit per height), so a small bound never fills.
const ANSWER_QUEUE: usize = 64;

/// How to run a validator.
#[derive(Clone, Debug)]
pub struct QbftSetup {
    /// The node key (the validator's signing key too), the port and the node lists.
    pub network: crate::network::NetworkSetup,
    /// The genesis' QBFT configuration.
    pub config: QbftConfig,
    /// `--istanbul.blockperiod` seconds and `--istanbul.requesttimeout` ms, for what the
    /// genesis leaves to flags.
    pub flags: (u64, u64),
}

/// What RPC sees of the engine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QbftStatus {
    /// This validator's address.
    pub address: Address,
    /// The height being decided, its round and the round's proposer.
    pub view: Option<(u64, u32, Address)>,
}

/// A running engine.
pub struct Started {
    /// The engine's status.
    pub status: watch::Receiver<QbftStatus>,
    /// What RPC reaches of it.
    pub rpc: QbftRpc,
    /// The p2p service.
    pub p2p: P2pHandle,
    /// The engine task.
    pub task: tokio::task::JoinHandle<eyre::Result<()>>,
    /// Services beside it (sync, gossip), for the caller to supervise.
    pub services: Vec<(&'static str, crate::raft::Service)>,
}

/// Starts sync, transaction gossip and the engine task on a running p2p service (libp2p's or
/// a test's in-memory network).
pub fn start_on(
    setup: QbftSetup,
    (p2p, events): (P2pHandle, mpsc::Receiver<P2pEvent>),
    chain: ChainHandle,
    kv: Arc<dyn KvStore>,
    shutdown: watch::Receiver<bool>,
) -> eyre::Result<Started> {
    let secret = setup.network.key.secret_key();
    let mut core = Core::new(secret);
    if let Some(bytes) = chain.chain().store().meta(ROUND_STATE_KEY)? {
        core.restore(&bytes).map_err(|e| eyre!("the persisted QBFT round state: {e}"))?;
    }
    let validators = Arc::new(Mutex::new(Validators::new(
        chain.chain().clone(),
        kv.clone(),
        setup.config.clone(),
        setup.flags,
    )?));
    let (status_tx, status) = watch::channel(QbftStatus { address: core.address(), view: None });
    // Peers are known by node id; validators by address: the static nodes map one to the other.
    let peers_by_address: HashMap<Address, PeerId> = setup
        .network
        .static_nodes
        .iter()
        .filter_map(|e| Some((e.address(), e.peer_id().ok()?)))
        .collect();
    let next_proposer: tx_gossip::BuilderPeer = {
        let status = status.clone();
        let me = core.address();
        let peers = peers_by_address.clone();
        Box::new(move || {
            let (_, _, proposer) = status.borrow().view?;
            (proposer != me).then(|| peers.get(&proposer).copied()).flatten()
        })
    };
    let (gossip, gossip_task) = tx_gossip::start(
        chain.chain().clone(),
        chain.pool().clone(),
        p2p.clone(),
        next_proposer,
        shutdown.clone(),
    );
    let sealed_by_validators: crate::sync::HeaderCheck = {
        let validators = validators.clone();
        Arc::new(move |header| validators.lock().check_sealed(header))
    };
    let (sync, sync_task) = crate::sync::start(
        chain.clone(),
        p2p.clone(),
        p2p.connected(),
        sealed_by_validators,
        shutdown.clone(),
    );
    let (answers_tx, answers) = mpsc::channel(ANSWER_QUEUE);
    let proposals = Proposals::default();
    let own_enode = setup
        .network
        .static_nodes
        .iter()
        .find(|e| e.public == setup.network.key.public())
        .cloned()
        .unwrap_or_else(|| veil_p2p::Enode {
            public: setup.network.key.public(),
            host: "127.0.0.1".into(),
            port: setup.network.port,
            raft_port: None,
        });
    let rpc = QbftRpc {
        status: status.clone(),
        validators: validators.clone(),
        proposals: proposals.clone(),
        p2p: p2p.clone(),
        enode: own_enode,
    };
    let engine = Engine {
        proposals,
        core,
        chain,
        kv,
        p2p: p2p.clone(),
        sync,
        gossip,
        validators,
        status: status_tx,
        candidates: HashMap::new(),
        answers_tx,
    };
    let task = tokio::spawn(engine.run(events, answers, shutdown));
    Ok(Started {
        status,
        rpc,
        p2p,
        task,
        services: vec![
            ("block sync", Box::pin(sync_task)),
            ("transaction gossip", Box::pin(gossip_task)),
        ],
    })
}

/// A chain handle's answer to a spawned request.
enum Answer {
    Built { height: u64, round: u32, built: Result<BuiltBlock, String> },
    Checked { height: u64, digest: B256, checked: Result<BuiltBlock, String> },
    Committed { number: u64, result: Result<(), String> },
}

struct Engine {
    proposals: Proposals,
    core: Core,
    chain: ChainHandle,
    kv: Arc<dyn KvStore>,
    p2p: P2pHandle,
    sync: SyncHandle,
    gossip: mpsc::Sender<tx_gossip::Incoming>,
    validators: Arc<Mutex<Validators>>,
    status: watch::Sender<QbftStatus>,
    /// Blocks built or checked at this height, by hash: a decided one commits without a
    /// second execution.
    candidates: HashMap<B256, BuiltBlock>,
    answers_tx: mpsc::Sender<Answer>,
}

/// A message as it travels: its code byte, then GoQuorum's RLP.
fn wire(message: &Message) -> Vec<u8> {
    let mut data = vec![message.code()];
    data.extend(message.encode());
    data
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Engine {
    async fn run(
        mut self,
        mut events: mpsc::Receiver<P2pEvent>,
        mut answers: mpsc::Receiver<Answer>,
        mut shutdown: watch::Receiver<bool>,
    ) -> eyre::Result<()> {
        let mut blocks = self.chain.subscribe_blocks();
        self.start_height()?;
        loop {
            let deadline = self.core.next_deadline_ms().unwrap_or(u64::MAX);
            let wait = Duration::from_millis(deadline.saturating_sub(now_ms()).min(1_000));
            tokio::select! {
                _ = shutdown.changed() => return Ok(()),
                event = events.recv() => match event {
                    Some(event) => self.on_event(event),
                    None => return Err(eyre!("the p2p service stopped")),
                },
                block = blocks.recv() => match block {
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        self.start_height()?;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        return Err(eyre!("the chain stopped"));
                    }
                },
                Some(answer) = answers.recv() => self.on_answer(answer),
                _ = tokio::time::sleep(wait) => {
                    let actions = self.core.on_tick(now_ms());
                    self.act(actions);
                }
            }
            self.publish_status();
        }
    }

    fn publish_status(&self) {
        let view = self.core.status();
        self.status.send_if_modified(|s| {
            let changed = s.view != view;
            if let (true, Some((height, round, _))) = (changed, view) {
                metrics::gauge!("veil_qbft_height").set(height as f64);
                metrics::gauge!("veil_qbft_round").set(f64::from(round));
                if s.view.is_some_and(|(h, r, _)| h == height && r < round) {
                    metrics::counter!("veil_qbft_round_changes_total").increment(1);
                }
            }
            s.view = view;
            changed
        });
    }

    /// Starts deciding the block after the head (at start, and after every commit).
    fn start_height(&mut self) -> eyre::Result<()> {
        let (_, head) = self.chain.chain().head();
        let height = head.number + 1;
        if self.core.status().is_some_and(|(h, _, _)| h == height) {
            return Ok(());
        }
        let (validators, params) = {
            let mut v = self.validators.lock();
            (v.after(head.number)?.validators, v.params(height))
        };
        self.candidates.clear();
        let info = HeightInfo {
            height,
            quorum: params.quorum(validators.len()),
            validators,
            last_proposer: if head.number == 0 { Address::ZERO } else { head.beneficiary },
            round0_at_ms: head
                .timestamp
                .saturating_add(params.block_period_seconds)
                .saturating_mul(1000),
            request_timeout_ms: params.request_timeout_ms,
            max_request_timeout_ms: params.max_request_timeout_seconds.saturating_mul(1000),
            sticky: params.policy == veil_config::ProposerPolicy::Sticky,
        };
        let actions = self.core.start_height(info, now_ms());
        self.act(actions);
        Ok(())
    }

    fn on_event(&mut self, event: P2pEvent) {
        match event {
            P2pEvent::Consensus { from, data } => {
                let Some((&code, payload)) = data.split_first() else { return };
                match Message::decode(code, payload) {
                    Ok(message) => {
                        let actions = self.core.on_message(message, now_ms());
                        self.act(actions);
                    }
                    Err(e) => tracing::debug!(target: "qbft", %from, error = %e, "message refused"),
                }
            }
            P2pEvent::Transactions { txs, from, id } => {
                self.judge_later(tx_gossip::Incoming { txs, from, id: Some(id) });
            }
            P2pEvent::SentTransactions { txs, from } => {
                self.judge_later(tx_gossip::Incoming { txs, from, id: None });
            }
            P2pEvent::BlockRequest { request, reply, .. } => {
                self.sync.serve(crate::sync::BlockRequest { request, reply });
            }
            P2pEvent::PeerConnected(peer) => {
                self.sync.catch_up();
                // A validator back from a restart or a partition learns where this one is.
                if let Some(message) = self.core.round_change_for_newcomer() {
                    self.p2p.send_consensus(peer, wire(&message));
                }
            }
            P2pEvent::PeerDisconnected(_) | P2pEvent::PeerDenied(_) => {}
        }
    }

    fn judge_later(&self, incoming: tx_gossip::Incoming) {
        if let Err(mpsc::error::TrySendError::Full(dropped)) = self.gossip.try_send(incoming) {
            tracing::debug!(target: "qbft", peer = %dropped.from, "gossip queue full: message dropped (its origin announces again)");
        }
    }

    fn on_answer(&mut self, answer: Answer) {
        let actions = match answer {
            Answer::Built { height, round, built: Ok(built) } => {
                let block = built.block.clone();
                self.candidates.insert(block_hash(&block.header), built);
                self.core.on_built(height, round, block)
            }
            Answer::Built { height, round, built: Err(why) } => {
                tracing::warn!(target: "qbft", height, round, %why, "could not build a block; the round will time out");
                Vec::new()
            }
            Answer::Checked { height, digest, checked } => {
                let valid = match checked {
                    Ok(built) => {
                        self.candidates.insert(digest, built);
                        true
                    }
                    Err(why) => {
                        tracing::warn!(target: "qbft", height, %digest, %why, "proposed block refused");
                        false
                    }
                };
                self.core.on_checked(height, digest, valid)
            }
            Answer::Committed { number, result } => {
                if let Err(why) = result {
                    tracing::warn!(target: "qbft", number, %why, "decided block not committed; fetching it from peers");
                    self.sync.catch_up();
                }
                Vec::new()
            }
        };
        self.act(actions);
    }

    fn act(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Persist(bytes) => {
                    let mut batch = WriteBatch::new();
                    ChainStore::put_meta(&mut batch, ROUND_STATE_KEY, bytes);
                    if let Err(e) = self.kv.write(batch) {
                        // Sending votes this node could not remember would risk voting twice.
                        tracing::error!(target: "qbft", error = %e, "round state not persisted; not voting");
                        return;
                    }
                }
                Action::Broadcast(message) => self.broadcast(&message),
                Action::Build { height, round } => self.build(height, round),
                Action::Check { height, digest, block } => self.check(height, digest, *block),
                Action::Commit(block) => self.commit(*block),
                Action::Behind(_) => self.sync.catch_up(),
            }
        }
    }

    fn broadcast(&self, message: &Message) {
        let data = wire(message);
        let peers = self.p2p.connected().borrow().clone();
        for peer in peers {
            self.p2p.send_consensus(peer, data.clone());
        }
    }

    /// Builds this proposer's block for `height` and `round` on the chain's executor. With an
    /// empty-block period above the block period (GoQuorum's `emptyblockperiodseconds`), a
    /// round-0 proposer with nothing pending waits for a transaction or for the period, and an
    /// empty block then carries the later time.
    fn build(&self, height: u64, round: u32) {
        let (_, head) = self.chain.chain().head();
        let (mut template, number, empty_until) = {
            let mut v = self.validators.lock();
            let Ok(snapshot) = v.after(head.number) else { return };
            let params = v.params(height);
            // Contract mode: no validators and no vote in the header (Besu's rule).
            let contract = v.contract_mode(height);
            let vote = (!contract)
                .then(|| snapshot.pick_vote(&self.proposals.lock(), self.core.address(), height))
                .flatten();
            let extra = QbftExtra {
                vanity: vec![0; 32].into(),
                validators: if contract { Vec::new() } else { snapshot.validators.clone() },
                vote,
                ..Default::default()
            };
            let earliest = head.timestamp.saturating_add(params.block_period_seconds);
            let template = HeaderTemplate {
                beneficiary: self.core.address(),
                timestamp: earliest.max(now_ms() / 1000),
                mix_hash: ISTANBUL_DIGEST,
                extra_data: extra.encode(),
            };
            let empty_until = (round == 0
                && params.empty_block_period_seconds > params.block_period_seconds)
                .then(|| head.timestamp.saturating_add(params.empty_block_period_seconds));
            (template, head.number + 1, empty_until)
        };
        if number != height {
            return;
        }
        let chain = self.chain.clone();
        let answers = self.answers_tx.clone();
        tokio::spawn(async move {
            if let Some(until) = empty_until {
                let pending = || chain.pool().status().pending > 0;
                while !pending() && now_ms() / 1000 < until {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                if !pending() {
                    template.timestamp = template.timestamp.max(until);
                }
            }
            let built = chain.build_with(template).await.map_err(|e| e.to_string());
            let _ = answers.send(Answer::Built { height, round, built }).await;
        });
    }

    /// Checks a proposal: the header rules of QBFT here, then execution on the chain.
    fn check(&self, height: u64, digest: B256, block: Block) {
        let header_ok = self.check_header(&block);
        let chain = self.chain.clone();
        let answers = self.answers_tx.clone();
        tokio::spawn(async move {
            let checked = match header_ok {
                Ok(()) => chain.check(block).await.map_err(|e| e.to_string()),
                Err(why) => Err(why),
            };
            let _ = answers.send(Answer::Checked { height, digest, checked }).await;
        });
    }

    /// A proposal's header: the Istanbul digest, difficulty 1, no uncles, the validators after
    /// its parent in its extra (round 0, no seals), a proposer among them, a time at least a
    /// block period after its parent and not in the future.
    fn check_header(&self, block: &Block) -> Result<(), String> {
        let header = &block.header;
        if header.mix_hash != ISTANBUL_DIGEST {
            return Err("the mix hash is not the Istanbul digest".into());
        }
        if header.difficulty != alloy_primitives::U256::from(1) || !block.body.ommers.is_empty() {
            return Err("difficulty must be 1, with no uncles".into());
        }
        let extra = QbftExtra::decode(&header.extra_data).map_err(|e| e.to_string())?;
        let (_, parent) = self.chain.chain().head();
        let mut v = self.validators.lock();
        let snapshot = v.after(parent.number).map_err(|e| e.to_string())?;
        let contract = v.contract_mode(header.number);
        let expected = if contract { &[][..] } else { &snapshot.validators[..] };
        if extra.validators != expected {
            return Err("the extra's validators are not the validators after the parent".into());
        }
        if contract && extra.vote.is_some() {
            return Err("a vote in a block of validator-contract mode".into());
        }
        if !extra.committed_seals.is_empty() {
            return Err("a proposal carries committed seals".into());
        }
        if let Some(vote) = extra.vote {
            if !snapshot.is_meaningful(&vote) {
                return Err("the vote would not change the validators".into());
            }
        }
        if !snapshot.contains(&header.beneficiary) {
            return Err("the coinbase is not a validator".into());
        }
        let period = v.params(header.number).block_period_seconds;
        if header.timestamp < parent.timestamp.saturating_add(period) {
            return Err("less than a block period after its parent".into());
        }
        if header.timestamp > now_ms() / 1000 + 1 {
            return Err("timestamp in the future".into());
        }
        Ok(())
    }

    /// Commits a sealed block: the candidate this node built or checked with the sealed extra
    /// data, without executing it again; otherwise imports it.
    fn commit(&mut self, sealed: Block) {
        let number = sealed.header.number;
        let digest = block_hash(&sealed.header);
        let chain = self.chain.clone();
        let answers = self.answers_tx.clone();
        let candidate = self.candidates.remove(&digest);
        tokio::spawn(async move {
            let result = match candidate {
                Some(mut built) => {
                    built.block.header.extra_data = sealed.header.extra_data;
                    chain.commit(built).await.map(|_| ())
                }
                None => chain.import(sealed).await.map(|_| ()),
            };
            let result = result.map_err(|e| e.to_string());
            if result.is_ok() {
                tracing::info!(target: "qbft", number, hash = %digest, "block committed");
            }
            let _ = answers.send(Answer::Committed { number, result }).await;
        });
    }
}
