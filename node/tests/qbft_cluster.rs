//! QBFT validators as `veil` runs them — a chain engine each, on its own in-memory store,
//! driven by the QBFT engine (`veil_node::qbft`) — over `veil_p2p::memory`'s network: four
//! validators commit a block every period with a quorum of committed seals, a transfer sent to
//! one of them is mined, all agree on every block, and with one validator stopped the other
//! three (a quorum) go on. Votes: a validator voted out by the others stops sealing, and a
//! node voted in starts proposing and sealing. The empty-block period spaces empty blocks;
//! in validator-contract mode the contract's validators commit blocks, and a transition moves
//! a chain from header votes to the contract at its block.

mod harness;
mod support;

use alloy_primitives::Address;
use harness::qbft::{qbft_spec, qbft_spec_with, sealers, start, validator_contract, Validator};
use std::{sync::Arc, time::Duration};
use veil_config::ChainSpec;
use veil_node::Chain;
use veil_p2p::memory::MemoryNetwork;
use veil_primitives::{
    address_of,
    istanbul::{QbftExtra, ISTANBUL_DIGEST},
    RecoveredTx,
};
use veil_storage::{InMemoryKv, KvStore};
use veil_testkit::wait_for;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_commit_sealed_blocks_mine_a_transfer_and_three_go_on_without_one() {
    let (keys, enodes) = harness::keys_and_enodes(4);
    let addresses: Vec<Address> = keys.iter().map(|k| address_of(&k.secret_key())).collect();
    let spec = qbft_spec(&addresses);
    let network = MemoryNetwork::new(1);
    let mut validators = Vec::new();
    for key in &keys {
        validators.push(start(&network, &spec, key, &enodes).await);
    }
    let head = |v: &Validator| v.chain.head().1.number;

    wait_for("three blocks on every validator", Duration::from_secs(30), || {
        let done = validators.iter().all(|v| head(v) >= 3);
        async move { done }
    })
    .await;

    let tx = RecoveredTx::try_new(support::dev_transfer(0, 0)).unwrap();
    let hash = tx.hash();
    let v = &validators[1];
    v.pool.add(tx, &v.chain.latest_state(), &v.chain.head().1).expect("pooled");
    wait_for("the transfer mined on every validator", Duration::from_secs(30), || {
        let done = validators.iter().all(|v| v.chain.store().tx_location(hash).unwrap().is_some());
        async move { done }
    })
    .await;

    // One chain: the same block at every height, each sealed by at least a quorum (3 of 4).
    let top = validators.iter().map(head).min().unwrap();
    for number in 1..=top {
        let hashes: Vec<_> = validators
            .iter()
            .map(|v| v.chain.store().canonical_hash(number).unwrap().unwrap())
            .collect();
        assert!(hashes.windows(2).all(|w| w[0] == w[1]), "block {number}: {hashes:?}");
        let header = validators[0].chain.store().header(hashes[0]).unwrap().unwrap();
        let mut sorted = addresses.clone();
        sorted.sort();
        let signers = veil_consensus::qbft::check_committed_seals(&header, &sorted, 3)
            .unwrap_or_else(|e| panic!("block {number}: {e}"));
        assert!(signers.len() >= 3);
        assert_eq!(header.mix_hash, ISTANBUL_DIGEST);
        assert!(sorted.contains(&header.beneficiary), "a validator proposed block {number}");
    }
    // Proposers rotate.
    let proposers: std::collections::BTreeSet<Address> = (1..=top.min(4))
        .map(|n| {
            let hash = validators[0].chain.store().canonical_hash(n).unwrap().unwrap();
            validators[0].chain.store().header(hash).unwrap().unwrap().beneficiary
        })
        .collect();
    assert!(proposers.len() >= 3, "{proposers:?}");
    assert!(validators[2].status.borrow().view.is_some());

    // Three of four are a quorum: the chain goes on without the fourth.
    let stopped = validators.pop().unwrap();
    stopped.stop();
    let before = validators.iter().map(head).max().unwrap();
    wait_for("three more blocks without one validator", Duration::from_secs(60), || {
        let done = validators.iter().all(|v| head(v) >= before + 3);
        async move { done }
    })
    .await;
    for v in validators {
        v.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_voted_out_stops_sealing_and_a_node_voted_in_starts() {
    use veil_node::rpc::network::BftApi;
    let (keys, enodes) = harness::keys_and_enodes(5);
    let addresses: Vec<Address> = keys.iter().map(|k| address_of(&k.secret_key())).collect();
    // Validators 0–3; node 4 starts as a member that only follows.
    let spec = qbft_spec(&addresses[..4]);
    let network = MemoryNetwork::new(2);
    let mut nodes = Vec::new();
    for key in &keys {
        nodes.push(start(&network, &spec, key, &enodes).await);
    }
    let head = |v: &Validator| v.chain.head().1.number;
    wait_for("two blocks everywhere", Duration::from_secs(30), || {
        let done = nodes.iter().all(|v| head(v) >= 2);
        async move { done }
    })
    .await;

    // Three of four vote validator 3 out: more than half.
    let out = addresses[3];
    for v in &nodes[..3] {
        v.rpc.propose(out, false);
    }
    wait_for("validator 3 voted out", Duration::from_secs(60), || {
        let done = nodes.iter().all(|v| {
            let after = v.rpc.validators_after(head(v)).unwrap();
            after.len() == 3 && !after.contains(&out)
        });
        async move { done }
    })
    .await;
    let removed_at = nodes.iter().map(head).max().unwrap();
    wait_for("blocks after the removal", Duration::from_secs(30), || {
        let done = nodes[..3].iter().all(|v| head(v) >= removed_at + 4);
        async move { done }
    })
    .await;
    for number in removed_at + 2..=removed_at + 4 {
        let (proposer, signers) = sealers(&nodes[0], number);
        assert_ne!(proposer, out, "block {number}: proposed by the removed validator");
        assert!(!signers.contains(&out), "block {number}: sealed by the removed validator");
    }

    // The three vote node 4 in: more than half of three is two, three vote.
    let new = addresses[4];
    for v in &nodes[..3] {
        v.rpc.discard(out);
        v.rpc.propose(new, true);
    }
    wait_for("node 4 voted in", Duration::from_secs(60), || {
        let done = nodes.iter().all(|v| v.rpc.validators_after(head(v)).unwrap().contains(&new));
        async move { done }
    })
    .await;
    let added_at = nodes.iter().map(head).max().unwrap();
    wait_for("node 4 proposes a block and seals others", Duration::from_secs(60), || {
        let top = head(&nodes[0]);
        let done = top > added_at + 1 && {
            let blocks: Vec<_> = (added_at + 2..=top).map(|n| sealers(&nodes[0], n)).collect();
            blocks.iter().any(|(proposer, _)| *proposer == new)
                && blocks.iter().any(|(_, signers)| signers.contains(&new))
        };
        async move { done }
    })
    .await;
    for v in nodes {
        v.stop();
    }
}

/// GoQuorum's `emptyblockperiodseconds`: with nothing to mine, blocks come every 3 s (their
/// times 3 s apart) instead of every 1 s; a transaction is still mined.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_empty_block_period_empty_blocks_are_spaced_by_it_and_transactions_still_mine() {
    let (keys, enodes) = harness::keys_and_enodes(4);
    let addresses: Vec<Address> = keys.iter().map(|k| address_of(&k.secret_key())).collect();
    let spec = qbft_spec_with(
        &addresses,
        serde_json::json!({ "emptyblockperiodseconds": 3, "requesttimeoutseconds": 6 }),
    );
    let network = MemoryNetwork::new(3);
    let mut nodes = Vec::new();
    for key in &keys {
        nodes.push(start(&network, &spec, key, &enodes).await);
    }
    let head = |v: &Validator| v.chain.head().1.number;
    wait_for("three empty blocks", Duration::from_secs(60), || {
        let done = nodes.iter().all(|v| head(v) >= 3);
        async move { done }
    })
    .await;
    let time = |n: u64| {
        let store = nodes[0].chain.store();
        store.header(store.canonical_hash(n).unwrap().unwrap()).unwrap().unwrap().timestamp
    };
    for n in 2..=3 {
        assert!(time(n) >= time(n - 1) + 3, "empty block {n} at {} after {}", time(n), time(n - 1));
    }
    let tx = RecoveredTx::try_new(support::dev_transfer(0, 0)).unwrap();
    let hash = tx.hash();
    let v = &nodes[2];
    v.pool.add(tx, &v.chain.latest_state(), &v.chain.head().1).expect("pooled");
    wait_for("the transfer mined", Duration::from_secs(30), || {
        let done = nodes.iter().all(|v| v.chain.store().tx_location(hash).unwrap().is_some());
        async move { done }
    })
    .await;
    for v in nodes {
        v.stop();
    }
}

/// Validator-contract mode: the genesis names no validators in its extraData but a contract
/// (Besu's test contract, its `address[]` in storage) whose `getValidators()` lists the four;
/// they commit blocks whose headers carry no validators and no vote, sealed by a quorum of the
/// contract's validators.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_validator_contract_mode_the_contracts_validators_commit_blocks() {
    use veil_node::rpc::network::BftApi;
    let (keys, enodes) = harness::keys_and_enodes(4);
    let addresses: Vec<Address> = keys.iter().map(|k| address_of(&k.secret_key())).collect();
    let contract = "0x0000000000000000000000000000000000008888";
    let mut genesis = serde_json::to_value(
        qbft_spec_with(
            &[],
            serde_json::json!({
                "validatorselectionmode": "contract",
                "validatorcontractaddress": contract,
            }),
        )
        .genesis(),
    )
    .unwrap();
    genesis["alloc"][contract] = validator_contract(&addresses);
    let spec = ChainSpec::from_json(&genesis.to_string()).expect("a contract-mode genesis");
    let network = MemoryNetwork::new(4);
    let mut nodes = Vec::new();
    for key in &keys {
        nodes.push(start(&network, &spec, key, &enodes).await);
    }
    let head = |v: &Validator| v.chain.head().1.number;
    wait_for("three blocks in contract mode", Duration::from_secs(60), || {
        let done = nodes.iter().all(|v| head(v) >= 3);
        async move { done }
    })
    .await;
    let mut sorted = addresses.clone();
    sorted.sort();
    assert_eq!(nodes[0].rpc.validators_after(head(&nodes[0])).unwrap(), sorted);
    for number in 1..=3 {
        let store = nodes[0].chain.store();
        let header = store.header(store.canonical_hash(number).unwrap().unwrap()).unwrap().unwrap();
        let extra = QbftExtra::decode(&header.extra_data).unwrap();
        assert!(extra.validators.is_empty() && extra.vote.is_none(), "block {number}");
        veil_consensus::qbft::check_committed_seals(&header, &sorted, 3)
            .unwrap_or_else(|e| panic!("block {number}: {e}"));
    }
    for v in nodes {
        v.stop();
    }
}

