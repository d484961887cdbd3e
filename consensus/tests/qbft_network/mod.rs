//! A deterministic network of QBFT cores for tests: N validators in one thread on a virtual
//! clock, a seeded scheduler that delays, drops, reorders and partitions messages, a fake
//! chain per validator (blocks are checked for their parent and sealed blocks for a quorum of
//! valid seals, as the node's import does), sync from any peer's chain, crashes that keep
//! only what the core persisted, and Byzantine validators whose outgoing messages lie.

use alloy_consensus::Header;
use alloy_primitives::{Address, Bytes, B256, U256};
use rand::{rngs::StdRng, Rng, SeedableRng};
use secp256k1::SecretKey;
use std::collections::{BTreeMap, BTreeSet};
use veil_consensus::qbft::{
    check_committed_seals,
    message::{Commit, Prepare, ProposalPayload, Signed},
    rules, Action, Core, HeightInfo, Message, Proposal,
};
use veil_primitives::{
    address_of,
    istanbul::{block_hash, CommittedSeal, QbftExtra, ISTANBUL_DIGEST},
    Block,
};

/// Block period and round-0 timeout of the simulated chain, in virtual ms.
pub(crate) const PERIOD_MS: u64 = 1_000;
pub(crate) const TIMEOUT_MS: u64 = 2_000;
/// The cap on a round's timeout (GoQuorum's `maxRequestTimeoutSeconds`).
pub(crate) const MAX_TIMEOUT_MS: u64 = 10_000;

/// How a Byzantine validator lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lie {
    /// Proposes two different blocks for one height and round, one to each half.
    Equivocate,
    /// Sends each half prepares and commits for a different block.
    ConflictingVotes,
    /// Proposes blocks that are invalid (wrong parent) and sends bad commit seals.
    InvalidBlocks,
    /// Sends again every old message it has seen, to everyone.
    Replay,
    /// Sends nothing at all.
    Silent,
}

pub(crate) struct Node {
    pub(crate) key: SecretKey,
    pub(crate) core: Core,
    pub(crate) chain: Vec<Block>,
    pub(crate) lie: Option<Lie>,
    pub(crate) persisted: Option<Vec<u8>>,
    pub(crate) down_until: Option<u64>,
}

impl Node {
    pub(crate) fn head(&self) -> &Block {
        self.chain.last().expect("genesis")
    }
}

/// A test's message filter: (from, to, message) → drop it.
pub(crate) type DropIf = Box<dyn Fn(usize, usize, &Message) -> bool>;

struct Envelope {
    at: u64,
    order: u64,
    to: usize,
    message: Message,
}

pub(crate) struct Network {
    pub(crate) now: u64,
    pub(crate) rng: StdRng,
    pub(crate) nodes: Vec<Node>,
    pub(crate) validators: Vec<Address>,
    pub(crate) quorum: usize,
    queue: Vec<Envelope>,
    order: u64,
    /// Chance in [0, 1) that a message is lost.
    pub(crate) loss: f64,
    /// Largest extra delay of a message (uniform from 1 ms), which also reorders them.
    pub(crate) max_delay_ms: u64,
    /// Cut links (both directions are listed).
    pub(crate) cut: BTreeSet<(usize, usize)>,
    /// Drops the messages it answers `true` for: (from, to, message).
    pub(crate) drop_if: Option<DropIf>,
    /// Messages a replaying liar has seen.
    seen: Vec<Message>,
    /// Every honest commit: (height) → block hash, checked on every commit.
    pub(crate) decided: BTreeMap<u64, B256>,
    pub(crate) messages_sent: u64,
    /// Messages sent per node.
    pub(crate) sent_by: BTreeMap<usize, u64>,
    /// A key outside the validator set that sends messages too.
    outsider: SecretKey,
}

fn key(i: usize) -> SecretKey {
    let mut bytes = [0u8; 32];
    bytes[31] = i as u8 + 1;
    bytes[0] = 0x5e;
    SecretKey::from_slice(&bytes).unwrap()
}

fn genesis(validators: &[Address]) -> Block {
    let extra = QbftExtra {
        vanity: Bytes::from(vec![0; 32]),
        validators: validators.to_vec(),
        ..Default::default()
    };
    Block {
        header: Header {
            mix_hash: ISTANBUL_DIGEST,
            difficulty: U256::from(1),
            extra_data: extra.encode(),
            ..Default::default()
        },
        body: Default::default(),
    }
}

