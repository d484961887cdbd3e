//! The network's processes during a chaos run: which pid runs each node and TM, which are
//! killed, paused or cut off, and how each is brought back.

use super::links::Links;
use crate::{layout::Layout, network, rpc};
use serde_json::json;
use std::{
    collections::BTreeSet,
    process::Command,
    time::{Duration, Instant},
};

/// Pids by node number (index n - 1), and what is currently wrong with them.
#[derive(Debug)]
pub(crate) struct Processes {
    tms: Vec<u32>,
    nodes: Vec<u32>,
    /// Nodes under SIGSTOP.
    paused: BTreeSet<usize>,
    /// The node cut off from the others.
    partitioned: Option<usize>,
    /// The relays between the nodes, where partitions are cut.
    links: Links,
}

fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill").args([&format!("-{name}"), &pid.to_string()]).status();
}

impl Processes {
    /// The processes `veil-sim start` recorded (TMs first, then nodes), linked by `links`.
    pub(crate) fn load(layout: &Layout, links: Links) -> eyre::Result<Self> {
        let pids: Vec<u32> = serde_json::from_slice(&std::fs::read(layout.pids_file())?)?;
        eyre::ensure!(pids.len() == 2 * layout.nodes, "pids.json does not list every process");
        Ok(Self {
            tms: pids[..layout.nodes].to_vec(),
            nodes: pids[layout.nodes..].to_vec(),
            paused: BTreeSet::new(),
            partitioned: None,
            links,
        })
    }

    fn save(&self, layout: &Layout) -> eyre::Result<()> {
        let all: Vec<u32> = self.tms.iter().chain(&self.nodes).copied().collect();
        network::save_pids(layout, &all)
    }

    /// Every current pid: TMs, then nodes.
    pub(crate) fn all(&self) -> impl Iterator<Item = (String, u32)> + '_ {
        let tms = self.tms.iter().enumerate().map(|(i, pid)| (format!("TM {}", i + 1), *pid));
        let nodes = self.nodes.iter().enumerate().map(|(i, pid)| (format!("node {}", i + 1), *pid));
        tms.chain(nodes)
    }

    /// The node that is raft leader now, asked of every node that answers.
    pub(crate) fn leader(&self, layout: &Layout) -> Option<usize> {
        layout.numbers().find(|&n| {
            !self.paused.contains(&n)
                && rpc::call(&layout.rpc_url(n), "raft_role", json!([]))
                    .is_ok_and(|role| role == "minter")
        })
    }

    /// `kill -9` of node `n`.
    pub(crate) fn kill_node(&mut self, n: usize) {
        signal(self.nodes[n - 1], "KILL");
    }

    /// `kill -9` of TM `n`.
    pub(crate) fn kill_tm(&mut self, n: usize) {
        signal(self.tms[n - 1], "KILL");
    }

    /// Starts node `n` again with its own command line, once its old process is gone.
    pub(crate) fn restart_node(&mut self, layout: &Layout, n: usize) -> eyre::Result<()> {
        network::wait_gone(self.nodes[n - 1])?;
        self.nodes[n - 1] = network::spawn_node(layout, n)?;
        self.save(layout)
    }

    /// Starts TM `n` again with its own command line, once its old process is gone.
    pub(crate) fn restart_tm(&mut self, layout: &Layout, n: usize) -> eyre::Result<()> {
        network::wait_gone(self.tms[n - 1])?;
        self.tms[n - 1] = network::spawn_tm(layout, n)?;
        self.save(layout)
    }

    /// SIGSTOP (or SIGCONT) of node `n`.
    pub(crate) fn pause_node(&mut self, n: usize, paused: bool) {
        if paused {
            signal(self.nodes[n - 1], "STOP");
            self.paused.insert(n);
        } else {
            signal(self.nodes[n - 1], "CONT");
            self.paused.remove(&n);
        }
    }

    /// Cuts node `n`'s p2p links with every other node, both ways, or restores them.
    pub(crate) fn partition(&mut self, n: usize, cut: bool) {
        self.links.isolate(n, cut);
        self.partitioned = cut.then_some(n);
    }

    /// Waits until node `n` counts `peers` peers (a cut taking effect), for up to 30 s;
    /// answers how long it took, or says the fault did not take.
    pub(crate) fn wait_for_peers(
        &self,
        layout: &Layout,
        n: usize,
        peers: u64,
    ) -> eyre::Result<Duration> {
        let started = Instant::now();
        loop {
            let count = rpc::call(&layout.rpc_url(n), "net_peerCount", json!([]))
                .map(|count| rpc::quantity(&count));
            match count {
                Ok(count) if count == peers => return Ok(started.elapsed()),
                _ if started.elapsed() > Duration::from_secs(30) => {
                    return Err(eyre::eyre!(
                        "node {n} did not come to {peers} peers within 30 s (last: {count:?})"
                    ))
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Ends every fault: paused nodes continue, dead processes are restarted, a partition heals.
    pub(crate) fn heal_all(&mut self, layout: &Layout) -> eyre::Result<()> {
        for n in std::mem::take(&mut self.paused) {
            signal(self.nodes[n - 1], "CONT");
        }
        for n in layout.numbers() {
            if !network::alive(self.tms[n - 1]) {
                self.restart_tm(layout, n)?;
            }
        }
        for n in layout.numbers() {
            if !network::alive(self.nodes[n - 1]) {
                self.restart_node(layout, n)?;
            }
        }
        if let Some(n) = self.partitioned {
            self.partition(n, false);
        }
        Ok(())
    }
}
