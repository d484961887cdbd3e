//! Running one round: the clients send under the round's rate controller while a watcher
//! follows the chain on the first node and the sampler reads the processes' resources; the
//! round ends when sending ends and every accepted transaction is mined (or the settle time
//! is up).

use super::{
    resources::{Recording, Watched},
    spec::{Control, End, RoundSpec},
    transactions::{send, Client, PrivateParties, Request},
};
use alloy_primitives::B256;
use jsonrpsee::{core::client::ClientT, http_client::HttpClient, rpc_params};
use serde_json::Value;
use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// What a round runs against.
pub(crate) struct Target {
    /// Each node's JSON-RPC (HTTP) client, with its URL.
    pub(crate) nodes: Vec<(String, HttpClient)>,
    /// Each node's TM (ThirdParty client and public key), for private rounds.
    pub(crate) tms: Vec<(Arc<veil_tm_api::TmClient>, String)>,
    pub(crate) chain_id: u64,
    pub(crate) processes: Vec<Watched>,
}

/// What a round measured, as raw times (the statistics come from [`super::stats`]).
pub(crate) struct Measured {
    pub(crate) started: Instant,
    /// When each request went out.
    pub(crate) submitted: Vec<Instant>,
    /// Sent and done (mined, or answered for calls) of each successful request.
    pub(crate) done: Vec<(Instant, Instant)>,
    /// Why requests failed, by message, with the accepted ones never mined.
    pub(crate) failures: BTreeMap<String, u64>,
    pub(crate) resources: Value,
}

#[derive(Default)]
struct Shared {
    /// Accepted, not seen mined yet: when sent, the fixed-load slot it holds, and the index
    /// of the node it was sent to.
    pending: Mutex<HashMap<B256, (Instant, Option<OwnedSemaphorePermit>, usize)>>,
    done: Mutex<Vec<(Instant, Instant)>>,
    submitted: Mutex<Vec<Instant>>,
    failures: Mutex<BTreeMap<String, u64>>,
    issued: AtomicU64,
}

impl Shared {
    fn fail(&self, why: impl std::fmt::Display) {
        let reason: String = why.to_string().chars().take(100).collect();
        *self.failures.lock().expect("not poisoned").entry(reason).or_default() += 1;
    }
}

/// Runs `spec` against `target`; waits up to `settle` after sending for the last blocks.
pub(crate) async fn run(
    target: &Target,
    spec: &RoundSpec,
    settle: Duration,
) -> eyre::Result<Measured> {
    let mut clients = Vec::with_capacity(spec.clients);
    for c in 0..spec.clients {
        let node = c % target.nodes.len();
        let private = match spec.workload {
            super::spec::Workload::Private { recipients, .. } => {
                eyre::ensure!(
                    target.tms.len() == target.nodes.len(),
                    "private rounds need every node's TM (ThirdParty URL and key)"
                );
                eyre::ensure!(
                    recipients < target.nodes.len(),
                    "{recipients} recipients need more than {recipients} nodes"
                );
                let (tm, from) = target.tms[node].clone();
                let to = (1..=recipients)
                    .map(|r| target.tms[(node + r) % target.tms.len()].1.clone())
                    .collect();
                Some(PrivateParties { tm, from, to })
            }
            _ => None,
        };
        clients.push(Client::new(
            target.nodes[node].1.clone(),
            target.chain_id,
            spec.workload,
            private,
        ));
    }
    // Deployments the workload needs happen before the clock starts.
    let prepared = futures::future::join_all(clients.iter_mut().map(Client::prepare)).await;
    for result in prepared {
        result.map_err(|e| eyre::eyre!("round {}: preparing a client: {e}", spec.label))?;
    }

    let shared = Arc::new(Shared::default());
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = tokio::spawn(watch(target.nodes[0].1.clone(), shared.clone(), watching.clone()));
    let recording =
        Arc::new(Mutex::new(Recording::start(target.processes.clone(), SAMPLE_INTERVAL)));
    let sampler = {
        let recording = recording.clone();
        let watching = watching.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SAMPLE_INTERVAL);
            tick.tick().await;
            while watching.load(Ordering::Relaxed) {
                tick.tick().await;
                recording.lock().expect("not poisoned").sample();
            }
        })
    };

    let started = Instant::now();
    let permits = match spec.control {
        Control::Load(n) => Some(Arc::new(Semaphore::new(n))),
        _ => None,
    };
    let count = spec.clients;
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(c, client)| {
            let shared = shared.clone();
            let permits = permits.clone();
            let spec = spec.clone();
            let node = c % target.nodes.len();
            tokio::spawn(drive(
                (client, node),
                c,
                count,
                spec,
                Clock { started, settle },
                permits,
                shared,
            ))
        })
        .collect();
    for task in tasks {
        task.await?;
    }
    // Let the last transactions be mined.
    let deadline = Instant::now() + settle;
    while !shared.pending.lock().expect("not poisoned").is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    watching.store(false, Ordering::Relaxed);
    watcher.await?;
    sampler.await?;
    let unmined: Vec<(B256, usize)> = shared
        .pending
        .lock()
        .expect("not poisoned")
        .drain()
        .map(|(hash, (_, _, node))| (hash, node))
        .collect();
    for (why, count) in super::unmined::classify(target, &unmined, settle).await {
        *shared.failures.lock().expect("not poisoned").entry(why).or_default() += count;
    }
    let resources = {
        let mut recording = recording.lock().expect("not poisoned");
        recording.finish();
        recording.summary()
    };
    let submitted = std::mem::take(&mut *shared.submitted.lock().expect("not poisoned"));
    let done = std::mem::take(&mut *shared.done.lock().expect("not poisoned"));
    let failures = std::mem::take(&mut *shared.failures.lock().expect("not poisoned"));
    Ok(Measured { started, submitted, done, failures, resources })
}

