//! Raft clusters in one process over an in-memory network ([`harness`]): a partitioned
//! minority mints nothing and rejoins the majority's chain without a fork; the leader lost
//! under load is replaced and no acknowledged transaction is lost; with messages dropped and
//! delayed at random the cluster still mines everything once and agrees; a transaction
//! acknowledged by a cut-off member that is then killed is mined after its restart.

mod harness;
mod support;

use harness::{transfer, Cluster};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_minority_mints_nothing_and_rejoins_the_majority_chain() {
    let cluster = Cluster::start(3).await;
    cluster.wait("a leader", 30, |c| c.leader().is_some()).await;
    let minority = cluster.leader().unwrap();
    let majority: Vec<usize> = (0..3).filter(|&i| i != minority).collect();
    cluster.network.isolate(cluster.peer(minority));
    cluster
        .wait("a leader on the majority side", 30, |c| {
            majority.iter().any(|&i| c.role(i) == Some("minter"))
        })
        .await;
    cluster.wait("the old leader to step down", 30, |c| c.role(minority) != Some("minter")).await;
    let minority_height = cluster.head(minority).1;
    let hash = cluster.submit(majority[0], transfer(2, 0));
    cluster.wait("the majority mines", 30, |c| majority.iter().all(|&i| c.mined(i, hash))).await;
    // The minority accepts a transaction too, and still mints nothing while the majority
    // goes on.
    let stranded = cluster.submit(minority, transfer(3, 0));
    let later = cluster.submit(majority[1], transfer(2, 1));
    cluster
        .wait("the majority to go on", 30, |c| majority.iter().all(|&i| c.mined(i, later)))
        .await;
    assert_eq!(cluster.head(minority).1, minority_height, "the minority minted or imported");
    assert!(!cluster.mined(majority[0], stranded), "the cut-off minority's transaction crossed");

    cluster.network.recover();
    cluster.wait("the minority catches up", 60, |c| c.mined(minority, hash)).await;
    cluster
        .wait("its own transaction mined everywhere", 60, |c| (0..3).all(|i| c.mined(i, stranded)))
        .await;
    cluster.wait("one head everywhere", 30, |c| (1..3).all(|i| c.head(i) == c.head(0))).await;
    cluster.assert_no_fork();
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_lost_under_load_is_replaced_and_every_acknowledged_transaction_is_mined() {
    let mut cluster = Cluster::start(3).await;
    cluster.wait("a leader", 30, |c| c.leader().is_some()).await;
    let leader = cluster.leader().unwrap();
    let others: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    let mut acknowledged = Vec::new();
    // Senders 0..6, each with its own nonces, through the followers; the leader dies halfway.
    for round in 0..40u64 {
        for sender in 0..6usize {
            let via = others[sender % others.len()];
            acknowledged.push(cluster.submit(via, transfer(sender, round)));
        }
        if round == 20 {
            cluster.kill(leader).await;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    cluster.wait("a new leader", 30, |c| others.iter().any(|&i| c.role(i) == Some("minter"))).await;
    cluster
        .wait("every acknowledged transaction mined on the survivors", 60, |c| {
            others.iter().all(|&i| acknowledged.iter().all(|h| c.mined(i, *h)))
        })
        .await;
    cluster.start_member(leader).await;
    cluster
        .wait("the old leader to catch up", 60, |c| {
            acknowledged.iter().all(|h| c.mined(leader, *h))
        })
        .await;
    cluster.wait("one head everywhere", 30, |c| (1..3).all(|i| c.head(i) == c.head(0))).await;
    cluster.assert_no_fork();
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_messages_dropped_and_delayed_every_transaction_is_mined_once_and_all_agree() {
    let cluster = Cluster::start(3).await;
    cluster.wait("a leader", 30, |c| c.leader().is_some()).await;
    cluster.network.drop_rate(0.2);
    cluster.network.delay(Duration::from_millis(15));
    let mut acknowledged = Vec::new();
    for nonce in 0..30u64 {
        for sender in 0..3usize {
            acknowledged.push(cluster.submit(sender, transfer(sender, nonce)));
        }
    }
    cluster
        .wait("every transaction mined everywhere through the lossy links", 120, |c| {
            (0..3).all(|i| acknowledged.iter().all(|h| c.mined(i, *h)))
        })
        .await;
    cluster.network.recover();
    cluster.wait("one head everywhere", 30, |c| (1..3).all(|i| c.head(i) == c.head(0))).await;
    cluster.assert_no_fork();
    // Mined once: each sender's nonces 0..30 all in the chain means 90 transactions; the
    // pool refuses a second copy of a mined nonce, so no block can hold one twice.
    let member = cluster.member(0);
    let mut count = 0;
    for number in 1..=cluster.head(0).1 {
        let hash = cluster.hash_at(0, number).unwrap();
        count += member.chain.store().transactions(hash).unwrap().unwrap_or_default().len();
    }
    assert_eq!(count, acknowledged.len(), "every transaction in exactly one block");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_acknowledged_by_a_cut_off_member_that_is_killed_is_mined_after_its_restart()
{
    // Gossip alone loses it: while the member is cut off nobody hears its message, the kill
    // loses the message kept for later, and the journal brings the transaction back into the
    // pool without gossiping it. The member must hand its pending transactions to the leader.
    let mut cluster = Cluster::start(3).await;
    cluster.wait("a leader", 30, |c| c.leader().is_some()).await;
    let lead = cluster.leader().unwrap();
    let cut_off = (0..3).find(|&i| i != lead).unwrap();
    cluster.network.isolate(cluster.peer(cut_off));
    cluster
        .wait("the member to lose its peers", 30, |c| {
            c.member(cut_off).raft.status.borrow().peers.is_empty()
        })
        .await;
    let hash = cluster.submit(cut_off, transfer(3, 0));
    cluster.kill(cut_off).await;
    cluster.network.recover();
    cluster.start_member(cut_off).await;
    cluster
        .wait("the acknowledged transaction mined everywhere", 60, |c| {
            (0..3).all(|i| c.mined(i, hash))
        })
        .await;
    cluster.assert_no_fork();
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tm_outage_halts_only_its_members_import_which_keeps_answering_raft_and_catches_up() {
    let cluster = Cluster::start_private(3).await;
    cluster.wait("a leader", 30, |c| c.leader().is_some()).await;
    // A follower that is not a party, though only its TM can say so: while that TM hangs, it
    // must halt rather than treat the block as not its own. The parties are the other two.
    let leader = cluster.leader().unwrap();
    let bystander = (0..3).find(|&i| i != leader).unwrap();
    let parties: Vec<usize> = (0..3).filter(|&i| i != bystander).collect();
    let (first, last) = (parties[0], parties[1]);
    let warmup = cluster.send_private(first, &[last], 4, 0, b"before the outage").await;
    cluster
        .wait("the first private transaction mined everywhere", 60, |c| {
            (0..3).all(|i| c.mined(i, warmup))
        })
        .await;
    let before = cluster.head(bystander).1;
    cluster.tms[bystander].pause();
    let hash = cluster.send_private(first, &[last], 4, 1, b"during the outage").await;
    cluster.wait("the parties mine it", 60, |c| c.mined(first, hash) && c.mined(last, hash)).await;
    cluster.wait("the bystander to halt", 60, |c| c.halted(bystander).is_some()).await;
    assert_eq!(cluster.head(bystander).1, before, "it imported without its TM");
    // Halted, it still answers raft: over three election timeouts (3 s) of samples while
    // the others mine transfers, the leader never sees it inactive.
    let started = tokio::time::Instant::now();
    let mut nonce = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let transfer = cluster.submit(first, transfer(5, nonce));
        nonce += 1;
        cluster.wait("a transfer mined by the parties", 30, |c| c.mined(first, transfer)).await;
        assert_ne!(cluster.leader(), Some(bystander), "the halted member leads");
        assert!(cluster.leader_sees_active(bystander), "the leader saw the halted member inactive");
        assert!(cluster.halted(bystander).is_some(), "still halted while its TM hangs");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cluster.tms[bystander].resume();
    cluster
        .wait("the bystander to resume and catch up", 60, |c| {
            c.halted(bystander).is_none()
                && c.mined(bystander, hash)
                && c.head(bystander) == c.head(0)
        })
        .await;
    cluster.assert_no_fork();
    cluster.stop().await;
}
