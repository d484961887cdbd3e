//! `raft-load`: Caliper-style load on a Raft network. Clients send pre-signed transfers from
//! fresh keys (gas-free chains) round-robin to every node's HTTP endpoint for a duration; a
//! watcher follows the chain on one node. Reports sent, accepted, mined, success rate, mined
//! transactions per second, send-to-block latency percentiles, and CPU and peak memory of the
//! given node processes; a human table on stdout and the same as JSON in `--json`.
//!
//! With `--tm-urls` and `--tm-keys` (each node's TM ThirdParty URL and public key) it sends
//! private transactions instead, as web3js-quorum does: a 1 KiB payload is stored with the
//! client's node's TM (`/storeraw`), the transaction carrying its hash is signed as private
//! (V = 37/38) and sent with `eth_sendRawPrivateTransaction` for the next `--recipients`
//! nodes' keys.
//!
//! With `--contract-flag F` each private client first deploys a SimpleStorage of its own with
//! privacy flag F for its recipients (and waits until it is mined), then sends `set(n)` calls
//! to it with flag F: the workload that prices privacy enhancements (F = 1 party protection,
//! 3 private state validation) against standard private contracts (F = 0).

use alloy_consensus::TxLegacy;
use alloy_primitives::{hex, Address, TxKind, B256, U256};
use clap::Parser;
use jsonrpsee::{core::client::ClientT, http_client::HttpClientBuilder, rpc_params};
use serde_json::{json, Value};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

#[derive(Parser, Debug)]
#[command(about = "Raft network load: sent, mined, TPS, latency, CPU and memory per node")]
struct Args {
    /// Node HTTP endpoints, comma-separated.
    #[arg(long, value_delimiter = ',')]
    nodes: Vec<String>,
    /// Node process ids (for CPU and memory), comma-separated, in the order of `--nodes`.
    #[arg(long, value_delimiter = ',')]
    pids: Vec<u32>,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Total send rate in transactions per second, spread over the clients (Caliper's
    /// fixed-rate control); 0 sends as fast as the nodes answer.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// How long to send, in seconds.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Chain id of the transfers.
    #[arg(long, default_value_t = 1337)]
    chain_id: u64,
    /// Private mode: each node's TM ThirdParty URL, comma-separated, in the order of `--nodes`.
    #[arg(long, value_delimiter = ',')]
    tm_urls: Vec<String>,
    /// Private mode: each node's TM public key, in the order of `--nodes`.
    #[arg(long, value_delimiter = ',')]
    tm_keys: Vec<String>,
    /// Private mode: recipients per transaction (the next nodes' keys).
    #[arg(long, default_value_t = 1)]
    recipients: usize,
    /// Private mode: payload size in bytes.
    #[arg(long, default_value_t = 1024)]
    payload_bytes: usize,
    /// Private mode: calls to a contract of each client's, deployed with this privacy flag.
    #[arg(long)]
    contract_flag: Option<u8>,
    /// Where to write the JSON report.
    #[arg(long, default_value = "raft-load.json")]
    json: String,
}

/// SimpleStorage(42)'s deployment data (`set(uint)` is 0x60fe47b1).
const SIMPLE_STORAGE_42: &str = "602060506000396000516000556037601960003960376000f360003560e01c806360fe47b114601d57636d4ce63c14602b57600080fd5b6004358060005560006000a1005b60005460005260206000f3000000000000000000000000000000000000000000000000000000000000002a";

/// A private transaction carrying `hash` (what `/storeraw` returned) to `to` (a creation
/// when `None`).
fn private_call(
    key: &secp256k1::SecretKey,
    nonce: u64,
    hash: &[u8],
    to: Option<Address>,
) -> (B256, String) {
    let tx = TxLegacy {
        chain_id: None,
        nonce,
        gas_price: 0,
        gas_limit: 200_000,
        to: to.map_or(TxKind::Create, TxKind::Call),
        value: U256::ZERO,
        input: alloy_primitives::Bytes::copy_from_slice(hash),
    };
    let signed = veil_primitives::sign_private_transaction(tx, key);
    (signed.hash(), format!("0x{}", hex::encode(signed.encoded_2718())))
}

/// How a client makes its next transaction.
#[derive(Clone)]
enum Workload {
    Transfers {
        chain_id: u64,
    },
    Private {
        tm: Arc<veil_tm_api::TmClient>,
        from: String,
        to: Vec<String>,
        payload_bytes: usize,
        /// `set(n)` calls to this contract with this flag, instead of payloads to no code.
        contract: Option<(Address, u8)>,
    },
}

impl Workload {
    /// The transaction's hash and the JSON-RPC call that sends it.
    async fn next(
        &self,
        key: &secp256k1::SecretKey,
        nonce: u64,
    ) -> eyre::Result<(B256, &'static str, Vec<Value>)> {
        match self {
            Workload::Transfers { chain_id } => {
                let (hash, raw) = transfer(key, *chain_id, nonce);
                Ok((hash, "eth_sendRawTransaction", vec![json!(raw)]))
            }
            Workload::Private { tm, from, to, payload_bytes, contract } => {
                let payload: Vec<u8> = match contract {
                    Some(_) => hex::decode(format!("60fe47b1{nonce:064x}"))?,
                    None => (0..*payload_bytes).map(|i| (i as u8) ^ (nonce as u8)).collect(),
                };
                let stored = store_raw(tm, from, payload).await?;
                let (address, flag) = contract.map_or((Address::repeat_byte(0x42), 0), |c| c);
                let (hash, raw) = private_call(key, nonce, stored.as_bytes(), Some(address));
                Ok((
                    hash,
                    "eth_sendRawPrivateTransaction",
                    vec![json!(raw), json!({ "privateFor": to, "privacyFlag": flag })],
                ))
            }
        }
    }

