//! `veil-sim`: a local Veil network — N nodes (Raft, private transactions) and N transaction
//! managers on one machine in GoQuorum 7nodes' layout and port plan ([`layout`]), driven
//! through the real `veil` and `veil-tm` binaries: `init`, `start`, `stop`, `status`, `logs`,
//! `attach`, `run`, `demo`, and `chaos` (a fault-injection run that checks that nothing
//! acknowledged is lost).

mod bench;
mod bins;
mod chaos;
mod demo;
mod hosts;
mod init;
mod layout;
mod network;
mod rpc;

use clap::{Parser, Subcommand};
use layout::Layout;
use std::{path::PathBuf, process::ExitCode};

#[derive(Parser, Debug)]
#[command(
    name = "veil-sim",
    about = "A local Veil network: nodes and transaction managers on one machine"
)]
struct Cli {
    /// The network directory.
    #[arg(long, global = true, default_value = "qdata")]
    dir: PathBuf,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Creates keys, genesis and configuration for a network.
    Init {
        /// How many nodes (and TMs).
        #[arg(long, default_value_t = 7)]
        nodes: usize,
        /// Reuse a 7nodes-style key set: keyN keystores, nodekeyN, tmN.pub / tmN.key.
        #[arg(long)]
        keys: Option<PathBuf>,
        /// Added to every port (to run several networks on one machine).
        #[arg(long, default_value_t = 0)]
        port_offset: u16,
        /// The EVM the chain runs from genesis, by solc's name for it (homestead … osaka):
        /// match an older network, or the `evmVersion` your contracts were compiled for.
        #[arg(long, default_value = "osaka", value_parser = veil_config::fork_of_evm_version)]
        evm_version: veil_config::Hardfork,
        /// How blocks are ordered: raft, or qbft (every node a validator, 1 s blocks).
        #[arg(long, value_enum, default_value_t = layout::Consensus::Raft)]
        consensus: layout::Consensus,
        /// Each node and its TM on a host of their own (a network namespace on a bridge, with
        /// the link proxy between hosts); needs root.
        #[arg(long)]
        hosts: bool,
        /// Under QBFT, how many of the nodes (the first ones) are validators (default: all).
        #[arg(long)]
        validators: Option<usize>,
        /// Privacy enhancements on from genesis (privacyEnhancementsBlock 0, and every TM's
        /// features.enablePrivacyEnhancements): privacy flags 1–3.
        #[arg(long)]
        privacy_enhancements: bool,
    },
    /// With hosts: cuts host N's link (a partition of that host).
    Cut {
        /// The host.
        n: usize,
    },
    /// With hosts: restores host N's link.
    Heal {
        /// The host.
        n: usize,
    },
    /// With hosts: limits host N's link both ways to RATE (tc's units, e.g. 1mbit), or `off`.
    Limit {
        /// The host.
        n: usize,
        /// The rate, or `off`.
        rate: String,
    },
    /// With hosts: the delay of every link between hosts, in milliseconds, with a jitter.
    Delay {
        /// Milliseconds one way.
        ms: f64,
        /// Milliseconds either side of it (uniform).
        #[arg(long, default_value_t = 0.0)]
        jitter: f64,
    },
    /// The link proxy between hosts (`start` runs it).
    #[command(hide = true)]
    LinkProxy,
    /// Starts the TMs, then the nodes; returns once the network is ready.
    Start,
    /// Stops every process of the network.
    Stop,
    /// `kill -9` of node N (a crash), to see what the others do without it.
    Kill {
        /// The node.
        n: usize,
    },
    /// Starts node N again after `kill`, with its own command line.
    Restart {
        /// The node.
        n: usize,
    },
    /// A table: raft role, head, peers, TM up, pending transactions per node.
    Status,
    /// Prints node N's log (with --tm, its TM's).
    Logs {
        /// The node number (1-based).
        n: usize,
        /// The TM's log instead.
        #[arg(long)]
        tm: bool,
    },
    /// Opens node N's JavaScript console (`veil attach` on its IPC socket).
    Attach {
        /// The node number (1-based).
        n: usize,
    },
    /// Runs a script in node N's console (`loadScript`), waiting for its callbacks.
    Run {
        /// The node number (1-based).
        n: usize,
        /// The script.
        script: PathBuf,
    },
    /// Initialises and starts the network when needed, then node 1 deploys a private
    /// SimpleStorage for the last node and every node shows what it sees.
    Demo,
    /// Starts the (initialised, stopped) network, runs public and private load while
    /// injecting faults on a seeded schedule, heals them, checks that every acknowledged
    /// transaction was mined once on every node with one chain and equal private state on the
    /// parties, and stops the network. Exits non-zero when an invariant fails.
    Chaos {
        /// Seconds of load and faults.
        #[arg(long, default_value_t = 90)]
        duration: u64,
        /// The fault schedule's seed (default: a fresh one, printed first).
        #[arg(long)]
        seed: Option<u64>,
        /// Public transfers per second, over all nodes.
        #[arg(long, default_value_t = 150)]
        rate: u32,
        /// Seconds between faults.
        #[arg(long, default_value_t = 10)]
        interval: u64,
        /// Seconds between node 1's private set() calls.
        #[arg(long, default_value_t = 3)]
        private_every: u64,
    },
    /// Caliper-style benchmark rounds against the running network (or the nodes given with
    /// --urls): a table, DIR/NAME.json and an HTML report with charts.
    Bench(bench::BenchArgs),
}

