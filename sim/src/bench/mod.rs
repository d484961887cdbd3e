//! `veil-sim bench`: Caliper-style rounds against a running network — the `veil-sim` network
//! in `--dir`, or any nodes given by URL — each with a workload, a rate controller and a
//! duration or a transaction count. Per round: successes and failures, send rate,
//! throughput, latency, and the resources of the network's processes; written as a table on
//! the terminal, as JSON and as an HTML report with charts.

mod report;
mod resources;
mod round;
mod spec;
mod stats;
mod transactions;
mod unmined;

use crate::layout::Layout;
use jsonrpsee::{core::client::ClientT, http_client::HttpClientBuilder, rpc_params};
use resources::Watched;
use serde_json::{json, Value};
use std::{path::Path, sync::Arc, time::Duration};

/// `veil-sim bench`'s options.
#[derive(clap::Args, Debug)]
pub(crate) struct BenchArgs {
    /// A round: `WORKLOAD[:key=value,...]`, repeatable, run in order. Workloads: transfer,
    /// write (SimpleStorage set), read (SimpleStorage get, eth_call), private. Keys: seconds=S
    /// or count=N (when to stop sending; default 30 s); rate=R (fixed rate), ramp=A-B (linear
    /// rate), load=N (fixed load: N in flight), none of them: as fast as answered;
    /// clients=C; label=NAME; for private, recipients=K and flag=F (calls to a contract
    /// deployed with privacy flag F). Default: one short standard round, `transfer:seconds=20`.
    #[arg(long = "round")]
    rounds: Vec<String>,
    /// Clients (each with a fresh key), unless a round says.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Nodes' JSON-RPC URLs, comma-separated, instead of the network in --dir.
    #[arg(long, value_delimiter = ',')]
    urls: Vec<String>,
    /// With --urls: their TMs' ThirdParty URLs (for private rounds), in the same order.
    #[arg(long, value_delimiter = ',')]
    tm_urls: Vec<String>,
    /// With --urls: their TMs' public keys (for private rounds), in the same order.
    #[arg(long, value_delimiter = ',')]
    tm_keys: Vec<String>,
    /// With --urls: process ids to watch (CPU, memory, disk), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pids: Vec<u32>,
    /// Seconds to wait after sending for accepted transactions to be mined.
    #[arg(long, default_value_t = 10)]
    settle: u64,
    /// Where the reports go: DIR/NAME.json and DIR/NAME.html.
    #[arg(long, default_value = ".")]
    out: std::path::PathBuf,
    /// The reports' file name, without extension.
    #[arg(long, default_value = "veil-bench")]
    name: String,
}

/// Runs the rounds and writes the reports.
pub(crate) fn run(dir: &Path, args: BenchArgs) -> eyre::Result<()> {
    let specs = if args.rounds.is_empty() {
        vec![spec::RoundSpec::parse(spec::STANDARD_ROUND, args.clients)?]
    } else {
        args.rounds
            .iter()
            .map(|r| spec::RoundSpec::parse(r, args.clients))
            .collect::<eyre::Result<_>>()?
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let (target, network) = target(dir, &args).await?;
        let mut rounds = Vec::new();
        for spec in &specs {
            eprintln!(
                "round {}: {}, {}, {}, {} clients",
                spec.label, spec.workload, spec.control, spec.end, spec.clients
            );
            let measured = round::run(&target, spec, Duration::from_secs(args.settle)).await?;
            rounds.push(stats::report(spec, &measured));
        }
        let environment = environment(&network);
        let table = report::summary_table(&rounds);
        println!("{table}");
        for r in &rounds {
            println!("{}", report::resource_table(r));
        }
        std::fs::create_dir_all(&args.out)?;
        let json_path = args.out.join(format!("{}.json", args.name));
        let html_path = args.out.join(format!("{}.html", args.name));
        let report = json!({ "environment": environment, "network": network, "rounds": rounds });
        std::fs::write(&json_path, serde_json::to_string_pretty(&report)?)?;
        std::fs::write(
            &html_path,
            report::html(
                &rounds,
                &format!("{environment}\n{}", serde_json::to_string_pretty(&network)?),
            )?,
        )?;
        println!("reports: {} and {}", json_path.display(), html_path.display());
        Ok(())
    })
}

/// The nodes, TMs and processes to run against, from `--urls` or the network in `dir`.
async fn target(dir: &Path, args: &BenchArgs) -> eyre::Result<(round::Target, Value)> {
    let (urls, tms, processes) = if args.urls.is_empty() {
        let layout = Layout::load(dir)?;
        eyre::ensure!(
            crate::network::is_running(&layout),
            "the network in {} is not running (veil-sim start)",
            dir.display()
        );
        let urls: Vec<String> = layout.numbers().map(|n| layout.rpc_url(n)).collect();
        let tms = layout
            .numbers()
            .map(|n| Ok((layout.tm_third_party_url(n), layout.tm_key(n)?)))
            .collect::<eyre::Result<Vec<_>>>()?;
        let pids = crate::network::recorded_pids(&layout)?;
        let processes: Vec<Watched> = layout
            .numbers()
            .map(|n| Watched { name: format!("node{n}"), pid: pids[layout.nodes + n - 1] })
            .chain(layout.numbers().map(|n| Watched { name: format!("tm{n}"), pid: pids[n - 1] }))
            .collect();
        (urls, tms, processes)
    } else {
        eyre::ensure!(
            args.tm_urls.len() == args.tm_keys.len()
                && (args.tm_urls.is_empty() || args.tm_urls.len() == args.urls.len()),
            "--tm-urls and --tm-keys need one entry per node of --urls"
        );
        let tms = args.tm_urls.iter().cloned().zip(args.tm_keys.iter().cloned()).collect();
        let processes = args
            .pids
            .iter()
            .enumerate()
            .map(|(i, pid)| Watched { name: format!("process{}", i + 1), pid: *pid })
            .collect();
        (args.urls.clone(), tms, processes)
    };
    let nodes = urls
        .iter()
        .map(|url| {
            let client =
                HttpClientBuilder::default().request_timeout(Duration::from_secs(30)).build(url)?;
            Ok((url.clone(), client))
        })
        .collect::<eyre::Result<Vec<_>>>()?;
    let chain_id: Value = nodes[0].1.request("eth_chainId", rpc_params![]).await?;
    let chain_id = crate::rpc::quantity(&chain_id);
    let tms = tms
        .into_iter()
        .map(|(url, key)| {
            let endpoint = url.parse().map_err(|e: String| eyre::eyre!("TM URL {url}: {e}"))?;
            Ok((Arc::new(veil_tm_api::TmClient::new(endpoint)), key))
        })
        .collect::<eyre::Result<Vec<_>>>()?;
    let network = json!({
        "nodes": urls, "chain_id": chain_id,
        "processes": processes.iter().map(|p: &Watched| json!({ "name": p.name, "pid": p.pid })).collect::<Vec<_>>(),
    });
    Ok((round::Target { nodes, tms, chain_id, processes }, network))
}

/// The machine and the command line, for the report.
fn environment(network: &Value) -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().next().map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_string())
        })
        .and_then(|kib| kib.parse::<u64>().ok())
        .map_or(0, |kib| kib / 1024 / 1024);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "machine: {cpus} CPUs ({cpu_model}), {memory} GiB memory, Linux {}\ncommand: {}\nnodes: {}",
        kernel.trim(),
        std::env::args().collect::<Vec<_>>().join(" "),
        network["nodes"].as_array().map_or(0, Vec::len),
    )
}