/// A transition from header votes to the contract at block 4: blocks 1–3 carry the header
/// set (three of the four nodes) in their extra; from block 4 the contract's four validators
/// decide, the headers carry no list, and the fourth node, never a validator before, proposes
/// and seals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transition_at_a_block_moves_the_validators_from_header_votes_to_the_contract() {
    use veil_node::rpc::network::BftApi;
    let (keys, enodes) = harness::keys_and_enodes(4);
    let addresses: Vec<Address> = keys.iter().map(|k| address_of(&k.secret_key())).collect();
    let mut sorted = addresses.clone();
    sorted.sort();
    let (header_set, newcomer) = (&sorted[..3], sorted[3]);
    let contract = "0x0000000000000000000000000000000000008888";
    let mut genesis = serde_json::to_value(qbft_spec(header_set).genesis()).unwrap();
    genesis["config"]["transitions"] = serde_json::json!([{
        "block": 4,
        "validatorselectionmode": "contract",
        "validatorcontractaddress": contract,
    }]);
    genesis["alloc"][contract] = validator_contract(&addresses);
    let spec = ChainSpec::from_json(&genesis.to_string()).expect("a genesis with a transition");
    let network = MemoryNetwork::new(4);
    let mut nodes = Vec::new();
    for key in &keys {
        nodes.push(start(&network, &spec, key, &enodes).await);
    }
    let head = |v: &Validator| v.chain.head().1.number;
    let signed_by_newcomer = |number: u64| {
        let (author, committers) = sealers(&nodes[0], number);
        author == newcomer || committers.contains(&newcomer)
    };
    wait_for("the fourth node sealing after the transition", Duration::from_secs(90), || {
        let done = head(&nodes[0]) >= 4 && (4..=head(&nodes[0])).any(signed_by_newcomer);
        async move { done }
    })
    .await;
    assert_eq!(nodes[0].rpc.validators_after(2).unwrap(), header_set);
    assert_eq!(nodes[0].rpc.validators_after(3).unwrap(), sorted);
    let store = nodes[0].chain.store();
    for number in 1..=head(&nodes[0]) {
        let header = store.header(store.canonical_hash(number).unwrap().unwrap()).unwrap().unwrap();
        let extra = QbftExtra::decode(&header.extra_data).unwrap();
        if number < 4 {
            assert_eq!(extra.validators, header_set, "block {number}");
            assert!(!signed_by_newcomer(number), "block {number} sealed by a non-validator");
        } else {
            assert!(extra.validators.is_empty() && extra.vote.is_none(), "block {number}");
            veil_consensus::qbft::check_committed_seals(&header, &sorted, 3)
                .unwrap_or_else(|e| panic!("block {number}: {e}"));
        }
    }
    for v in nodes {
        v.stop();
    }
}