    /// Deploys this client's SimpleStorage with `flag` at nonce 0 and waits until `client`'s
    /// node has its receipt; the workload then calls it.
    async fn deploy(
        &mut self,
        client: &jsonrpsee::http_client::HttpClient,
        key: &secp256k1::SecretKey,
        flag: u8,
    ) -> eyre::Result<()> {
        let Workload::Private { tm, from, to, contract, .. } = self else { return Ok(()) };
        let stored = store_raw(tm, from, hex::decode(SIMPLE_STORAGE_42)?).await?;
        let (hash, raw) = private_call(key, 0, stored.as_bytes(), None);
        let _: Value = client
            .request(
                "eth_sendRawPrivateTransaction",
                rpc_params![raw, json!({ "privateFor": to, "privacyFlag": flag })],
            )
            .await?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let receipt: Value =
                client.request("eth_getTransactionReceipt", rpc_params![hash]).await?;
            if !receipt.is_null() {
                eyre::ensure!(receipt["status"] == "0x1", "the deployment failed: {receipt}");
                break;
            }
            eyre::ensure!(Instant::now() < deadline, "the deployment was not mined in 60 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let sender = veil_primitives::address_of(key);
        *contract = Some((sender.create(0), flag));
        Ok(())
    }
}

/// `/storeraw` of `payload` from the TM key `from`: its hash.
async fn store_raw(
    tm: &veil_tm_api::TmClient,
    from: &str,
    payload: Vec<u8>,
) -> eyre::Result<veil_primitives::PayloadHash> {
    let request = veil_tm_api::StoreRawRequest {
        payload: veil_tm_api::Base64Bytes(payload),
        from: Some(from.parse().map_err(|e| eyre::eyre!("{e:?}"))?),
    };
    Ok(tm.store_raw(&request).await?.key)
}

fn transfer(key: &secp256k1::SecretKey, chain_id: u64, nonce: u64) -> (B256, String) {
    let tx = TxLegacy {
        chain_id: Some(chain_id),
        nonce,
        gas_price: 0,
        gas_limit: 21_000,
        to: TxKind::Call(Address::repeat_byte(0x42)),
        value: U256::ZERO,
        input: Default::default(),
    };
    let signed = veil_primitives::sign_transaction(tx.into(), key);
    (signed.hash(), format!("0x{}", hex::encode(signed.encoded_2718())))
}

/// CPU seconds (user + system) and peak resident memory in KiB of a process.
fn usage(pid: u32) -> Option<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let peak = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((ticks / 100.0, peak))
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let args = Args::parse();
    eyre::ensure!(!args.nodes.is_empty(), "--nodes is required");
    let clients: Vec<_> = args
        .nodes
        .iter()
        .map(|url| HttpClientBuilder::default().request_timeout(Duration::from_secs(30)).build(url))
        .collect::<Result<_, _>>()?;
    let sent_at: Arc<Mutex<HashMap<B256, Instant>>> = Arc::default();
    let cpu_before: Vec<Option<(f64, u64)>> = args.pids.iter().map(|p| usage(*p)).collect();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);