/// How often the sampler reads the processes' resources.
const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// When the round started, and how long to wait for blocks once nothing else moves.
#[derive(Clone, Copy)]
struct Clock {
    started: Instant,
    settle: Duration,
}

/// One client's loop: pace, prepare, send, record. Under a fixed load, a client that waits
/// `settle` for a slot (nothing in flight was mined meanwhile) gives up: the round ends with
/// what it has instead of waiting for ever on a network that stopped mining.
async fn drive(
    (mut client, node): (Client, usize),
    index: usize,
    clients: usize,
    spec: RoundSpec,
    Clock { started, settle }: Clock,
    permits: Option<Arc<Semaphore>>,
    shared: Arc<Shared>,
) {
    let send_end = match spec.end {
        End::Duration(d) => Some(started + d),
        End::Count(_) => None,
    };
    // Rate controllers pace each client at its share; the clients start staggered.
    let expected = match (spec.end, spec.control) {
        (End::Duration(d), _) => d.as_secs_f64(),
        (End::Count(n), Control::Rate(r)) => n as f64 / r,
        (End::Count(n), Control::Ramp(a, b)) => n as f64 / ((a + b) / 2.0),
        (End::Count(_), _) => 0.0,
    };
    let rate_at = |elapsed: f64| match spec.control {
        Control::Rate(r) => Some(r),
        Control::Ramp(a, b) => {
            Some(a + (b - a) * (elapsed / expected.max(f64::EPSILON)).clamp(0.0, 1.0))
        }
        Control::Max | Control::Load(_) => None,
    };
    let mut next = rate_at(0.0).map(|r| {
        started + Duration::from_secs_f64(clients as f64 / r * index as f64 / clients as f64)
    });
    loop {
        if send_end.is_some_and(|end| Instant::now() >= end) {
            return;
        }
        if let End::Count(n) = spec.end {
            if shared.issued.fetch_add(1, Ordering::Relaxed) >= n {
                return;
            }
        }
        if let Some(at) = next {
            tokio::time::sleep_until(at.into()).await;
            let rate = rate_at(at.duration_since(started).as_secs_f64()).unwrap_or(1.0);
            next = Some(at + Duration::from_secs_f64(clients as f64 / rate));
        }
        let permit = match &permits {
            Some(permits) => {
                let acquire = permits.clone().acquire_owned();
                let stalled = Instant::now() + settle;
                let until = send_end.map_or(stalled, |end| end.min(stalled));
                let permit = match tokio::time::timeout_at(until.into(), acquire).await {
                    Ok(permit) => permit,
                    Err(_) if until == stalled => {
                        shared.fail(format!(
                            "not sent: nothing in flight was mined for {} s",
                            settle.as_secs()
                        ));
                        return;
                    }
                    Err(_) => return,
                };
                let Ok(permit) = permit else { return };
                Some(permit)
            }
            None => None,
        };
        let sent = Instant::now();
        let request = match client.next().await {
            Ok(request) => request,
            Err(e) => {
                shared.fail(format!("preparing: {e}"));
                continue;
            }
        };
        shared.submitted.lock().expect("not poisoned").push(sent);
        match request {
            Request::Transaction { hash, method, params } => {
                shared.pending.lock().expect("not poisoned").insert(hash, (sent, permit, node));
                match send(&client.rpc, method, params).await {
                    Ok(_) => client.accepted(),
                    Err(e) => {
                        shared.pending.lock().expect("not poisoned").remove(&hash);
                        shared.fail(e);
                    }
                }
            }
            Request::Call { params } => match send(&client.rpc, "eth_call", params).await {
                Ok(_) => shared.done.lock().expect("not poisoned").push((sent, Instant::now())),
                Err(e) => shared.fail(e),
            },
        }
    }
}

/// Follows the chain on `node` from its head: a pending transaction seen in a block is done.
async fn watch(node: HttpClient, shared: Arc<Shared>, watching: Arc<AtomicBool>) {
    let head: Value = node.request("eth_blockNumber", rpc_params![]).await.unwrap_or_default();
    let mut next = head
        .as_str()
        .and_then(|h| u64::from_str_radix(h.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0)
        + 1;
    while watching.load(Ordering::Relaxed) {
        let block: Value = node
            .request("eth_getBlockByNumber", rpc_params![format!("0x{next:x}"), false])
            .await
            .unwrap_or(Value::Null);
        if block.is_null() {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let now = Instant::now();
        let mut pending = shared.pending.lock().expect("not poisoned");
        let mut done = shared.done.lock().expect("not poisoned");
        for hash in block["transactions"].as_array().into_iter().flatten() {
            if let Some(hash) = hash.as_str().and_then(|h| h.parse::<B256>().ok()) {
                // Dropping the permit frees a place under a fixed load.
                if let Some((sent, _permit, _)) = pending.remove(&hash) {
                    done.push((sent, now));
                }
            }
        }
        next += 1;
    }
}
