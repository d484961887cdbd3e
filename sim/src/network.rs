//! Starting, stopping and inspecting a network: TMs first (until `/upcheck` answers), then the
//! nodes (until each knows the raft leader, or a QBFT network decided a block, and each has
//! every other node as a peer).

use crate::{
    bins, hosts,
    layout::{Consensus, Layout},
    rpc,
};
use serde_json::{json, Value};
use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

/// The namespaces a simulated node serves over HTTP (as 7nodes' `--rpcapi`).
const APIS: &str = "admin,debug,eth,istanbul,net,personal,qbft,raft,txpool,web3";

/// Whether process `pid` runs (a zombie does not).
pub(crate) fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

fn running_pids(layout: &Layout) -> Vec<u32> {
    let Ok(text) = std::fs::read_to_string(layout.pids_file()) else { return Vec::new() };
    let pids: Vec<u32> = serde_json::from_str(&text).unwrap_or_default();
    pids.into_iter().filter(|&pid| alive(pid)).collect()
}

/// Whether any process of the network runs.
pub(crate) fn is_running(layout: &Layout) -> bool {
    !running_pids(layout).is_empty()
}

/// Spawns `command`, logging to `log`. It stays in `veil-sim`'s process group: a Ctrl-C while
/// `start` waits reaches every process started so far, and each shuts down cleanly; once
/// `start` has returned, the shell's later Ctrl-Cs go to other jobs.
fn spawn(mut command: Command, log: &std::path::Path) -> eyre::Result<u32> {
    let file = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
    let child = command.stdin(Stdio::null()).stdout(file.try_clone()?).stderr(file).spawn()?;
    Ok(child.id())
}

