//! One validator's QBFT state machine, sans IO: it is told of new heights, messages, built and
//! checked blocks and the time, and answers [`Action`]s — messages to broadcast, a block to
//! build or check, a sealed block to commit, state to persist. It never waits and never
//! touches the network, the chain or the clock, so tests drive many validators in one thread
//! with a virtual clock.
//!
//! Per height: round 0 starts when the block period has passed (`HeightInfo::round0_at_ms`);
//! its proposer builds and sends a PROPOSAL; validators check the block and PREPARE; a quorum
//! of prepares makes a prepared certificate (the lock) and a COMMIT with the commit seal; a
//! quorum of commits seals the block. A round that times out moves to the next with a
//! ROUND-CHANGE carrying the certificate; F+1 round changes for later rounds pull a validator
//! forward; a quorum for a round lets its proposer propose, justified ([`super::justify`]).
//! Everything kept is bounded: one message per author and kind per round, round changes
//! for at most [`ROUNDS_AHEAD`] rounds ahead, [`FUTURE_LIMIT`] messages for later rounds or
//! heights.

mod round_change;
mod votes;

use super::{
    justify::View,
    message::{
        Commit, Message, Prepare, Proposal, ProposalPayload, RoundChange, RoundChangePayload,
        Signed,
    },
    rules,
};
use alloy_primitives::{Address, B256};
use secp256k1::SecretKey;
use std::collections::{BTreeMap, BTreeSet};
use veil_primitives::{address_of, istanbul::block_hash, Block};

/// Round changes are kept for rounds up to this far above the current one.
pub const ROUNDS_AHEAD: u32 = 10;
/// Messages kept for later rounds and heights (beyond it they are dropped).
pub const FUTURE_LIMIT: usize = 1000;
/// Messages for heights up to this far above the current one are kept.
pub const HEIGHTS_AHEAD: u64 = 10;

/// What a height needs to be decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeightInfo {
    /// The block number being decided.
    pub height: u64,
    /// Its validators, byte-sorted.
    pub validators: Vec<Address>,
    /// The parent's proposer (its coinbase; zero at genesis).
    pub last_proposer: Address,
    /// When round 0 may start: the parent's time plus the block period, in ms.
    pub round0_at_ms: u64,
    /// The quorum among the validators.
    pub quorum: usize,
    /// Round 0's timeout in ms.
    pub request_timeout_ms: u64,
    /// The cap on a round's timeout in ms (0: none).
    pub max_request_timeout_ms: u64,
    /// Sticky proposers (`policy: 1`).
    pub sticky: bool,
}

/// What the validator asks of its surroundings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send to every other validator (already handled here).
    Broadcast(Message),
    /// Build a block on the parent for this round and give it to [`Core::on_built`].
    Build {
        /// The height.
        height: u64,
        /// The round.
        round: u32,
    },
    /// Check this proposed block on the parent and answer [`Core::on_checked`].
    Check {
        /// The height.
        height: u64,
        /// The block's hash.
        digest: B256,
        /// The block.
        block: Box<Block>,
    },
    /// A block sealed by a quorum: import it; the next height starts with its
    /// [`Core::start_height`].
    Commit(Box<Block>),
    /// Write this before sending anything the same call answered ([`Core::restore`] reads
    /// it after a crash): the round and the prepared certificate.
    Persist(Vec<u8>),
    /// Messages for a later height arrived: blocks this node lacks may be fetched.
    Behind(u64),
}

/// A prepared certificate: the block a quorum prepared in a round, and their prepares.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Certificate {
    round: u32,
    digest: B256,
    block: Block,
    prepares: Vec<Signed<Prepare>>,
}

/// One round's messages.
#[derive(Debug, Default)]
struct RoundState {
    round: u32,
    /// When this round times out (or, for round 0 before it starts, when it starts).
    deadline_ms: u64,
    started: bool,
    /// The accepted proposal's block and digest.
    accepted: Option<(Block, B256)>,
    /// A proposal waiting for its check.
    checking: Option<(B256, Block)>,
    proposed: bool,
    building: bool,
    prepares: BTreeMap<Address, Signed<Prepare>>,
    commits: BTreeMap<Address, Signed<Commit>>,
    sent_commit: bool,
}

