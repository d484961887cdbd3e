//! A lying validator against the node's QBFT engine itself (the core harness in
//! `consensus/tests/qbft.rs` fakes the chain; here each honest validator checks proposals by
//! executing them on its chain engine). Four validators, one of them (f = 1) a liar on the
//! network: whenever it proposes round 0 it sends two different blocks with wrong state roots,
//! one to each half (equivocation, invalid blocks); it also proposes when it is not the
//! proposer, answers every honest proposal with a prepare and a commit for another block and a
//! commit whose seal is not over the block, and replays every message it has seen. A node
//! outside the validator set prepares and commits honest proposals with valid seals of its own.
//! The three honest validators go on (the liar's rounds time out and the next proposer
//! commits), agree on every block, never commit a block of the liar's, and seal every block
//! with a quorum of validators' valid seals only.

mod harness;
mod support;

use alloy_primitives::{keccak256, Address, B256};
use harness::qbft::{qbft_spec, sealers, start};
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tokio::sync::mpsc;
use veil_consensus::qbft::{
    message::{Commit, Prepare, ProposalPayload, Signed},
    rules, Message, Proposal,
};
use veil_node::Chain;
use veil_p2p::{memory::MemoryNetwork, P2pEvent, P2pHandle};
use veil_primitives::{
    address_of,
    istanbul::{block_hash, seal_hash, CommittedSeal, QbftExtra},
    sign_hash, Block,
};
use veil_testkit::wait_for;

fn wire(message: &Message) -> Vec<u8> {
    let mut data = vec![message.code()];
    data.extend(message.encode());
    data
}

fn send_all(p2p: &P2pHandle, message: &Message) {
    let data = wire(message);
    for peer in p2p.connected().borrow().iter() {
        p2p.send_consensus(*peer, data.clone());
    }
}

/// A block for the height after `chain`'s head by `author`, with a state root no execution
/// gives (`salt` makes two of them differ).
fn invalid_block(chain: &Chain, author: Address, validators: &[Address], salt: u8) -> Block {
    let (hash, parent) = chain.head();
    let extra = QbftExtra {
        vanity: vec![0; 32].into(),
        validators: validators.to_vec(),
        ..Default::default()
    };
    let mut header = parent.clone();
    header.parent_hash = hash;
    header.number = parent.number + 1;
    header.timestamp = parent.timestamp + 1;
    header.beneficiary = author;
    header.state_root = B256::from(keccak256([salt, 0x5a]));
    header.extra_data = extra.encode();
    Block { header, body: Default::default() }
}

/// The liar: proposes invalid and equivocating blocks when it may, out of turn too, answers
/// honest proposals with conflicting votes and bad seals, replays what it saw. Counts its
/// round-0 proposals in `attacks`.
async fn liar(
    key: secp256k1::SecretKey,
    (p2p, mut events): (P2pHandle, mpsc::Receiver<P2pEvent>),
    chain: Arc<Chain>,
    validators: Vec<Address>,
    attacks: Arc<AtomicUsize>,
) {
    let me = address_of(&key);
    let mut seen: Vec<Message> = Vec::new();
    let mut attacked = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(P2pEvent::Consensus { data, .. }) = event else {
                    if event.is_none() { return }
                    continue;
                };
                let Some((&code, payload)) = data.split_first() else { continue };
                let Ok(message) = Message::decode(code, payload) else { continue };
                if let Message::Proposal(p) = &message {
                    let (height, round) = (p.signed.payload.sequence, p.signed.payload.round);
                    let digest = block_hash(&p.signed.payload.block.header);
                    let other = B256::from(keccak256(digest));
                    let bogus_seal = CommittedSeal::from(sign_hash(other, &key).as_bytes());
                    for vote in [
                        Message::Prepare(Signed::sign(Prepare { sequence: height, round, digest: other }, &key)),
                        Message::Commit(Signed::sign(
                            Commit { sequence: height, round, digest: other, seal: bogus_seal },
                            &key,
                        )),
                        // The real block, with a seal over something else.
                        Message::Commit(Signed::sign(
                            Commit { sequence: height, round, digest, seal: bogus_seal },
                            &key,
                        )),
                    ] {
                        send_all(&p2p, &vote);
                    }
                    // Out of turn: a proposal for the same height and round by the liar.
                    let block = invalid_block(&chain, me, &validators, 9);
                    let proposal = Proposal {
                        signed: Signed::sign(ProposalPayload { sequence: height, round, block }, &key),
                        round_changes: Vec::new(),
                        prepares: Vec::new(),
                    };
                    send_all(&p2p, &Message::Proposal(Box::new(proposal)));
                }
                if seen.len() < 500 {
                    seen.push(message);
                }
            }
            _ = tick.tick() => {
                let (_, head) = chain.head();
                let height = head.number + 1;
                let last = if head.number == 0 { Address::ZERO } else { head.beneficiary };
                let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
                if height == attacked
                    || rules::proposer(&validators, last, 0, false) != Some(me)
                    || now < head.timestamp + 1
                {
                    continue;
                }
                attacked = height;
                attacks.fetch_add(1, Ordering::SeqCst);
                // Equivocation: one invalid block to each half of the peers.
                let peers = p2p.connected().borrow().clone();
                for (i, peer) in peers.iter().enumerate() {
                    let block = invalid_block(&chain, me, &validators, (i % 2) as u8);
                    let proposal = Proposal {
                        signed: Signed::sign(ProposalPayload { sequence: height, round: 0, block }, &key),
                        round_changes: Vec::new(),
                        prepares: Vec::new(),
                    };
                    p2p.send_consensus(*peer, wire(&Message::Proposal(Box::new(proposal))));
                }
                for old in &seen {
                    send_all(&p2p, old);
                }
            }
        }
    }
}