/// Waits until `ready`, failing early when one of `processes` (pid, log) exits, with the end of
/// its log.
fn wait_for(
    what: &str,
    timeout: Duration,
    processes: &[(u32, std::path::PathBuf)],
    mut ready: impl FnMut() -> bool,
) -> eyre::Result<()> {
    let deadline = Instant::now() + timeout;
    while !ready() {
        if let Some((pid, log)) = processes.iter().find(|(pid, _)| !alive(*pid)) {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> =
                text.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect();
            eyre::bail!(
                "process {pid} exited while waiting for {what}; {}:\n{}",
                log.display(),
                tail.join("\n")
            );
        }
        eyre::ensure!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// The first account in node `n`'s keystore.
pub(crate) fn account(layout: &Layout, n: usize) -> eyre::Result<String> {
    let dir = layout.node_dir(n).join("keystore");
    let file = std::fs::read_dir(&dir)?
        .flatten()
        .map(|e| e.path())
        .min()
        .ok_or_else(|| eyre::eyre!("{}: no account", dir.display()))?;
    let value: Value = serde_json::from_str(&std::fs::read_to_string(&file)?)?;
    Ok(format!("0x{}", value["address"].as_str().unwrap_or_default().trim_start_matches("0x")))
}

/// Starts every TM, then every node; answers how long until the network was ready.
pub(crate) fn start(layout: &Layout) -> eyre::Result<Duration> {
    let running = running_pids(layout);
    eyre::ensure!(
        running.is_empty(),
        "the network in {} is already running ({} processes); `veil-sim stop --dir {}` first",
        layout.dir.display(),
        running.len(),
        layout.dir.display()
    );
    let started = Instant::now();
    if layout.hosts {
        hosts::create(layout)?;
        if let Err(e) = start_link_proxy(layout) {
            hosts::destroy(layout);
            return Err(e);
        }
    }
    let mut pids = Vec::new();
    let result = start_processes(layout, &mut pids);
    save_pids(layout, &pids)?;
    if let Err(e) = result {
        stop(layout)?;
        return Err(e);
    }
    Ok(started.elapsed())
}

/// The command that runs TM `n`.
pub(crate) fn tm_command(layout: &Layout, n: usize) -> eyre::Result<Command> {
    let mut command = Command::new(bins::veil_tm()?);
    command.arg("--configfile").arg(layout.tm_dir(n).join("tm.json"));
    Ok(command)
}

/// The command that runs node `n`.
pub(crate) fn node_command(layout: &Layout, n: usize) -> eyre::Result<Command> {
    let dir = layout.node_dir(n);
    let mut command = Command::new(bins::veil()?);
    command
        .arg("--datadir")
        .arg(&dir)
        .args(["--nodiscover", "--permissioned", "--verbosity", "3"])
        .args(["--port", &layout.p2p_port(n).to_string()])
        .args(["--http", "--http.addr", &layout.host_ip(n), "--http.api", APIS])
        .args(["--http.port", &layout.rpc_port(n).to_string()])
        .args(["--ws", "--ws.addr", &layout.host_ip(n), "--ws.api", APIS])
        .args(["--ws.port", &layout.ws_port(n).to_string()])
        .args(["--metrics", "--metrics.addr", &layout.host_ip(n)])
        .args(["--metrics.port", &layout.metrics_port(n).to_string()])
        .arg("--ptm.socket")
        .arg(layout.tm_socket(n))
        // Fourteen processes share one machine's disk: a TM's first send (two fsyncs, its
        // own and the recipient's) took over the default 5 s once under a full test run.
        .args(["--ptm.timeout", "30"])
        .args(["--unlock", &account(layout, n)?, "--allow-insecure-unlock"])
        .arg("--password")
        .arg(layout.dir.join("passwords.txt"));
    if layout.consensus == Consensus::Raft {
        command.arg("--raft").args(["--raftport", &layout.raft_port(n).to_string()]);
    }
    Ok(command)
}

/// Starts TM `n`, logging to its `tm.log`; answers its pid.
pub(crate) fn spawn_tm(layout: &Layout, n: usize) -> eyre::Result<u32> {
    spawn(hosts::inside(layout, n, tm_command(layout, n)?), &layout.tm_dir(n).join("tm.log"))
}

/// Starts node `n`, logging to its `node.log`; answers its pid.
pub(crate) fn spawn_node(layout: &Layout, n: usize) -> eyre::Result<u32> {
    spawn(hosts::inside(layout, n, node_command(layout, n)?), &layout.node_dir(n).join("node.log"))
}

/// Every recorded process id (TMs, then nodes), running or not.
pub(crate) fn recorded_pids(layout: &Layout) -> eyre::Result<Vec<u32>> {
    let pids: Vec<u32> =
        serde_json::from_slice(&std::fs::read(layout.pids_file()).map_err(|e| {
            eyre::eyre!("{}: {e}; is the network started?", layout.pids_file().display())
        })?)?;
    eyre::ensure!(pids.len() == 2 * layout.nodes, "pids.json does not list every process");
    Ok(pids)
}

/// `kill -9` of node `n` (a crash: nothing is shut down cleanly); answers once it is gone.
pub(crate) fn kill_node(layout: &Layout, n: usize) -> eyre::Result<()> {
    eyre::ensure!(layout.numbers().contains(&n), "there is no node {n}");
    let pid = recorded_pids(layout)?[layout.nodes + n - 1];
    eyre::ensure!(alive(pid), "node {n} is not running");
    let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
    wait_gone(pid)
}

/// Waits for a killed process to be gone (its ports free), for up to 10 s.
pub(crate) fn wait_gone(pid: u32) -> eyre::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) {
        eyre::ensure!(Instant::now() < deadline, "process {pid} did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Starts node `n` again with its own command line (it must not be running); answers once
/// its JSON-RPC answers.
pub(crate) fn restart_node(layout: &Layout, n: usize) -> eyre::Result<()> {
    eyre::ensure!(layout.numbers().contains(&n), "there is no node {n}");
    let mut pids = recorded_pids(layout)?;
    let slot = layout.nodes + n - 1;
    eyre::ensure!(!alive(pids[slot]), "node {n} is running already");
    pids[slot] = spawn_node(layout, n)?;
    save_pids(layout, &pids)?;
    let url = layout.rpc_url(n);
    let log = layout.node_dir(n).join("node.log");
    wait_for(&format!("node {n} to answer"), Duration::from_secs(60), &[(pids[slot], log)], || {
        rpc::call(&url, "eth_blockNumber", json!([])).is_ok()
    })
}

/// Records the network's process ids (for `stop` and `status`).
pub(crate) fn save_pids(layout: &Layout, pids: &[u32]) -> eyre::Result<()> {
    Ok(std::fs::write(layout.pids_file(), serde_json::to_vec(pids)?)?)
}

/// The file holding the link proxy's process id, with hosts.
fn link_proxy_pid_file(layout: &Layout) -> std::path::PathBuf {
    layout.dir.join("link-proxy.pid")
}

/// Starts `veil-sim link-proxy` for the network's hosts and waits until it listens.
fn start_link_proxy(layout: &Layout) -> eyre::Result<()> {
    let mut command = Command::new(std::env::current_exe()?);
    command.arg("--dir").arg(&layout.dir).arg("link-proxy");
    let log = layout.dir.join("link-proxy.log");
    let pid = spawn(command, &log)?;
    std::fs::write(link_proxy_pid_file(layout), pid.to_string())?;
    let address = format!("{}:{}", layout.bridge_ip(), layout.tm_p2p_port(layout.nodes));
    wait_for("the link proxy", Duration::from_secs(10), &[(pid, log)], || {
        std::net::TcpStream::connect(&address).is_ok()
    })
}

fn start_processes(layout: &Layout, pids: &mut Vec<u32>) -> eyre::Result<()> {
    let mut processes = Vec::new();
    for n in layout.numbers() {
        let pid = spawn_tm(layout, n)?;
        pids.push(pid);
        processes.push((pid, layout.tm_dir(n).join("tm.log")));
    }
    for n in layout.numbers() {
        let url = format!("{}/upcheck", layout.tm_p2p_binding(n));
        wait_for(&format!("TM {n} ({url})"), Duration::from_secs(30), &processes, || {
            rpc::is_up(&url)
        })?;
    }
    for n in layout.numbers() {
        let pid = spawn_node(layout, n)?;
        pids.push(pid);
        processes.push((pid, layout.node_dir(n).join("node.log")));
    }
    let peers = layout.nodes as u64 - 1;
    for n in layout.numbers() {
        let url = layout.rpc_url(n);
        wait_for(
            &format!("node {n} to know the leader and {peers} peers"),
            Duration::from_secs(60),
            &processes,
            || {
                let ordering = match layout.consensus {
                    Consensus::Raft => rpc::call(&url, "raft_leader", json!([])).is_ok(),
                    // QBFT: the validators decided a block.
                    Consensus::Qbft => rpc::call(&url, "eth_blockNumber", json!([]))
                        .is_ok_and(|h| rpc::quantity(&h) >= 1),
                };
                ordering
                    && rpc::call(&url, "net_peerCount", json!([]))
                        .is_ok_and(|p| rpc::quantity(&p) >= peers)
            },
        )?;
    }
    Ok(())
}

/// Stops every process of the network: SIGTERM, then SIGKILL after 30 s.
pub(crate) fn stop(layout: &Layout) -> eyre::Result<usize> {
    let pids = running_pids(layout);
    for pid in &pids {
        let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while pids.iter().any(|&pid| alive(pid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    for pid in pids.iter().filter(|&&pid| alive(pid)) {
        let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
    }
    let _ = std::fs::remove_file(layout.pids_file());
    if layout.hosts {
        if let Some(pid) = std::fs::read_to_string(link_proxy_pid_file(layout))
            .ok()
            .and_then(|text| text.trim().parse::<u32>().ok())
            .filter(|&pid| alive(pid))
        {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            let _ = wait_gone(pid);
        }
        let _ = std::fs::remove_file(link_proxy_pid_file(layout));
        hosts::destroy(layout);
    }
    Ok(pids.len())
}

/// One line per node: its role (raft's, or a QBFT validator's), head, QBFT round and proposer,
/// peers, TM up, pending transactions.
pub(crate) fn status(layout: &Layout) -> eyre::Result<String> {
    let mut out = String::from(
        "| node | role | head | round | peers | TM up | pending txs |\n|---|---|---|---|---|---|---|\n",
    );
    for n in layout.numbers() {
        let url = layout.rpc_url(n);
        let field = |method: &str| rpc::call(&url, method, json!([])).ok();
        let (role, round) = match layout.consensus {
            Consensus::Raft => {
                let role = field("raft_role").and_then(|r| r.as_str().map(str::to_string));
                // No rounds in Raft: a dash for a node that answers.
                let round = role.as_ref().map(|_| "-".to_string());
                (role, round)
            }
            Consensus::Qbft => match field("qbft_getRoundStatus") {
                Some(s) => {
                    let role = if s["validator"] == true { "validator" } else { "member" };
                    let round = match (s["height"].as_u64(), s["round"].as_u64()) {
                        (Some(h), Some(r)) => {
                            format!("{h}/{r} by {}", s["proposer"].as_str().unwrap_or("?"))
                        }
                        _ => "-".into(),
                    };
                    (Some(role.to_string()), Some(round))
                }
                None => (None, None),
            },
        };
        let head = field("eth_blockNumber").map(|h| rpc::quantity(&h).to_string());
        let peers = field("net_peerCount").map(|p| rpc::quantity(&p).to_string());
        let pending = field("txpool_status").map(|s| rpc::quantity(&s["pending"]).to_string());
        let tm_up = rpc::is_up(&format!("{}/upcheck", layout.tm_p2p_binding(n)));
        let show = |v: Option<String>| v.unwrap_or_else(|| "down".into());
        out.push_str(&format!(
            "| {n} | {} | {} | {} | {} | {} | {} |\n",
            show(role),
            show(head),
            show(round),
            show(peers),
            if tm_up { "yes" } else { "no" },
            show(pending)
        ));
    }
    Ok(out)
}