/// A validator's QBFT state.
#[derive(Debug)]
pub struct Core {
    key: SecretKey,
    me: Address,
    info: Option<HeightInfo>,
    round: RoundState,
    certificate: Option<Certificate>,
    round_changes: BTreeMap<u32, BTreeMap<Address, RoundChange>>,
    highest_round: BTreeMap<Address, u32>,
    future: Vec<Message>,
    committed: bool,
    checked: BTreeSet<B256>,
    restored: Option<(u64, u32, Option<Certificate>)>,
    behind_reported: u64,
}

impl Core {
    /// A validator signing with `key`.
    pub fn new(key: SecretKey) -> Self {
        Self {
            me: address_of(&key),
            key,
            info: None,
            round: RoundState::default(),
            certificate: None,
            round_changes: BTreeMap::new(),
            highest_round: BTreeMap::new(),
            future: Vec::new(),
            committed: false,
            checked: BTreeSet::new(),
            restored: None,
            behind_reported: 0,
        }
    }

    /// This validator's address.
    pub fn address(&self) -> Address {
        self.me
    }

    /// The state an [`Action::Persist`] wrote before a crash: the height it applies to
    /// resumes in the round after it, with its certificate.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), String> {
        let Message::RoundChange(rc) = Message::decode(super::message::code::ROUND_CHANGE, bytes)
            .map_err(|e| e.to_string())?
        else {
            return Err("not a persisted round state".into());
        };
        let p = &rc.signed.payload;
        let certificate = match (p.prepared, rc.prepared_block) {
            (Some((round, digest)), Some(block)) => {
                Some(Certificate { round, digest, block, prepares: rc.prepares })
            }
            _ => None,
        };
        self.restored = Some((p.sequence, p.round, certificate));
        Ok(())
    }

    /// The height being decided, its round, and the round's proposer.
    pub fn status(&self) -> Option<(u64, u32, Address)> {
        let info = self.info.as_ref()?;
        Some((info.height, self.round.round, self.proposer_of(self.round.round)?))
    }

    /// This validator's round change for its current round, when it is past round 0 of an
    /// undecided height: for a validator that connects (restarted, or back from a partition),
    /// which missed it and would otherwise wait a whole round timer for the next one.
    pub fn round_change_for_newcomer(&self) -> Option<Message> {
        (self.is_validator() && !self.committed && self.round.round > 0)
            .then(|| Message::RoundChange(Box::new(self.own_round_change())))
    }

    /// When [`Core::on_tick`] has something to do next.
    pub fn next_deadline_ms(&self) -> Option<u64> {
        (self.info.is_some() && !self.committed).then_some(self.round.deadline_ms)
    }

    fn proposer_of(&self, round: u32) -> Option<Address> {
        let info = self.info.as_ref()?;
        rules::proposer(&info.validators, info.last_proposer, round, info.sticky)
    }

    /// Whether this node is one of the height's validators. One that is not only follows:
    /// it checks proposals and gathers the validators' commits (so it commits the decided
    /// block as soon as they do), but it never prepares, commits, seals or asks for a round.
    fn is_validator(&self) -> bool {
        self.info.as_ref().is_some_and(|i| i.validators.binary_search(&self.me).is_ok())
    }

    fn view(&self) -> Option<View<'_>> {
        let info = self.info.as_ref()?;
        Some(View { height: info.height, validators: &info.validators, quorum: info.quorum })
    }

    fn timeout(&self, round: u32) -> u64 {
        self.info.as_ref().map_or(u64::MAX, |i| {
            rules::round_timeout_ms(i.request_timeout_ms, i.max_request_timeout_ms, round)
        })
    }

    /// Starts deciding `info.height` (after the parent was committed or imported).
    pub fn start_height(&mut self, info: HeightInfo, now_ms: u64) -> Vec<Action> {
        let height = info.height;
        let round0_at = info.round0_at_ms;
        self.info = Some(info);
        self.round = RoundState { deadline_ms: round0_at, ..Default::default() };
        self.certificate = None;
        self.round_changes.clear();
        self.highest_round.clear();
        self.committed = false;
        self.checked.clear();
        self.future.retain(|m| m.view().0 >= height);
        let mut actions = Vec::new();
        if let Some((h, round, certificate)) = self.restored.take() {
            if h == height {
                // Resume after the round we may have voted in, never in it again.
                self.certificate = certificate;
                self.enter_round(round.saturating_add(1), now_ms, &mut actions);
            }
        }
        let waiting = std::mem::take(&mut self.future);
        for message in waiting {
            actions.extend(self.on_message(message, now_ms));
        }
        actions.extend(self.on_tick(now_ms));
        actions
    }

    /// Fires what is due: round 0's start, or the current round's timeout.
    pub fn on_tick(&mut self, now_ms: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.info.is_none() || self.committed || now_ms < self.round.deadline_ms {
            return actions;
        }
        if self.round.started {
            let next = self.round.round.saturating_add(1);
            self.enter_round(next, now_ms, &mut actions);
        } else {
            self.start_round_zero(now_ms, &mut actions);
        }
        actions
    }

    fn start_round_zero(&mut self, now_ms: u64, actions: &mut Vec<Action>) {
        self.round.started = true;
        self.round.deadline_ms = now_ms.saturating_add(self.timeout(0));
        if self.proposer_of(0) == Some(self.me) && !self.round.building {
            self.round.building = true;
            let height = self.info.as_ref().map_or(0, |i| i.height);
            actions.push(Action::Build { height, round: 0 });
        }
    }

    /// Moves to `round`, sends its round change with the certificate, and proposes if a
    /// quorum already asked for it.
    fn enter_round(&mut self, round: u32, now_ms: u64, actions: &mut Vec<Action>) {
        if self.info.is_none() {
            return;
        }
        self.round = RoundState {
            round,
            started: true,
            deadline_ms: now_ms.saturating_add(self.timeout(round)),
            ..Default::default()
        };
        self.round_changes.retain(|r, _| *r >= round);
        if self.is_validator() {
            let own = self.own_round_change();
            let message = Message::RoundChange(Box::new(own.clone()));
            actions.push(Action::Persist(message.encode()));
            actions.push(Action::Broadcast(message));
            self.round_changes.entry(round).or_default().insert(self.me, own);
            self.highest_round.insert(self.me, round);
        }
        self.try_propose_justified(actions);
        let waiting = std::mem::take(&mut self.future);
        for message in waiting {
            actions.extend(self.on_message(message, now_ms));
        }
    }

    /// This validator's round change for its current round, with its certificate — also the
    /// state it keeps across a crash ([`Core::restore`] reads it back).
    fn own_round_change(&self) -> RoundChange {
        let height = self.info.as_ref().map_or(0, |i| i.height);
        let certificate = self.certificate.as_ref();
        let payload = RoundChangePayload {
            sequence: height,
            round: self.round.round,
            prepared: certificate.map(|c| (c.round, c.digest)),
        };
        RoundChange {
            signed: Signed::sign(payload, &self.key),
            prepared_block: certificate.map(|c| c.block.clone()),
            prepares: certificate.map(|c| c.prepares.clone()).unwrap_or_default(),
        }
    }

    /// The state to keep across a crash, to be written before what follows it is sent.
    fn persist(&self) -> Action {
        Action::Persist(Message::RoundChange(Box::new(self.own_round_change())).encode())
    }

    /// Takes one message from a peer (or from this validator, in tests).
    pub fn on_message(&mut self, message: Message, now_ms: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        let Some(height) = self.info.as_ref().map(|i| i.height) else { return actions };
        let (sequence, round) = message.view();
        if sequence < height || self.committed && sequence == height {
            return actions;
        }
        if sequence > height {
            if sequence <= height + HEIGHTS_AHEAD && self.future.len() < FUTURE_LIMIT {
                self.future.push(message);
            }
            if self.behind_reported < sequence {
                self.behind_reported = sequence;
                actions.push(Action::Behind(sequence));
            }
            return actions;
        }
        let current = self.round.round;
        match message {
            Message::RoundChange(rc) => self.on_round_change(*rc, now_ms, &mut actions),
            Message::Proposal(p) if round > current => {
                // A justified proposal for a later round brings this validator there.
                let justified = self.check_proposal(&p).is_ok();
                if justified {
                    self.enter_round(round, now_ms, &mut actions);
                    self.on_proposal(*p, now_ms, &mut actions);
                }
            }
            other if round > current => {
                if round <= current + ROUNDS_AHEAD && self.future.len() < FUTURE_LIMIT {
                    self.future.push(other);
                }
            }
            _ if round < current => {}
            Message::Proposal(p) => self.on_proposal(*p, now_ms, &mut actions),
            Message::Prepare(p) => self.on_prepare(p, &mut actions),
            Message::Commit(c) => self.on_commit(c, &mut actions),
        }
        actions
    }

    /// The author of a proposal for this height if it is the round's proposer and the
    /// proposal is justified.
    fn check_proposal(&self, p: &Proposal) -> Result<Address, String> {
        let view = self.view().ok_or("no height")?;
        let author = view.validator_of(&p.signed)?;
        let payload = &p.signed.payload;
        if Some(author) != self.proposer_of(payload.round) {
            return Err(format!("{author} is not the proposer of round {}", payload.round));
        }
        if payload.block.header.number != view.height {
            return Err("the proposed block is for another height".into());
        }
        if payload.round > 0 {
            view.check_justification(p, author)?;
        } else if !p.round_changes.is_empty() || !p.prepares.is_empty() {
            return Err("a round 0 proposal carries a justification".into());
        }
        Ok(author)
    }

    fn on_proposal(&mut self, p: Proposal, now_ms: u64, actions: &mut Vec<Action>) {
        if self.round.accepted.is_some() || self.round.checking.is_some() {
            return;
        }
        if let Err(why) = self.check_proposal(&p) {
            tracing::debug!(target: "qbft", %why, "proposal refused");
            return;
        }
        if !self.round.started {
            self.round.started = true;
            self.round.deadline_ms = now_ms.saturating_add(self.timeout(self.round.round));
        }
        let ProposalPayload { block, .. } = p.signed.payload;
        let digest = block_hash(&block.header);
        if self.checked.contains(&digest) {
            self.accept(block, digest, actions);
        } else {
            let height = self.info.as_ref().map_or(0, |i| i.height);
            self.round.checking = Some((digest, block.clone()));
            actions.push(Action::Check { height, digest, block: Box::new(block) });
        }
    }

    /// The answer to [`Action::Check`].
    pub fn on_checked(&mut self, height: u64, digest: B256, valid: bool) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.info.as_ref().map(|i| i.height) != Some(height) {
            return actions;
        }
        if valid {
            self.checked.insert(digest);
        }
        match self.round.checking.take() {
            Some((d, block)) if d == digest && valid => self.accept(block, digest, &mut actions),
            Some((d, _)) if d == digest => {
                tracing::warn!(target: "qbft", height, %digest, "proposed block is invalid");
            }
            other => self.round.checking = other,
        }
        actions
    }

    /// The answer to [`Action::Build`]: proposes `block` if this validator still proposes
    /// the round (re-proposing a prepared block a round change carried instead, if any).
    pub fn on_built(&mut self, height: u64, round: u32, block: Block) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.info.as_ref().map(|i| i.height) != Some(height)
            || self.round.round != round
            || self.round.proposed
            || self.committed
        {
            return actions;
        }
        self.round.building = false;
        let (block, round_changes, prepares) = if round == 0 {
            (block, Vec::new(), Vec::new())
        } else {
            let Some((prepared, rcs)) = self.justification() else { return actions };
            match prepared {
                Some(certificate) => (certificate.block, rcs, certificate.prepares),
                None => (block, rcs, Vec::new()),
            }
        };
        self.propose(block, round_changes, prepares, &mut actions);
        actions
    }

    fn propose(
        &mut self,
        block: Block,
        round_changes: Vec<Signed<RoundChangePayload>>,
        prepares: Vec<Signed<Prepare>>,
        actions: &mut Vec<Action>,
    ) {
        let Some(height) = self.info.as_ref().map(|i| i.height) else { return };
        self.round.proposed = true;
        let payload = ProposalPayload { sequence: height, round: self.round.round, block };
        let proposal =
            Proposal { signed: Signed::sign(payload, &self.key), round_changes, prepares };
        actions.push(Action::Broadcast(Message::Proposal(Box::new(proposal.clone()))));
        let digest = block_hash(&proposal.signed.payload.block.header);
        // Its own block (built here, or prepared by a quorum) needs no check.
        self.checked.insert(digest);
        self.accept(proposal.signed.payload.block, digest, actions);
    }
}
