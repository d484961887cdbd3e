//! `rpc-load`: JSON-RPC load against any Ethereum node over HTTP, WebSocket or IPC, reporting
//! requests per second and latency percentiles. The same load runs against Veil and, for
//! comparison, Anvil (`benches/rpc_compare.sh`).
//!
//! Methods: `blockNumber`, `getBalance`, `call` (a deployed view function that returns a
//! storage slot), `sendRawTransaction` (transfers pre-signed by fresh keys, one per client,
//! so nonces never clash; on nodes that charge gas the keys are funded with `anvil_setBalance`)
//! and `sendTransaction` (transfers from the node's first unlocked account by every client: the
//! node chooses each nonce under the account's lock, the worst case for that lock).

use alloy_consensus::TxLegacy;
use alloy_primitives::{hex, Address, TxKind, U256};
use clap::{Parser, ValueEnum};
use jsonrpsee::{
    core::{client::ClientT, params::ArrayParams},
    http_client::HttpClientBuilder,
    ws_client::WsClientBuilder,
};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::UnixStream,
};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Method {
    BlockNumber,
    GetBalance,
    Call,
    SendRawTransaction,
    SendTransaction,
}

#[derive(Parser, Debug)]
#[command(about = "JSON-RPC load generator: requests/s and latency percentiles")]
struct Args {
    /// `http://host:port`, `ws://host:port`, or the path of an IPC socket.
    #[arg(long)]
    target: String,
    /// What to call.
    #[arg(long, value_enum)]
    method: Method,
    /// Concurrent clients, each with its own connection.
    #[arg(long, default_value_t = 1)]
    clients: usize,
    /// Requests in all.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Chain id for signed transactions.
    #[arg(long)]
    chain_id: u64,
    /// Gas price of signed transactions (0 on gas-free chains).
    #[arg(long, default_value_t = 0)]
    gas_price: u128,
    /// Hex key of a funded account that deploys the contract for `call`.
    #[arg(long)]
    deployer_key: String,
    /// Fund the fresh sender keys with `anvil_setBalance` first.
    #[arg(long)]
    fund_with_anvil: bool,
}

/// One connection to the node.
enum Connection {
    Http(jsonrpsee::http_client::HttpClient),
    Ws(jsonrpsee::ws_client::WsClient),
    Ipc {
        reader: BufReader<tokio::net::unix::OwnedReadHalf>,
        writer: tokio::net::unix::OwnedWriteHalf,
        next_id: u64,
    },
}

impl Connection {
    async fn open(target: &str) -> eyre::Result<Self> {
        Ok(if target.starts_with("http") {
            Connection::Http(HttpClientBuilder::default().build(target)?)
        } else if target.starts_with("ws") {
            Connection::Ws(WsClientBuilder::default().build(target).await?)
        } else {
            let (read, writer) = UnixStream::connect(target).await?.into_split();
            Connection::Ipc { reader: BufReader::new(read), writer, next_id: 0 }
        })
    }

    async fn call(&mut self, method: &str, params: Value) -> eyre::Result<Value> {
        let array = |params: &Value| {
            let mut out = ArrayParams::new();
            for p in params.as_array().into_iter().flatten() {
                out.insert(p).expect("serializable");
            }
            out
        };
        match self {
            Connection::Http(client) => Ok(client.request(method, array(&params)).await?),
            Connection::Ws(client) => Ok(client.request(method, array(&params)).await?),
            Connection::Ipc { reader, writer, next_id } => {
                *next_id += 1;
                let request =
                    json!({"jsonrpc": "2.0", "id": *next_id, "method": method, "params": params});
                writer.write_all(format!("{request}\n").as_bytes()).await?;
                let mut line = String::new();
                reader.read_line(&mut line).await?;
                let response: Value = serde_json::from_str(&line)?;
                match response.get("error") {
                    Some(error) => eyre::bail!("{error}"),
                    None => Ok(response["result"].clone()),
                }
            }
        }
    }
}

fn sign(
    key: &secp256k1::SecretKey,
    chain_id: u64,
    nonce: u64,
    to: TxKind,
    gas: u64,
    gas_price: u128,
    input: Vec<u8>,
) -> String {
    let tx = TxLegacy {
        chain_id: Some(chain_id),
        nonce,
        gas_price,
        gas_limit: gas,
        to,
        value: U256::ZERO,
        input: input.into(),
    };
    format!("0x{}", hex::encode(veil_primitives::sign_transaction(tx.into(), key).encoded_2718()))
}

/// Init code: store 42 in slot 0 and deploy `PUSH1 0 SLOAD PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN`.
const VIEW_CONTRACT: &str = "602a600055600b6011600039600b6000f360005460005260206000f3";