/// A node outside the validator set that prepares and commits every honest proposal it
/// hears, with a valid seal of its own.
async fn outsider(
    key: secp256k1::SecretKey,
    (p2p, mut events): (P2pHandle, mpsc::Receiver<P2pEvent>),
) {
    while let Some(event) = events.recv().await {
        let P2pEvent::Consensus { data, .. } = event else { continue };
        let Some((&code, payload)) = data.split_first() else { continue };
        let Ok(Message::Proposal(p)) = Message::decode(code, payload) else { continue };
        let (sequence, round) = (p.signed.payload.sequence, p.signed.payload.round);
        let header = &p.signed.payload.block.header;
        let Ok(extra) = QbftExtra::decode(&header.extra_data) else { continue };
        let digest = block_hash(header);
        let seal =
            CommittedSeal::from(sign_hash(seal_hash(header, &extra, round), &key).as_bytes());
        send_all(&p2p, &Message::Prepare(Signed::sign(Prepare { sequence, round, digest }, &key)));
        send_all(
            &p2p,
            &Message::Commit(Signed::sign(Commit { sequence, round, digest, seal }, &key)),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_honest_validators_of_four_go_on_and_agree_despite_a_liar_and_an_outsider() {
    let (keys, enodes) = harness::keys_and_enodes(5);
    let mut validators: Vec<Address> =
        keys[..4].iter().map(|k| address_of(&k.secret_key())).collect();
    validators.sort();
    let liar_address = address_of(&keys[3].secret_key());
    let outsider_address = address_of(&keys[4].secret_key());
    let spec = qbft_spec(&validators);
    let network = MemoryNetwork::new(18);
    let mut honest = Vec::new();
    for key in &keys[..3] {
        honest.push(start(&network, &spec, key, &enodes[..4]).await);
    }
    let attacks = Arc::new(AtomicUsize::new(0));
    let tasks = [
        tokio::spawn(liar(
            keys[3].secret_key(),
            network.join(&keys[3]),
            honest[0].chain.clone(),
            validators.clone(),
            attacks.clone(),
        )),
        tokio::spawn(outsider(keys[4].secret_key(), network.join(&keys[4]))),
    ];
    let head = |chain: &Chain| chain.head().1.number;
    wait_for("12 blocks and three of the liar's turns", Duration::from_secs(120), || {
        let done =
            honest.iter().all(|v| head(&v.chain) >= 12) && attacks.load(Ordering::SeqCst) >= 3;
        async move { done }
    })
    .await;
    let top = honest.iter().map(|v| head(&v.chain)).min().unwrap();
    let mut later_rounds = 0;
    for number in 1..=top {
        let hashes: Vec<B256> = honest
            .iter()
            .map(|v| v.chain.store().canonical_hash(number).unwrap().unwrap())
            .collect();
        assert!(hashes.windows(2).all(|w| w[0] == w[1]), "block {number}: {hashes:?}");
        let header = honest[0].chain.store().header(hashes[0]).unwrap().unwrap();
        assert_ne!(header.beneficiary, liar_address, "block {number} is the liar's");
        // Every seal valid and a validator's: neither the liar's bad seal nor the outsider's.
        veil_consensus::qbft::check_committed_seals(&header, &validators, 3)
            .unwrap_or_else(|e| panic!("block {number}: {e}"));
        let (_, sealed_by) = sealers(&honest[0], number);
        assert!(!sealed_by.contains(&outsider_address), "block {number} sealed by an outsider");
        later_rounds += usize::from(QbftExtra::decode(&header.extra_data).unwrap().round > 0);
    }
    // The liar's turns were decided in a later round, by the next proposer.
    assert!(later_rounds >= 2, "{later_rounds} blocks of {top} decided after round 0");
    for task in tasks {
        task.abort();
    }
    for v in honest {
        v.stop();
    }
}