/// Prints to standard output; a closed pipe (`veil-sim status | head -1`) is not an error.
fn say(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn run(cli: Cli) -> eyre::Result<()> {
    match cli.command {
        Cmd::Init {
            nodes,
            keys,
            port_offset,
            evm_version,
            consensus,
            hosts,
            validators,
            privacy_enhancements,
        } => {
            std::fs::create_dir_all(&cli.dir)?;
            let dir = cli.dir.canonicalize()?;
            let layout = Layout { dir, nodes, port_offset, consensus, hosts };
            let options = init::Options {
                keys: keys.as_deref(),
                fork: evm_version,
                validators,
                privacy_enhancements,
            };
            init::init(&layout, &options)?;
            say(&format!("{} nodes and TMs initialised in {}\n", nodes, layout.dir.display()));
        }
        Cmd::Start => {
            let layout = Layout::load(&cli.dir.canonicalize()?)?;
            chaos::restore_static_nodes(&layout)?;
            let took = network::start(&layout)?;
            say(&format!("{} nodes and TMs ready in {:.1} s\n", layout.nodes, took.as_secs_f64()));
            say(&network::status(&layout)?);
        }
        Cmd::Stop => {
            let layout = Layout::load(&cli.dir.canonicalize()?)?;
            say(&format!("stopped {} processes\n", network::stop(&layout)?));
        }
        Cmd::Kill { n } => {
            network::kill_node(&Layout::load(&cli.dir.canonicalize()?)?, n)?;
            say(&format!("node {n} killed\n"));
        }
        Cmd::Restart { n } => {
            network::restart_node(&Layout::load(&cli.dir.canonicalize()?)?, n)?;
            say(&format!("node {n} restarted\n"));
        }
        Cmd::Status => say(&network::status(&Layout::load(&cli.dir.canonicalize()?)?)?),
        Cmd::Cut { n } => {
            hosts::cut(&Layout::load(&cli.dir.canonicalize()?)?, n, true)?;
            say(&format!("host {n} cut off\n"));
        }
        Cmd::Heal { n } => {
            hosts::cut(&Layout::load(&cli.dir.canonicalize()?)?, n, false)?;
            say(&format!("host {n} linked again\n"));
        }
        Cmd::Limit { n, rate } => {
            hosts::limit(&Layout::load(&cli.dir.canonicalize()?)?, n, &rate)?;
            say(&format!("host {n}'s link: {rate}\n"));
        }
        Cmd::Delay { ms, jitter } => {
            hosts::proxy::set_delay(&Layout::load(&cli.dir.canonicalize()?)?, ms, jitter)?;
            say(&format!("links between hosts: {ms} ms ± {jitter} ms\n"));
        }
        Cmd::LinkProxy => hosts::proxy::run(&Layout::load(&cli.dir.canonicalize()?)?)?,
        Cmd::Logs { n, tm } => {
            let layout = Layout::load(&cli.dir.canonicalize()?)?;
            eyre::ensure!(layout.numbers().contains(&n), "there is no node {n}");
            let path = if tm {
                layout.tm_dir(n).join("tm.log")
            } else {
                layout.node_dir(n).join("node.log")
            };
            say(&std::fs::read_to_string(&path)
                .map_err(|e| eyre::eyre!("{}: {e}", path.display()))?);
        }
        Cmd::Attach { n } => attach(&cli.dir, n, None)?,
        Cmd::Run { n, script } => {
            let source = format!(
                "loadScript({})",
                serde_json::to_string(&script.canonicalize()?.display().to_string())?
            );
            attach(&cli.dir, n, Some(&source))?;
        }
        Cmd::Chaos { duration, seed, rate, interval, private_every } => {
            let layout = Layout::load(&cli.dir.canonicalize()?)?;
            let options = chaos::ChaosOptions {
                duration: std::time::Duration::from_secs(duration),
                seed: seed.unwrap_or_else(rand::random),
                rate,
                interval: std::time::Duration::from_secs(interval.max(1)),
                private_every: std::time::Duration::from_secs(private_every.max(1)),
            };
            say(&chaos::run(&layout, &options)?);
        }
        Cmd::Bench(args) => bench::run(&cli.dir, args)?,
        Cmd::Demo => {
            if !cli.dir.join("network.json").exists() {
                std::fs::create_dir_all(&cli.dir)?;
                let layout = Layout {
                    dir: cli.dir.canonicalize()?,
                    nodes: 7,
                    port_offset: 0,
                    consensus: layout::Consensus::Raft,
                    hosts: false,
                };
                let options = init::Options {
                    keys: None,
                    fork: veil_config::NEWEST_FORK,
                    validators: None,
                    privacy_enhancements: false,
                };
                init::init(&layout, &options)?;
                say(&format!("7 nodes and TMs initialised in {}\n", layout.dir.display()));
            }
            let layout = Layout::load(&cli.dir.canonicalize()?)?;
            if !network::is_running(&layout) {
                chaos::restore_static_nodes(&layout)?;
                let took = network::start(&layout)?;
                say(&format!(
                    "{} nodes and TMs ready in {:.1} s\n",
                    layout.nodes,
                    took.as_secs_f64()
                ));
            }
            say(&network::status(&layout)?);
            say("\n");
            say(&demo::demo(&layout)?);
            say("\nThe network keeps running: `veil-sim status`, `veil-sim stop`.\n");
        }
    }
    Ok(())
}

/// `veil attach` on node `n`'s IPC socket, in place of this process (exec): the console owns
/// the terminal and its signals — a Ctrl-C that stops a running evaluation must not end a
/// parent veil-sim and the session with it — and its exit status is the command's.
fn attach(dir: &std::path::Path, n: usize, exec: Option<&str>) -> eyre::Result<()> {
    use std::os::unix::process::CommandExt;
    let layout = Layout::load(&dir.canonicalize()?)?;
    eyre::ensure!(layout.numbers().contains(&n), "there is no node {n}");
    let mut command = std::process::Command::new(bins::veil()?);
    command.arg("attach");
    if let Some(source) = exec {
        command.args(["--exec", source]);
    }
    command.arg(format!("ipc:{}", layout.node_dir(n).join("veil.ipc").display()));
    Err(eyre::eyre!("cannot run {}: {}", bins::veil()?.display(), command.exec()))
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("veil-sim: {e}");
            ExitCode::FAILURE
        }
    }
}
