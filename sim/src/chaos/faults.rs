//! The fault schedule: one fault per interval, drawn from a seeded generator, each injected,
//! held and healed before the next. Kinds are dealt from a shuffled deck of all seven, so every
//! seven consecutive faults include each kind once (a one-minute run meets them all).

use super::processes::Processes;
use crate::{layout::Layout, rpc};
use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};
use std::time::{Duration, Instant};

/// One fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// `kill -9` of the raft leader, restarted after a while.
    KillLeader,
    /// `kill -9` of a node that does not lead.
    KillFollower,
    /// `kill -9` of two nodes at once (a raft majority of seven survives).
    KillTwo,
    /// `kill -9` of a transaction manager: its node's import halts until it is back.
    KillTm,
    /// SIGSTOP of a follower for 5 s.
    PauseFollower,
    /// SIGSTOP of the leader for 5 s: the others elect another, and it returns as a follower.
    PauseLeader,
    /// One node cut off from all others (p2p, both ways) for a while.
    Partition,
}

const FAULTS: [Fault; 7] = [
    Fault::KillLeader,
    Fault::KillFollower,
    Fault::KillTwo,
    Fault::KillTm,
    Fault::PauseFollower,
    Fault::PauseLeader,
    Fault::Partition,
];

/// The seeded schedule.
#[derive(Debug)]
pub(crate) struct Schedule {
    rng: StdRng,
    nodes: usize,
    /// The fault kinds still to deal from the current deck.
    deck: Vec<Fault>,
}

impl Schedule {
    /// The schedule of `seed` over `nodes` nodes.
    pub(crate) fn new(seed: u64, nodes: usize) -> Self {
        Self { rng: StdRng::seed_from_u64(seed), nodes, deck: Vec::new() }
    }

    /// The next fault.
    pub(crate) fn next_fault(&mut self) -> Fault {
        if self.deck.is_empty() {
            self.deck = FAULTS.to_vec();
            self.deck.shuffle(&mut self.rng);
        }
        self.deck.pop().unwrap_or(Fault::Partition)
    }

    fn node(&mut self) -> usize {
        self.rng.gen_range(1..=self.nodes)
    }

    fn node_other_than(&mut self, not: &[usize]) -> usize {
        loop {
            let n = self.node();
            if !not.contains(&n) {
                return n;
            }
        }
    }

    /// How long a fault lasts: 2 to 5 s.
    fn hold(&mut self) -> Duration {
        Duration::from_millis(self.rng.gen_range(2_000..=5_000))
    }
}

/// Injects `fault`, holds it, heals it; answers the fault log's line.
pub(crate) fn inject(
    fault: &Fault,
    schedule: &mut Schedule,
    processes: &mut Processes,
    layout: &Layout,
    started: Instant,
) -> eyre::Result<String> {
    let at = started.elapsed().as_secs_f64();
    let leader = processes.leader(layout);
    // Without a leader now (an election after the last fault), leader faults hit any node.
    let leader_or_any = |schedule: &mut Schedule| leader.unwrap_or_else(|| schedule.node());
    let follower = |schedule: &mut Schedule| schedule.node_other_than(&[leader.unwrap_or(0)]);
    let hold = schedule.hold();
    let what = match fault {
        Fault::KillLeader | Fault::KillFollower => {
            let n = if *fault == Fault::KillLeader {
                leader_or_any(schedule)
            } else {
                follower(schedule)
            };
            processes.kill_node(n);
            std::thread::sleep(hold);
            processes.restart_node(layout, n)?;
            let role = if Some(n) == leader { "leader" } else { "follower" };
            format!("kill -9 node {n} ({role}), restarted after {:.1} s", hold.as_secs_f64())
        }
        Fault::KillTwo => {
            let a = schedule.node();
            let b = schedule.node_other_than(&[a]);
            processes.kill_node(a);
            processes.kill_node(b);
            std::thread::sleep(hold);
            processes.restart_node(layout, a)?;
            processes.restart_node(layout, b)?;
            format!("kill -9 nodes {a} and {b}, restarted after {:.1} s", hold.as_secs_f64())
        }
        Fault::KillTm => {
            let n = schedule.node();
            processes.kill_tm(n);
            std::thread::sleep(hold);
            processes.restart_tm(layout, n)?;
            format!("kill -9 TM {n}, restarted after {:.1} s", hold.as_secs_f64())
        }
        Fault::PauseFollower | Fault::PauseLeader => {
            let n = if *fault == Fault::PauseLeader {
                leader_or_any(schedule)
            } else {
                follower(schedule)
            };
            processes.pause_node(n, true);
            std::thread::sleep(Duration::from_secs(5));
            processes.pause_node(n, false);
            let role = if Some(n) == leader { "leader" } else { "follower" };
            format!("SIGSTOP node {n} ({role}) for 5 s, then SIGCONT")
        }
        Fault::Partition => {
            let n = schedule.node();
            processes.partition(n, true);
            let cut_off = processes.wait_for_peers(layout, n, 0)?;
            std::thread::sleep(hold.saturating_sub(cut_off));
            // Still alone at the end: no dial found a way around the relays.
            let peers = rpc::call(&layout.rpc_url(n), "net_peerCount", serde_json::json!([]))
                .map(|count| rpc::quantity(&count))?;
            eyre::ensure!(peers == 0, "node {n}, cut off, is connected to {peers} peers again");
            processes.partition(n, false);
            let role = if Some(n) == leader { "leader" } else { "follower" };
            format!(
                "node {n} ({role}) cut off from all others for {:.1} s (0 peers after {:.1} s)",
                hold.max(cut_off).as_secs_f64(),
                cut_off.as_secs_f64()
            )
        }
    };
    Ok(format!("{at:6.1} s  {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seven_faults_hold_each_kind_once_and_a_seed_repeats_its_schedule() {
        let mut schedule = Schedule::new(7, 7);
        let drawn: Vec<Fault> = (0..21).map(|_| schedule.next_fault()).collect();
        for deck in drawn.chunks(7) {
            for kind in FAULTS {
                assert_eq!(deck.iter().filter(|&&f| f == kind).count(), 1, "{kind:?} in {deck:?}");
            }
        }
        let mut again = Schedule::new(7, 7);
        assert_eq!(drawn, (0..21).map(|_| again.next_fault()).collect::<Vec<_>>());
        assert_ne!(drawn[..7], drawn[7..14], "decks are shuffled anew");
    }
}
