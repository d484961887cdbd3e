//! `tm-load`: load against a transaction manager's Q2T API (unix socket or HTTP): `/send` of
//! payloads of a given size to given recipients, or `GET /transaction/{key}` of payloads sent
//! first. Reports requests per second and latency percentiles as one JSON line.

use clap::{Parser, ValueEnum};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use veil_primitives::{PayloadHash, TmPublicKey};
use veil_tm_api::{Base64Bytes, SendRequest, TmClient, TmEndpoint};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Op {
    /// `POST /send`.
    Send,
    /// `GET /transaction/{key}` on `--receive-target`, of payloads sent first.
    Receive,
}

#[derive(Parser, Debug)]
#[command(about = "Q2T load generator: requests/s and latency percentiles")]
struct Args {
    /// The sending TM: `unix:/path`, a socket path, or `http://host:port`.
    #[arg(long)]
    target: String,
    /// The TM to read from with `receive` (default: the target).
    #[arg(long)]
    receive_target: Option<String>,
    /// What to measure.
    #[arg(long, value_enum)]
    op: Op,
    /// Recipients, comma-separated base64 keys.
    #[arg(long, value_delimiter = ',')]
    to: Vec<TmPublicKey>,
    /// Payload size in bytes.
    #[arg(long, default_value_t = 1024)]
    size: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 1)]
    clients: usize,
    /// Requests in all.
    #[arg(long, default_value_t = 10_000)]
    requests: usize,
}

fn client(target: &str) -> eyre::Result<Arc<TmClient>> {
    Ok(Arc::new(TmClient::new(target.parse::<TmEndpoint>().map_err(|e| eyre::eyre!(e))?)))
}

async fn send(
    client: &TmClient,
    to: &[TmPublicKey],
    size: usize,
    i: usize,
) -> eyre::Result<PayloadHash> {
    let mut payload = vec![0x5a; size];
    payload[..8.min(size)].copy_from_slice(&(i as u64).to_be_bytes()[..8.min(size)]);
    let request =
        SendRequest { payload: Base64Bytes(payload), to: to.to_vec(), ..Default::default() };
    Ok(client.send(&request).await?.key)
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let args = Arc::new(Args::parse());
    let sender = client(&args.target)?;
    let keys: Arc<Vec<PayloadHash>> = Arc::new(match args.op {
        Op::Send => Vec::new(),
        Op::Receive => {
            let mut keys = Vec::new();
            for i in 0..1000 {
                keys.push(send(&sender, &args.to, args.size, i).await?);
            }
            keys
        }
    });
    let reader = client(args.receive_target.as_deref().unwrap_or(&args.target))?;
    let per_client = args.requests / args.clients;
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.clients)
        .map(|c| {
            let (args, sender, reader, keys) =
                (args.clone(), sender.clone(), reader.clone(), keys.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_client);
                for i in 0..per_client {
                    let start = Instant::now();
                    match args.op {
                        Op::Send => {
                            send(&sender, &args.to, args.size, c * per_client + i).await?;
                        }
                        Op::Receive => {
                            let key = &keys[(c * per_client + i) % keys.len()];
                            eyre::ensure!(
                                reader.receive(key, None).await?.is_some(),
                                "{key} not found"
                            );
                        }
                    }
                    latencies.push(start.elapsed());
                }
                Ok::<_, eyre::Report>(latencies)
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = Vec::with_capacity(args.requests);
    for task in tasks {
        latencies.extend(task.await??);
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort();
    let percentile = |p: f64| {
        latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)].as_micros()
    };
    println!(
        "{{\"op\":\"{:?}\",\"size\":{},\"recipients\":{},\"clients\":{},\"requests\":{},\"per_sec\":{:.0},\"p50_us\":{},\"p99_us\":{}}}",
        args.op,
        args.size,
        args.to.len(),
        args.clients,
        latencies.len(),
        latencies.len() as f64 / seconds,
        percentile(0.5),
        percentile(0.99)
    );
    Ok(())
}
