//! [`RaftNode`]: one member of the cluster, sans IO. The caller ticks it on a timer, steps it
//! with messages from peers, proposes blocks and membership changes, and after each
//! [`RaftNode::advance`] sends the messages and applies the committed entries it returns.

use crate::{storage::RaftStorage, ConsensusError};
use protobuf::Message as _;
use raft::{
    prelude::{ConfChange, ConfChangeType, EntryType, Message},
    Config, RawNode, StateRole,
};
use std::sync::Arc;
use veil_storage::KvStore;

/// Raft ticks per election timeout (GoQuorum: 10 ticks of 100 ms).
pub const ELECTION_TICKS: usize = 10;
/// Raft ticks per heartbeat.
pub const HEARTBEAT_TICKS: usize = 1;

/// A membership change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MembershipChange {
    /// A voter joined.
    AddVoter(u64),
    /// A learner (non-voting) joined.
    AddLearner(u64),
    /// A member left.
    Remove(u64),
}

/// What a committed log entry holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Committed {
    /// An application entry (a block), in log order.
    Entry {
        /// Its raft index.
        index: u64,
        /// The term it was proposed in (its proposer led that term).
        term: u64,
        /// The bytes proposed.
        data: Vec<u8>,
    },
    /// A membership change, already applied to raft; `context` is what the proposer attached
    /// (e.g. the new member's enode).
    Membership {
        /// Its raft index.
        index: u64,
        /// The change.
        change: MembershipChange,
        /// The proposer's context bytes.
        context: Vec<u8>,
    },
}

/// What one [`RaftNode::advance`] produced.
#[derive(Debug, Default)]
pub struct Progress {
    /// Messages to send: (raft id of the recipient, encoded message).
    pub messages: Vec<(u64, Vec<u8>)>,
    /// Entries committed since the last advance, to apply in order.
    pub committed: Vec<Committed>,
    /// The index of a snapshot received from the leader: the application state must be
    /// brought up to it from peers (block sync).
    pub snapshot: Option<u64>,
}

/// One raft member.
pub struct RaftNode {
    raw: RawNode<RaftStorage>,
    storage: RaftStorage,
}

impl std::fmt::Debug for RaftNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftNode").field("id", &self.raw.raft.id).finish_non_exhaustive()
    }
}

impl RaftNode {
    /// Opens member `id` over `kv`. A new cluster's first membership is `voters`; a node joining
    /// an existing cluster passes none. `applied` is the last raft index the application has
    /// applied (entries after it are delivered again).
    pub fn open(
        kv: Arc<dyn KvStore>,
        id: u64,
        voters: &[u64],
        applied: u64,
    ) -> Result<Self, ConsensusError> {
        let storage = RaftStorage::open(kv, voters)?;
        let config = Config {
            id,
            election_tick: ELECTION_TICKS,
            heartbeat_tick: HEARTBEAT_TICKS,
            applied,
            // Well below the p2p layer's message limit (64 MiB).
            max_size_per_msg: 16 << 20,
            max_inflight_msgs: 256,
            check_quorum: true,
            pre_vote: true,
            ..Config::default()
        };
        config.validate().map_err(ConsensusError::raft)?;
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let raw = RawNode::new(&config, storage.clone(), &logger).map_err(ConsensusError::raft)?;
        Ok(Self { raw, storage })
    }

    /// This member's id.
    pub fn id(&self) -> u64 {
        self.raw.raft.id
    }

    /// Advances the logical clock by one tick.
    pub fn tick(&mut self) {
        self.raw.tick();
    }

    /// Takes a message from a peer.
    pub fn step(&mut self, bytes: &[u8]) -> Result<(), ConsensusError> {
        let message = Message::parse_from_bytes(bytes)
            .map_err(|e| ConsensusError::Corrupt(format!("raft message: {e}")))?;
        self.raw.step(message).map_err(ConsensusError::raft)
    }

    /// Proposes an application entry. Only the leader mints: on a follower this is refused
    /// (raft-rs would forward it to the leader).
    pub fn propose(&mut self, data: Vec<u8>) -> Result<(), ConsensusError> {
        if !self.is_leader() {
            return Err(ConsensusError::NotLeader(self.leader_id()));
        }
        self.raw.propose(vec![], data).map_err(ConsensusError::raft)
    }

    /// Proposes a membership change with `context` for the appliers.
    pub fn propose_membership(
        &mut self,
        change: &MembershipChange,
        context: Vec<u8>,
    ) -> Result<(), ConsensusError> {
        let mut cc = ConfChange::default();
        let (kind, id) = match change {
            MembershipChange::AddVoter(id) => (ConfChangeType::AddNode, *id),
            MembershipChange::AddLearner(id) => (ConfChangeType::AddLearnerNode, *id),
            MembershipChange::Remove(id) => (ConfChangeType::RemoveNode, *id),
        };
        cc.set_change_type(kind);
        cc.node_id = id;
        self.raw.propose_conf_change(context, cc).map_err(ConsensusError::raft)
    }

