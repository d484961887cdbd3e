//! A raft cluster of `RaftNode`s over RocksDB, with messages carried by the test: election,
//! ordered replication, a leader's crash and restart from disk, membership changes and log
//! compaction.

use std::{collections::BTreeMap, sync::Arc};
use veil_consensus::{Committed, MembershipChange, RaftNode};
use veil_storage::{KvStore, RocksKv};

struct Member {
    node: RaftNode,
    kv: Arc<dyn KvStore>,
    applied: Vec<Vec<u8>>,
    last_index: u64,
}

struct Cluster {
    dir: tempfile::TempDir,
    members: BTreeMap<u64, Member>,
    /// Members whose messages are dropped (crashed or cut off).
    down: Vec<u64>,
}

impl Cluster {
    fn new(ids: &[u64]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut cluster = Self { dir, members: BTreeMap::new(), down: vec![] };
        for id in ids {
            cluster.start(*id, ids, 0);
        }
        cluster
    }

    fn start(&mut self, id: u64, voters: &[u64], applied: u64) {
        let kv: Arc<dyn KvStore> =
            Arc::new(RocksKv::open(&self.dir.path().join(id.to_string())).unwrap());
        let node = RaftNode::open(kv.clone(), id, voters, applied).unwrap();
        self.members.insert(id, Member { node, kv, applied: vec![], last_index: applied });
    }

    /// Ticks everyone once and delivers messages until quiet.
    fn round(&mut self) {
        for (id, m) in self.members.iter_mut() {
            if !self.down.contains(id) {
                m.node.tick();
            }
        }
        loop {
            let mut mail = vec![];
            for (id, m) in self.members.iter_mut() {
                if self.down.contains(id) {
                    continue;
                }
                while let Some(progress) = m.node.advance().unwrap() {
                    mail.extend(progress.messages);
                    for committed in progress.committed {
                        match committed {
                            Committed::Entry { index, data, .. } => {
                                m.applied.push(data);
                                m.last_index = index;
                            }
                            Committed::Membership { index, .. } => m.last_index = index,
                        }
                    }
                }
            }
            if mail.is_empty() {
                break;
            }
            for (to, bytes) in mail {
                if let Some(m) = self.members.get_mut(&to).filter(|_| !self.down.contains(&to)) {
                    let _ = m.node.step(&bytes);
                }
            }
        }
    }

    fn leader(&mut self) -> u64 {
        for _ in 0..200 {
            self.round();
            let leaders: Vec<u64> = self
                .members
                .iter()
                .filter(|(id, m)| !self.down.contains(id) && m.node.is_leader())
                .map(|(id, _)| *id)
                .collect();
            if let [leader] = leaders[..] {
                return leader;
            }
        }
        panic!("no single leader after 200 rounds");
    }

    /// The leader proposes a membership change, and it is carried round once.
    fn change(&mut self, change: MembershipChange, context: &[u8]) {
        let leader = self.leader();
        self.members
            .get_mut(&leader)
            .unwrap()
            .node
            .propose_membership(&change, context.to_vec())
            .unwrap();
        self.round();
    }

    fn propose(&mut self, data: &[u8]) {
        let leader = self.leader();
        self.members.get_mut(&leader).unwrap().node.propose(data.to_vec()).unwrap();
        self.round();
    }
}

#[test]
fn a_cluster_elects_one_leader_and_applies_proposals_in_the_same_order_everywhere() {
    let mut cluster = Cluster::new(&[1, 2, 3]);
    let leader = cluster.leader();
    assert_eq!(cluster.members[&leader].node.role(), "minter");
    for i in 0..20u8 {
        cluster.propose(&[i]);
    }
    let expected: Vec<Vec<u8>> = (0..20u8).map(|i| vec![i]).collect();
    for (id, m) in &cluster.members {
        assert_eq!(m.applied, expected, "member {id}");
        assert_eq!(m.node.leader_id(), leader);
    }
    // A follower's proposal is refused, not silently dropped into the log.
    let follower = *cluster.members.keys().find(|id| **id != leader).unwrap();
    assert!(cluster.members.get_mut(&follower).unwrap().node.propose(vec![99]).is_err());
}

#[test]
fn a_crashed_leader_is_replaced_and_catches_up_from_its_own_disk_after_restart() {
    let mut cluster = Cluster::new(&[1, 2, 3]);
    cluster.propose(b"a");
    let old = cluster.leader();
    let old_applied = cluster.members[&old].last_index;
    // Crash: drop the node (its RocksDB stays), and stop delivering to it.
    cluster.down.push(old);
    let new = cluster.leader();
    assert_ne!(new, old);
    cluster.propose(b"b");
    cluster.propose(b"c");
    // Restart from disk, telling raft what was applied.
    cluster.down.clear();
    let member = cluster.members.remove(&old).unwrap();
    drop(member);
    cluster.start(old, &[1, 2, 3], old_applied);
    for _ in 0..30 {
        cluster.round();
    }
    let restarted = &cluster.members[&old];
    assert_eq!(
        restarted.applied,
        vec![b"b".to_vec(), b"c".to_vec()],
        "only what it had not applied"
    );
    assert_eq!(restarted.node.leader_id(), new);
}

#[test]
fn members_join_as_learners_are_promoted_and_removed() {
    let mut cluster = Cluster::new(&[1, 2, 3]);
    cluster.change(MembershipChange::AddLearner(4), b"enode-4");
    cluster.start(4, &[], 0);
    cluster.propose(b"x");
    for _ in 0..10 {
        cluster.round();
    }
    assert_eq!(cluster.members[&4].applied, vec![b"x".to_vec()]);
    assert_eq!(cluster.members[&4].node.role(), "learner");
    cluster.change(MembershipChange::AddVoter(4), b"");
    let leader = cluster.leader();
    assert_eq!(cluster.members[&leader].node.members().0, vec![1, 2, 3, 4]);
    assert_eq!(cluster.members[&4].node.role(), "verifier");
    cluster.change(MembershipChange::Remove(4), b"");
    assert_eq!(cluster.members[&leader].node.members().0, vec![1, 2, 3]);
}

#[test]
fn a_compacted_log_still_brings_a_lagging_member_up_by_snapshot() {
    let mut cluster = Cluster::new(&[1, 2, 3]);
    cluster.propose(b"first");
    cluster.down.push(3);
    for i in 0..10u8 {
        cluster.propose(&[i]);
    }
    let leader = cluster.leader();
    let applied = cluster.members[&leader].last_index;
    cluster.members.get_mut(&leader).unwrap().node.compact(applied).unwrap();
    let (first_stored, _) =
        cluster.members[&leader].kv.scan_prefix(veil_storage::Table::RaftLog, &[]).unwrap()[0]
            .clone();
    assert_eq!(
        u64::from_be_bytes(first_stored.try_into().unwrap()),
        applied,
        "entries before the index are gone"
    );
    cluster.down.clear();
    for _ in 0..30 {
        cluster.round();
    }
    // Member 3 missed entries that no longer exist: it gets a snapshot and follows from there.
    cluster.propose(b"after");
    // It never saw the ten entries it missed: the snapshot skipped them (the node then fetches
    // those blocks from peers).
    assert_eq!(cluster.members[&3].applied, vec![b"first".to_vec(), b"after".to_vec()]);
}