    // The watcher: every block on node 0, the time each of our transactions appeared.
    let watcher = clients[0].clone();
    let watched = sent_at.clone();
    let mined_at: Arc<Mutex<HashMap<B256, Instant>>> = Arc::default();
    let mined = mined_at.clone();
    let start_block: Value = watcher.request("eth_blockNumber", rpc_params![]).await?;
    let mut next =
        u64::from_str_radix(start_block.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16)?
            + 1;
    let settle = Duration::from_secs(10);
    let watch = tokio::spawn(async move {
        while Instant::now() < deadline + settle {
            let block: Value = match watcher
                .request("eth_getBlockByNumber", rpc_params![format!("0x{next:x}"), false])
                .await
            {
                Ok(block) => block,
                Err(_) => Value::Null,
            };
            if block.is_null() {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            let now = Instant::now();
            let known = watched.lock().unwrap();
            let mut mined = mined.lock().unwrap();
            for hash in block["transactions"].as_array().into_iter().flatten() {
                if let Some(hash) = hash.as_str().and_then(|h| h.parse::<B256>().ok()) {
                    if known.contains_key(&hash) {
                        mined.insert(hash, now);
                    }
                }
            }
            next += 1;
        }
    });

    let accepted = Arc::new(std::sync::atomic::AtomicU64::new(0));
    // Why sends failed, by message (the first 80 characters), for the report.
    let errors: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let private = !args.tm_urls.is_empty();
    eyre::ensure!(
        !private
            || (args.tm_urls.len() == args.nodes.len() && args.tm_keys.len() == args.nodes.len()),
        "--tm-urls and --tm-keys need one entry per node"
    );
    eyre::ensure!(
        !private || args.recipients < args.nodes.len(),
        "--recipients must be below the node count"
    );
    let tms: Vec<Arc<veil_tm_api::TmClient>> = args
        .tm_urls
        .iter()
        .map(|url| {
            let endpoint = url.parse().map_err(|e: String| eyre::eyre!(e))?;
            Ok(Arc::new(veil_tm_api::TmClient::new(endpoint)))
        })
        .collect::<eyre::Result<_>>()?;
    let tasks: Vec<_> = (0..args.clients)
        .map(|c| {
            let node = c % clients.len();
            let client = clients[node].clone();
            let workload = if private {
                Workload::Private {
                    tm: tms[node].clone(),
                    from: args.tm_keys[node].clone(),
                    to: (1..=args.recipients)
                        .map(|r| args.tm_keys[(node + r) % args.tm_keys.len()].clone())
                        .collect(),
                    payload_bytes: args.payload_bytes,
                    contract: None,
                }
            } else {
                Workload::Transfers { chain_id: args.chain_id }
            };
            let (sent_at, accepted, sent) = (sent_at.clone(), accepted.clone(), sent.clone());
            let errors = errors.clone();
            let per_client = (args.rate > 0)
                .then(|| Duration::from_secs_f64(args.clients as f64 / args.rate as f64));
            let contract_flag = args.contract_flag;
            tokio::spawn(async move {
                let key = secp256k1::SecretKey::new(&mut rand::thread_rng());
                let mut nonce = 0;
                let mut workload = workload;
                if let Some(flag) = contract_flag {
                    if let Err(e) = workload.deploy(&client, &key, flag).await {
                        let reason: String = format!("deploying: {e}").chars().take(80).collect();
                        *errors.lock().unwrap().entry(reason).or_default() += 1;
                        return;
                    }
                    nonce = 1;
                }
                let mut pace = per_client.map(tokio::time::interval);
                while Instant::now() < deadline {
                    if let Some(pace) = &mut pace {
                        pace.tick().await;
                    }
                    let started = Instant::now();
                    sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let (hash, method, params) = match workload.next(&key, nonce).await {
                        Ok(next) => next,
                        Err(e) => {
                            let reason: String =
                                format!("preparing: {e}").chars().take(80).collect();
                            *errors.lock().unwrap().entry(reason).or_default() += 1;
                            continue;
                        }
                    };
                    sent_at.lock().unwrap().insert(hash, started);
                    let mut array = jsonrpsee::core::params::ArrayParams::new();
                    for param in params {
                        array.insert(param).expect("JSON values serialise");
                    }
                    let answer: Result<Value, _> = client.request(method, array).await;
                    match answer {
                        Ok(_) => {
                            accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            nonce += 1;
                        }
                        Err(e) => {
                            sent_at.lock().unwrap().remove(&hash);
                            let reason: String = e.to_string().chars().take(80).collect();
                            *errors.lock().unwrap().entry(reason).or_default() += 1;
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await?;
    }
    watch.await?;
    let sent_at = sent_at.lock().unwrap();
    let mined_at = mined_at.lock().unwrap();
    let mut latencies: Vec<Duration> = mined_at
        .iter()
        .filter_map(|(h, t)| sent_at.get(h).map(|s| t.saturating_duration_since(*s)))
        .collect();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0, |d| d.as_millis())
    };
    let (sent, accepted, mined) = (
        sent.load(std::sync::atomic::Ordering::Relaxed),
        accepted.load(std::sync::atomic::Ordering::Relaxed),
        mined_at.len() as u64,
    );
    let tps = mined as f64 / args.seconds as f64;
    let processes: Vec<Value> = args
        .pids
        .iter()
        .zip(&cpu_before)
        .map(|(pid, before)| {
            let after = usage(*pid);
            let cpu = match (before, after) {
                (Some((b, _)), Some((a, _))) => (a - b) / args.seconds as f64 * 100.0,
                _ => 0.0,
            };
            json!({ "pid": pid, "cpu_percent": cpu.round(), "peak_rss_mib": after.map_or(0, |a| a.1 / 1024) })
        })
        .collect();
    let report = json!({
        "nodes": args.nodes.len(), "clients": args.clients, "seconds": args.seconds, "rate": args.rate,
        "private_recipients": if private { json!(args.recipients) } else { Value::Null },
        "payload_bytes": if private { json!(args.payload_bytes) } else { Value::Null },
        "contract_flag": args.contract_flag,
        "sent": sent, "accepted": accepted, "mined": mined,
        "errors": &*errors.lock().unwrap(),
        "success_rate": if sent > 0 { mined as f64 / sent as f64 } else { 0.0 },
        "tps": tps.round(),
        "latency_ms": { "p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99), "max": latencies.last().map_or(0, |d| d.as_millis()) },
        "processes": processes,
    });
    std::fs::write(&args.json, serde_json::to_string_pretty(&report)?)?;
    println!(
        "| sent | accepted | mined | success | TPS (mined/s) | p50 ms | p95 ms | p99 ms | max ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {sent} | {accepted} | {mined} | {:.1} % | {:.0} | {} | {} | {} | {} |",
        report["success_rate"].as_f64().unwrap_or(0.0) * 100.0,
        tps,
        pct(0.5),
        pct(0.95),
        pct(0.99),
        report["latency_ms"]["max"]
    );
    for p in &processes {
        println!("pid {}: CPU {}%, peak RSS {} MiB", p["pid"], p["cpu_percent"], p["peak_rss_mib"]);
    }
    Ok(())
}