impl Network {
    /// `n` validators, of which those in `liars` lie as given.
    pub(crate) fn new(n: usize, seed: u64, liars: &[(usize, Lie)]) -> Self {
        Self::with_followers(n, 0, seed, liars)
    }

    /// `n` validators and, after them, `followers` nodes outside the validator set.
    pub(crate) fn with_followers(
        n: usize,
        followers: usize,
        seed: u64,
        liars: &[(usize, Lie)],
    ) -> Self {
        let keys: Vec<SecretKey> = (0..n + followers).map(key).collect();
        let mut validators: Vec<Address> = keys[..n].iter().map(address_of).collect();
        validators.sort();
        let genesis = genesis(&validators);
        let nodes = keys
            .into_iter()
            .enumerate()
            .map(|(i, key)| Node {
                core: Core::new(key),
                key,
                chain: vec![genesis.clone()],
                lie: liars.iter().find(|(at, _)| *at == i).map(|(_, lie)| *lie),
                persisted: None,
                down_until: None,
            })
            .collect();
        let quorum = (2 * n).div_ceil(3);
        let mut network = Self {
            now: 0,
            rng: StdRng::seed_from_u64(seed),
            nodes,
            validators,
            quorum,
            queue: Vec::new(),
            order: 0,
            loss: 0.0,
            max_delay_ms: 20,
            cut: BTreeSet::new(),
            drop_if: None,
            seen: Vec::new(),
            decided: BTreeMap::new(),
            messages_sent: 0,
            sent_by: BTreeMap::new(),
            outsider: key(200),
        };
        for i in 0..n + followers {
            network.start_height(i);
        }
        network
    }

    fn height_info(&self, i: usize) -> HeightInfo {
        let head = &self.nodes[i].head().header;
        HeightInfo {
            height: head.number + 1,
            validators: self.validators.clone(),
            last_proposer: head.beneficiary,
            round0_at_ms: self.now + PERIOD_MS,
            quorum: self.quorum,
            request_timeout_ms: TIMEOUT_MS,
            max_request_timeout_ms: MAX_TIMEOUT_MS,
            sticky: false,
        }
    }

    fn start_height(&mut self, i: usize) {
        let info = self.height_info(i);
        let now = self.now;
        let actions = self.nodes[i].core.start_height(info, now);
        self.act(i, actions);
    }

    pub(crate) fn is_up(&self, i: usize) -> bool {
        self.nodes[i].down_until.is_none_or(|until| self.now >= until)
    }

    pub(crate) fn honest(&self, i: usize) -> bool {
        self.nodes[i].lie.is_none()
    }

    /// Crashes node `i` (kill -9) until `until`: it keeps its chain and what it persisted.
    pub(crate) fn crash(&mut self, i: usize, until: u64) {
        let node = &mut self.nodes[i];
        node.down_until = Some(until);
        node.core = Core::new(node.key);
        if let Some(bytes) = &node.persisted {
            node.core.restore(bytes).expect("persisted state reads back");
        }
        self.queue.retain(|e| e.to != i);
    }

    fn send(&mut self, from: usize, to: usize, message: Message) {
        if from == to
            || self.cut.contains(&(from, to))
            || self.drop_if.as_ref().is_some_and(|drop| drop(from, to, &message))
            || self.rng.gen_bool(self.loss)
        {
            return;
        }
        let delay = self.rng.gen_range(1..=self.max_delay_ms.max(1));
        self.order += 1;
        self.messages_sent += 1;
        *self.sent_by.entry(from).or_default() += 1;
        self.queue.push(Envelope { at: self.now + delay, order: self.order, to, message });
    }

    fn broadcast(&mut self, from: usize, message: Message) {
        for to in 0..self.nodes.len() {
            self.send(from, to, message.clone());
        }
    }

