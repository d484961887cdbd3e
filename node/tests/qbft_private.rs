//! Private transactions under QBFT, as under Raft: four validators, each with its own real
//! `veil-tm`. A private transaction between two of them is mined by all four. When a
//! bystander's TM hangs, only the bystander halts — it cannot check proposals carrying a
//! private transaction nor import the block, and never treats the block as not its own —
//! while the other three (a quorum) go on: the rounds the halted validator would propose time
//! out and the next proposer commits. Once its TM answers again it catches up to the same
//! chain.

mod harness;
mod support;

use alloy_primitives::{Address, B256};
use harness::qbft::{qbft_spec, start_with_tm, Validator};
use std::{sync::Arc, time::Duration};
use veil_node::ptm::{Ptm, PtmConfig};
use veil_p2p::memory::MemoryNetwork;
use veil_primitives::{address_of, istanbul::QbftExtra, RecoveredTx};
use veil_testkit::wait_for;

fn submit(v: &Validator, tx: RecoveredTx) -> B256 {
    v.pool.add(tx, &v.chain.latest_state(), &v.chain.head().1).expect("the pool takes it")
}

fn mined(v: &Validator, hash: B256) -> bool {
    v.chain.store().tx_location(hash).unwrap().is_some()
}

fn head(v: &Validator) -> u64 {
    v.chain.head().1.number
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tm_outage_halts_only_its_validator_and_the_other_three_go_on() {
    let (keys, enodes) = harness::keys_and_enodes(4);
    let addresses: Vec<Address> = keys.iter().map(|k| address_of(&k.secret_key())).collect();
    let spec = qbft_spec(&addresses);
    let (tms, _tm_root) = harness::start_tms(4).await;
    let network = MemoryNetwork::new(7);
    let mut nodes = Vec::new();
    for (key, tm) in keys.iter().zip(&tms) {
        let endpoint = veil_tm_api::TmEndpoint::Unix(tm.socket());
        let config = PtmConfig { endpoint, timeout: harness::TM_TIMEOUT };
        let ptm = Arc::new(Ptm::connect(config).await.expect("the TM answers"));
        nodes.push(start_with_tm(&network, &spec, key, &enodes, Some(ptm)).await);
    }
    let (sender, party, bystander) = (0, 1, 2);
    let private = |nonce: u64, payload: &'static [u8]| {
        let ptm = nodes[sender].ptm.clone().unwrap();
        let to = vec![tms[party].key];
        async move { harness::private_tx(&ptm, to, 4, nonce, payload).await }
    };

    let warmup = submit(&nodes[sender], private(0, b"before the outage").await);
    wait_for("the first private transaction mined everywhere", Duration::from_secs(60), || {
        let done = nodes.iter().all(|v| mined(v, warmup));
        async move { done }
    })
    .await;

    tms[bystander].pause();
    let during = submit(&nodes[sender], private(1, b"during the outage").await);
    let others = [0, 1, 3];
    wait_for("the other three mine it", Duration::from_secs(60), || {
        let done = others.iter().all(|&i| mined(&nodes[i], during));
        async move { done }
    })
    .await;
    wait_for("the bystander to halt", Duration::from_secs(60), || {
        let halted = nodes[bystander].halted.borrow().is_some();
        async move { halted }
    })
    .await;
    // The three go on without it; the heights it would propose time out first.
    let from = head(&nodes[0]);
    for nonce in 0..4 {
        let hash = submit(
            &nodes[0],
            veil_primitives::RecoveredTx::try_new(support::dev_transfer(5, nonce)).unwrap(),
        );
        wait_for("a transfer mined by the three", Duration::from_secs(60), || {
            let done = others.iter().all(|&i| mined(&nodes[i], hash));
            async move { done }
        })
        .await;
    }
    wait_for("eight blocks without the bystander", Duration::from_secs(120), || {
        let done = others.iter().all(|&i| head(&nodes[i]) >= from + 8);
        async move { done }
    })
    .await;
    assert!(!mined(&nodes[bystander], during), "imported without its TM");
    assert!(nodes[bystander].halted.borrow().is_some(), "no longer halted while its TM hangs");
    let store = nodes[0].chain.store();
    let later_rounds = (from + 1..=from + 8)
        .filter(|&n| {
            let header = store.header(store.canonical_hash(n).unwrap().unwrap()).unwrap().unwrap();
            QbftExtra::decode(&header.extra_data).unwrap().round > 0
        })
        .count();
    assert!(later_rounds >= 1, "no round of the halted validator timed out");

    tms[bystander].resume();
    let target = head(&nodes[0]);
    wait_for("the bystander to resume and catch up", Duration::from_secs(90), || {
        let v = &nodes[bystander];
        let done = v.halted.borrow().is_none() && mined(v, during) && head(v) >= target;
        async move { done }
    })
    .await;
    let top = nodes.iter().map(head).min().unwrap();
    for number in 1..=top {
        let hashes: Vec<B256> = nodes
            .iter()
            .map(|v| v.chain.store().canonical_hash(number).unwrap().unwrap())
            .collect();
        assert!(hashes.windows(2).all(|w| w[0] == w[1]), "block {number}: {hashes:?}");
    }
    for v in nodes {
        v.stop();
    }
}