/// Validator checkpoints: a node that replayed 1,030 headers keeps the snapshot after block
/// 1,024 on disk — with a vote still in flight from block 1,000 — and a restarted node takes
/// its validators from it without the headers below it: with the canonical index of blocks
/// 1–1,023 gone, it still counts block 1,000's vote with block 1,027's and adds the candidate.
/// A checkpoint whose block is no longer canonical is ignored (replay from genesis).
#[test]
fn a_restarted_node_replays_validator_votes_from_its_last_checkpoint_not_from_genesis() {
    use veil_node::{qbft::validators::Validators, HeaderTemplate};
    use veil_primitives::istanbul::ValidatorVote;
    let (keys, _) = harness::keys_and_enodes(3);
    let mut set: Vec<Address> = keys.iter().map(|k| address_of(&k.secret_key())).collect();
    set.sort();
    let candidate = Address::repeat_byte(0xdd);
    let spec = qbft_spec(&set);
    let kv: Arc<dyn KvStore> = Arc::new(InMemoryKv::new());
    Chain::init(&kv, &spec).unwrap();
    let chain = Arc::new(Chain::open(kv.clone()).unwrap());
    let votes = [(1000u64, set[0]), (1027, set[1])];
    for number in 1..=1030u64 {
        let proposer = votes
            .iter()
            .find(|(at, _)| *at == number)
            .map_or(set[number as usize % set.len()], |(_, voter)| *voter);
        let vote = votes
            .iter()
            .any(|(at, _)| *at == number)
            .then_some(ValidatorVote { recipient: candidate, add: true });
        let extra = QbftExtra {
            vanity: vec![0; 32].into(),
            validators: set.clone(),
            vote,
            ..Default::default()
        };
        let template = HeaderTemplate {
            beneficiary: proposer,
            timestamp: number,
            mix_hash: ISTANBUL_DIGEST,
            extra_data: extra.encode(),
        };
        let built = chain.build_block_with(vec![], &template, &Default::default()).unwrap();
        chain.commit_built(built).unwrap();
    }
    let config = spec.qbft().unwrap().clone();
    let with_candidate = {
        let mut all = set.clone();
        all.push(candidate);
        all.sort();
        all
    };
    let mut first = Validators::new(chain.clone(), kv.clone(), config.clone(), (1, 2000)).unwrap();
    assert_eq!(first.after(1026).unwrap().validators, set);
    assert_eq!(first.after(1030).unwrap().validators, with_candidate);

    // Forget where blocks 1–1,023 are: only the checkpoint can answer now.
    let mut batch = veil_storage::WriteBatch::default();
    batch.delete_range(
        veil_storage::Table::CanonicalHashes,
        1u64.to_be_bytes(),
        1024u64.to_be_bytes(),
    );
    kv.write(batch).unwrap();
    let mut restarted =
        Validators::new(chain.clone(), kv.clone(), config.clone(), (1, 2000)).unwrap();
    assert_eq!(restarted.after(1026).unwrap().validators, set);
    assert_eq!(restarted.after(1030).unwrap().validators, with_candidate);
    assert!(restarted.after(1000).is_err(), "block 1,000 needs the headers that are gone");

    // A checkpoint for a block that is not canonical is not used.
    let mut batch = veil_storage::WriteBatch::default();
    batch.put(veil_storage::Table::CanonicalHashes, 1024u64.to_be_bytes(), [0x11u8; 32].to_vec());
    kv.write(batch).unwrap();
    let mut stale = Validators::new(chain, kv, config, (1, 2000)).unwrap();
    assert!(stale.after(1030).is_err(), "a stale checkpoint was used");
}