    fn act(&mut self, i: usize, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Broadcast(message) => self.outgoing(i, message),
                Action::Build { height, round } => {
                    let block = self.build(i, height, round);
                    let answer = self.nodes[i].core.on_built(height, round, block);
                    self.act(i, answer);
                }
                Action::Check { height, digest, block } => {
                    let head = self.nodes[i].head();
                    let valid = block.header.number == head.header.number + 1
                        && block.header.parent_hash == block_hash(&head.header)
                        && block_hash(&block.header) == digest;
                    let answer = self.nodes[i].core.on_checked(height, digest, valid);
                    self.act(i, answer);
                }
                Action::Commit(block) => self.import(i, *block),
                Action::Persist(bytes) => self.nodes[i].persisted = Some(bytes),
                Action::Behind(_) => {}
            }
        }
    }

    /// A block of node `i` for `height`: its own coinbase, and a state root that differs per
    /// builder and round, so two proposals are two different blocks.
    fn build(&mut self, i: usize, height: u64, round: u32) -> Block {
        let head = self.nodes[i].head();
        let extra = QbftExtra {
            vanity: Bytes::from(vec![0; 32]),
            validators: self.validators.clone(),
            ..Default::default()
        };
        let mut root = [0u8; 32];
        root[0] = i as u8;
        root[1..5].copy_from_slice(&round.to_be_bytes());
        root[5..13].copy_from_slice(&self.rng.gen::<u64>().to_be_bytes());
        Block {
            header: Header {
                parent_hash: block_hash(&head.header),
                number: height,
                beneficiary: address_of(&self.nodes[i].key),
                timestamp: self.now / 1000,
                mix_hash: ISTANBUL_DIGEST,
                difficulty: U256::from(1),
                state_root: B256::from(root),
                extra_data: extra.encode(),
                ..Default::default()
            },
            body: Default::default(),
        }
    }

    /// Imports a sealed block on node `i` as the node does: the next number, the head as its
    /// parent, a quorum of valid seals. Every honest import is checked against every other.
    fn import(&mut self, i: usize, block: Block) {
        let head = self.nodes[i].head();
        if block.header.number != head.header.number + 1
            || block.header.parent_hash != block_hash(&head.header)
        {
            return;
        }
        if let Err(why) = check_committed_seals(&block.header, &self.validators, self.quorum) {
            panic!("node {i} was given a block without a quorum of seals: {why}");
        }
        let hash = block_hash(&block.header);
        if self.honest(i) {
            let decided = *self.decided.entry(block.header.number).or_insert(hash);
            assert_eq!(
                decided, hash,
                "SAFETY: two honest validators committed different blocks at {}",
                block.header.number
            );
        }
        self.nodes[i].chain.push(block);
        self.start_height(i);
    }

    /// What a validator's message becomes on the way out: the truth, or its lie.
    fn outgoing(&mut self, i: usize, message: Message) {
        if self.nodes[i].lie.is_none() {
            self.broadcast(i, message);
            return;
        }
        let n = self.nodes.len();
        let key = self.nodes[i].key;
        match (self.nodes[i].lie.unwrap(), message) {
            (Lie::Silent, _) => {}
            (Lie::Equivocate, Message::Proposal(p)) => {
                let mut other = p.signed.payload.clone();
                other.block.header.state_root = B256::repeat_byte(0xee);
                let twin = Box::new(Proposal { signed: Signed::sign(other, &key), ..(*p).clone() });
                for to in 0..n {
                    let m = if to % 2 == 0 {
                        Message::Proposal(p.clone())
                    } else {
                        Message::Proposal(twin.clone())
                    };
                    self.send(i, to, m);
                }
            }
            (Lie::ConflictingVotes, Message::Prepare(p)) => {
                let false_digest = B256::repeat_byte(self.rng.gen());
                for to in 0..n {
                    let digest = if to % 2 == 0 { p.payload.digest } else { false_digest };
                    let prepare = Prepare { digest, ..p.payload.clone() };
                    self.send(i, to, Message::Prepare(Signed::sign(prepare, &key)));
                }
            }
            (Lie::ConflictingVotes, Message::Commit(c)) => {
                for to in 0..n {
                    let commit = if to % 2 == 0 {
                        c.payload.clone()
                    } else {
                        Commit { digest: B256::repeat_byte(self.rng.gen()), ..c.payload.clone() }
                    };
                    self.send(i, to, Message::Commit(Signed::sign(commit, &key)));
                }
            }
            (Lie::InvalidBlocks, Message::Proposal(p)) => {
                let mut payload: ProposalPayload = p.signed.payload.clone();
                payload.block.header.parent_hash = B256::repeat_byte(0xbb);
                let bad = Box::new(Proposal { signed: Signed::sign(payload, &key), ..*p });
                self.broadcast(i, Message::Proposal(bad));
            }
            (Lie::InvalidBlocks, Message::Commit(c)) => {
                let commit = Commit { seal: CommittedSeal::repeat_byte(7), ..c.payload.clone() };
                self.broadcast(i, Message::Commit(Signed::sign(commit, &key)));
            }
            (Lie::Replay, message) => {
                self.seen.push(message.clone());
                let old: Vec<Message> = (0..3)
                    .filter_map(|_| {
                        let len = self.seen.len();
                        (len > 0).then(|| self.seen[self.rng.gen_range(0..len)].clone())
                    })
                    .collect();
                self.broadcast(i, message);
                for m in old {
                    self.broadcast(i, m);
                }
            }
            (_, message) => self.broadcast(i, message),
        }
    }

    /// A message from outside the validator set for node `to`'s current height.
    fn outsider_noise(&mut self) {
        let Some((height, round, _)) = self.nodes[0].core.status() else { return };
        let prepare = Prepare { sequence: height, round, digest: B256::repeat_byte(1) };
        let message = Message::Prepare(Signed::sign(prepare, &self.outsider));
        let to = self.rng.gen_range(0..self.nodes.len());
        self.order += 1;
        self.queue.push(Envelope { at: self.now + 1, order: self.order, to, message });
    }

    /// Brings node `i` up to any longer chain it can reach, block by block, each checked.
    fn sync(&mut self, i: usize) {
        loop {
            let next = self.nodes[i].chain.len();
            let source = (0..self.nodes.len()).find(|&j| {
                j != i
                    && self.is_up(j)
                    && !self.cut.contains(&(j, i))
                    && self.nodes[j].chain.len() > next
                    && block_hash(&self.nodes[j].chain[next - 1].header)
                        == block_hash(&self.nodes[i].head().header)
            });
            let Some(j) = source else { return };
            let block = self.nodes[j].chain[next].clone();
            self.import(i, block);
        }
    }

    /// Runs until `until` (virtual ms).
    pub(crate) fn run_until(&mut self, until: u64) {
        let mut next_sync = self.now + 500;
        while self.now < until {
            let deadlines = (0..self.nodes.len())
                .filter(|&i| self.is_up(i))
                .filter_map(|i| self.nodes[i].core.next_deadline_ms());
            let queue_next = self.queue.iter().map(|e| e.at);
            let revivals = self.nodes.iter().filter_map(|n| n.down_until);
            let next = deadlines
                .chain(queue_next)
                .chain(revivals.filter(|t| *t > self.now))
                .chain([next_sync, until])
                .min()
                .unwrap_or(until)
                .max(self.now);
            self.now = next;
            for i in 0..self.nodes.len() {
                if self.nodes[i].down_until.is_some_and(|t| t <= self.now) {
                    self.nodes[i].down_until = None;
                    self.sync(i);
                    self.start_height(i);
                }
            }
            let due: Vec<Envelope> = {
                let now = self.now;
                let (due, rest): (Vec<_>, Vec<_>) = self.queue.drain(..).partition(|e| e.at <= now);
                self.queue = rest;
                let mut due = due;
                due.sort_by_key(|e| (e.at, e.order));
                due
            };
            for envelope in due {
                if !self.is_up(envelope.to) {
                    continue;
                }
                let now = self.now;
                let actions = self.nodes[envelope.to].core.on_message(envelope.message, now);
                self.act(envelope.to, actions);
            }
            for i in 0..self.nodes.len() {
                if self.is_up(i) {
                    let now = self.now;
                    let actions = self.nodes[i].core.on_tick(now);
                    self.act(i, actions);
                }
            }
            if self.now >= next_sync {
                next_sync = self.now + 500;
                for i in 0..self.nodes.len() {
                    if self.is_up(i) {
                        self.sync(i);
                    }
                }
                if self.nodes.iter().any(|n| n.lie.is_some()) {
                    self.outsider_noise();
                }
            }
        }
    }

    /// The lowest head among honest validators that are up.
    pub(crate) fn honest_height(&self) -> u64 {
        (0..self.nodes.len())
            .filter(|&i| self.honest(i) && self.is_up(i))
            .map(|i| self.nodes[i].head().header.number)
            .min()
            .unwrap_or(0)
    }

    /// Cuts node `i` off from every other node, both ways.
    pub(crate) fn isolate(&mut self, i: usize) {
        for j in 0..self.nodes.len() {
            if j != i {
                self.cut.insert((i, j));
                self.cut.insert((j, i));
            }
        }
    }

    /// The validator proposing round 0 of the next block on node `i`'s head.
    pub(crate) fn next_proposer(&self, i: usize) -> usize {
        let head = &self.nodes[i].head().header;
        let address = rules::proposer(&self.validators, head.beneficiary, 0, false).unwrap();
        (0..self.nodes.len()).find(|&j| address_of(&self.nodes[j].key) == address).unwrap()
    }
}
