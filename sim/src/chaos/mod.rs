//! `veil-sim chaos`: a fault-injection run in the spirit of Jepsen, against the real `veil` and
//! `veil-tm` processes of a local network.
//!
//! While clients send public transfers to every node (each from that node's unlocked account)
//! and node 1 sends a private `set(v)` for the last node every few seconds, a schedule drawn
//! from the seed injects one fault per interval — `kill -9` of the leader, of a follower, of
//! two nodes at once or of a TM, `SIGSTOP` of a follower or of the leader, a partition of one
//! node — and heals it (every killed process is restarted with its own command line). At the
//! end every fault is healed, the load stops, and the invariants are checked ([`check`]):
//! every acknowledged transaction mined exactly once on every node, one chain everywhere,
//! private state equal on the parties and absent elsewhere, no panic, every process running.
//! The seed is printed first, so a failing schedule replays with `--seed`. The nodes reach
//! each other through relays of this process ([`links`]), where partitions are cut.

mod check;
mod faults;
mod links;
mod processes;
mod workload;

pub(crate) use links::restore_static_nodes;

use crate::{layout::Layout, network};
use std::{
    io::Write,
    sync::{atomic::AtomicBool, Arc},
    time::{Duration, Instant},
};

/// What a run does.
#[derive(Clone, Debug)]
pub(crate) struct ChaosOptions {
    /// How long the load and the faults last.
    pub(crate) duration: Duration,
    /// The fault schedule's seed.
    pub(crate) seed: u64,
    /// Public transfers per second, over all nodes.
    pub(crate) rate: u32,
    /// Time between the starts of two faults.
    pub(crate) interval: Duration,
    /// Time between two private `set` calls from node 1.
    pub(crate) private_every: Duration,
}

/// Prints a line at once (a run takes minutes; its log is read while it runs).
pub(crate) fn say(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// Runs the whole experiment on an initialised, stopped network and stops it again. `Ok` is
/// the report of a run whose invariants all held; `Err` says which failed.
pub(crate) fn run(layout: &Layout, options: &ChaosOptions) -> eyre::Result<String> {
    eyre::ensure!(
        !layout.hosts,
        "chaos runs on one host's loopback; for hosts, use cut, heal, limit and delay"
    );
    eyre::ensure!(
        layout.nodes >= 3,
        "a chaos run needs at least 3 nodes (a raft majority survives one fault)"
    );
    say(&format!(
        "chaos: seed {} (replay with --seed {}), {} s, {} transfers/s, a fault every {} s",
        options.seed,
        options.seed,
        options.duration.as_secs(),
        options.rate,
        options.interval.as_secs()
    ));
    let links = links::Links::open(layout)?;
    let relayed = links.relay_static_nodes(layout)?;
    let took = network::start(layout)?;
    say(&format!(
        "chaos: {} nodes and TMs ready in {:.1} s, linked through this process's relays",
        layout.nodes,
        took.as_secs_f64()
    ));
    let result = experiment(layout, options, links);
    let stopped = network::stop(layout);
    drop(relayed);
    let report = result?;
    stopped?;
    Ok(report)
}

fn experiment(
    layout: &Layout,
    options: &ChaosOptions,
    links: links::Links,
) -> eyre::Result<String> {
    let mut processes = processes::Processes::load(layout, links)?;
    let contract = workload::deploy_private_contract(layout)?;
    say(&format!("chaos: private SimpleStorage at {contract} (node 1 and node {})", layout.nodes));
    let stop = Arc::new(AtomicBool::new(false));
    let history = workload::History::default();
    let clients = workload::start(layout, options, &contract, &history, &stop)?;

    let started = Instant::now();
    let mut schedule = faults::Schedule::new(options.seed, layout.nodes);
    let mut fault_log = Vec::new();
    while started.elapsed() + options.interval <= options.duration {
        let next = started + options.interval * (fault_log.len() as u32 + 1);
        let fault = schedule.next_fault();
        let line = faults::inject(&fault, &mut schedule, &mut processes, layout, started)?;
        say(&format!("chaos: {line}"));
        fault_log.push(line);
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    if let Some(rest) = options.duration.checked_sub(started.elapsed()) {
        std::thread::sleep(rest);
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for client in clients {
        let _ = client.join();
    }
    processes.heal_all(layout)?;
    say(&format!(
        "chaos: load stopped after {:.0} s; every process runs; checking invariants",
        started.elapsed().as_secs_f64()
    ));
    let outcome = check::check(layout, &processes, &history.take(), &contract);
    let mut report = format!("seed {}\nfaults:\n", options.seed);
    for line in &fault_log {
        report.push_str(&format!("  {line}\n"));
    }
    match outcome {
        Ok(summary) => {
            report.push_str(&summary);
            Ok(report)
        }
        Err(e) => Err(eyre::eyre!("{report}{e}")),
    }
}