    /// Whether this member leads.
    pub fn is_leader(&self) -> bool {
        self.raw.raft.state == StateRole::Leader
    }

    /// The role: "minter" for the leader, "verifier" for followers, "learner" for learners,
    /// as GoQuorum's `raft_role` names them.
    pub fn role(&self) -> &'static str {
        if self.is_leader() {
            "minter"
        } else if self.storage.conf_state().learners.contains(&self.id()) {
            "learner"
        } else {
            "verifier"
        }
    }

    /// Hands leadership to voter `to` (a leader that cannot mint steps aside); raft sends it
    /// a timeout-now once it is up to date.
    pub fn transfer_leader(&mut self, to: u64) {
        self.raw.transfer_leader(to);
    }

    /// The leader's id (0: none known).
    pub fn leader_id(&self) -> u64 {
        self.raw.raft.leader_id
    }

    /// The membership (and raft's) last applied index.
    pub fn applied(&self) -> u64 {
        self.raw.raft.raft_log.applied
    }

    /// On the leader, the other members that answered within the last election timeout
    /// (raft's `recent_active`, which check-quorum resets each timeout); empty elsewhere.
    pub fn recently_active(&self) -> Vec<u64> {
        if !self.is_leader() {
            return Vec::new();
        }
        let own = self.id();
        let mut active: Vec<u64> = self
            .raw
            .raft
            .prs()
            .iter()
            .filter(|(id, progress)| **id != own && progress.recent_active)
            .map(|(id, _)| *id)
            .collect();
        active.sort_unstable();
        active
    }

    /// The current term.
    pub fn term(&self) -> u64 {
        self.raw.raft.term
    }

    /// Voters and learners, each sorted.
    pub fn members(&self) -> (Vec<u64>, Vec<u64>) {
        let cs = self.storage.conf_state();
        let (mut voters, mut learners) = (cs.voters, cs.learners);
        voters.sort_unstable();
        learners.sort_unstable();
        (voters, learners)
    }

    /// Compacts the log up to `applied` (an index the application has applied).
    pub fn compact(&mut self, applied: u64) -> Result<(), ConsensusError> {
        self.storage.compact(applied)
    }

    /// Persists what raft produced and hands back the messages to send and the entries to
    /// apply; `None` when there is nothing to do.
    pub fn advance(&mut self) -> Result<Option<Progress>, ConsensusError> {
        if !self.raw.has_ready() {
            return Ok(None);
        }
        let mut progress = Progress::default();
        let mut ready = self.raw.ready();
        encode_messages(ready.take_messages(), &mut progress);
        if !ready.snapshot().is_empty() {
            self.storage.apply_snapshot(ready.snapshot())?;
            progress.snapshot = Some(ready.snapshot().get_metadata().index);
        }
        let committed = ready.take_committed_entries();
        self.apply(committed, &mut progress)?;
        self.storage.append(ready.entries(), ready.hs())?;
        encode_messages(ready.take_persisted_messages(), &mut progress);
        let mut light = self.raw.advance(ready);
        if let Some(commit) = light.commit_index() {
            self.storage.set_commit(commit)?;
        }
        encode_messages(light.take_messages(), &mut progress);
        let committed = light.take_committed_entries();
        self.apply(committed, &mut progress)?;
        self.raw.advance_apply();
        Ok(Some(progress))
    }

    fn apply(
        &mut self,
        entries: Vec<raft::prelude::Entry>,
        progress: &mut Progress,
    ) -> Result<(), ConsensusError> {
        for entry in entries {
            match entry.get_entry_type() {
                EntryType::EntryNormal if entry.data.is_empty() => {} // a new leader's empty entry
                EntryType::EntryNormal => progress.committed.push(Committed::Entry {
                    index: entry.index,
                    term: entry.term,
                    data: entry.data.to_vec(),
                }),
                EntryType::EntryConfChange => {
                    let cc = ConfChange::parse_from_bytes(&entry.data)
                        .map_err(|e| ConsensusError::Corrupt(format!("conf change: {e}")))?;
                    let conf_state =
                        self.raw.apply_conf_change(&cc).map_err(ConsensusError::raft)?;
                    self.storage.set_conf_state(conf_state)?;
                    let change = match cc.get_change_type() {
                        ConfChangeType::AddNode => MembershipChange::AddVoter(cc.node_id),
                        ConfChangeType::AddLearnerNode => MembershipChange::AddLearner(cc.node_id),
                        ConfChangeType::RemoveNode => MembershipChange::Remove(cc.node_id),
                    };
                    progress.committed.push(Committed::Membership {
                        index: entry.index,
                        change,
                        context: entry.context.to_vec(),
                    });
                }
                EntryType::EntryConfChangeV2 => {
                    return Err(ConsensusError::Corrupt(
                        "joint consensus changes are not used".into(),
                    ))
                }
            }
        }
        Ok(())
    }
}

fn encode_messages(messages: Vec<Message>, progress: &mut Progress) {
    progress
        .messages
        .extend(messages.into_iter().map(|m| (m.to, m.write_to_bytes().unwrap_or_default())));
}