async fn wait_receipt(conn: &mut Connection, hash: &Value) -> eyre::Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let receipt = conn.call("eth_getTransactionReceipt", json!([hash])).await?;
        if !receipt.is_null() {
            return Ok(receipt);
        }
        eyre::ensure!(Instant::now() < deadline, "no receipt for {hash}");
        // A blocked node (anvil --no-mining) is asked to mine.
        let _ = conn.call("evm_mine", json!([])).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The request each client sends, per index.
fn requests(
    args: &Args,
    contract: Option<Address>,
    account: Option<&Value>,
    client: usize,
    count: usize,
) -> Vec<(&'static str, Value)> {
    match args.method {
        Method::SendTransaction => {
            let transfer = json!({ "from": account, "to": Address::repeat_byte(0x77), "value": "0x1", "gas": "0x5208" });
            vec![("eth_sendTransaction", json!([transfer])); count]
        }
        Method::BlockNumber => vec![("eth_blockNumber", json!([])); count],
        Method::GetBalance => {
            let who = Address::with_last_byte(client as u8);
            vec![("eth_getBalance", json!([who, "latest"])); count]
        }
        Method::Call => {
            let call = json!({"to": contract, "data": "0x"});
            vec![("eth_call", json!([call, "latest"])); count]
        }
        Method::SendRawTransaction => {
            let key = secp256k1::SecretKey::new(&mut rand::thread_rng());
            (0..count as u64)
                .map(|nonce| {
                    let raw = sign(
                        &key,
                        args.chain_id,
                        nonce,
                        TxKind::Call(Address::repeat_byte(0x77)),
                        21_000,
                        args.gas_price,
                        vec![],
                    );
                    ("eth_sendRawTransaction", json!([raw]))
                })
                .collect()
        }
    }
}

fn sender_of(raw: &Value) -> Option<Address> {
    let bytes = hex::decode(raw[0].as_str()?.trim_start_matches("0x")).ok()?;
    let tx = veil_primitives::Transaction::decode_2718_exact(&bytes).ok()?;
    veil_primitives::RecoveredTx::try_new(tx).ok().map(|t| t.sender())
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let args = Args::parse();
    let mut setup = Connection::open(&args.target).await?;
    let contract = match args.method {
        Method::Call => {
            let key = secp256k1::SecretKey::from_slice(&hex::decode(
                args.deployer_key.trim_start_matches("0x"),
            )?)?;
            let deployer = veil_primitives::address_of(&key);
            let nonce = setup.call("eth_getTransactionCount", json!([deployer, "pending"])).await?;
            let nonce =
                u64::from_str_radix(nonce.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16)?;
            let raw = sign(
                &key,
                args.chain_id,
                nonce,
                TxKind::Create,
                100_000,
                args.gas_price,
                hex::decode(VIEW_CONTRACT)?,
            );
            let hash = setup.call("eth_sendRawTransaction", json!([raw])).await?;
            let receipt = wait_receipt(&mut setup, &hash).await?;
            Some(receipt["contractAddress"].as_str().unwrap_or_default().parse::<Address>()?)
        }
        _ => None,
    };
    let account = match args.method {
        Method::SendTransaction => Some(setup.call("eth_accounts", json!([])).await?[0].clone()),
        _ => None,
    };
    let per_client = args.requests / args.clients;
    let plans: Vec<Vec<(&'static str, Value)>> = (0..args.clients)
        .map(|c| requests(&args, contract, account.as_ref(), c, per_client))
        .collect();
    if args.fund_with_anvil && matches!(args.method, Method::SendRawTransaction) {
        for plan in &plans {
            if let Some(sender) = plan.first().and_then(|(_, p)| sender_of(p)) {
                setup.call("anvil_setBalance", json!([sender, "0x56bc75e2d63100000"])).await?;
            }
        }
    }
    if let Method::Call = args.method {
        let answer = setup.call("eth_call", plans[0][0].1.clone()).await?;
        eyre::ensure!(
            answer.as_str().is_some_and(|a| a.ends_with("2a")),
            "view call returned {answer}"
        );
    }

    let mut connections = Vec::new();
    for _ in 0..args.clients {
        connections.push(Connection::open(&args.target).await?);
    }
    let started = Instant::now();
    let tasks: Vec<_> = connections
        .into_iter()
        .zip(plans)
        .map(|(mut conn, plan)| {
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(plan.len());
                let mut errors = 0usize;
                for (method, params) in plan {
                    let t = Instant::now();
                    if let Err(e) = conn.call(method, params).await {
                        if errors == 0 {
                            eprintln!("first error: {e}");
                        }
                        errors += 1;
                    }
                    latencies.push(t.elapsed());
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await?;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{{\"method\":\"{:?}\",\"clients\":{},\"requests\":{},\"errors\":{},\"rps\":{:.0},\"p50_us\":{},\"p99_us\":{}}}",
        args.method,
        args.clients,
        latencies.len(),
        errors,
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_micros(),
        pct(0.99).as_micros()
    );
    Ok(())
}
