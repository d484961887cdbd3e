//! The load of a chaos run and what each request's answer was: public transfers to every node
//! from its own unlocked account, and node 1's private `set(v)` for the last node.

use super::ChaosOptions;
use crate::{demo, layout::Layout, network, rpc};
use serde_json::{json, Value};
use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

/// How long a client waits for an answer before the outcome is unknown.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// What became of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The node answered with this transaction hash: it must be mined.
    Acknowledged(String),
    /// The node answered with an error: nothing was sent.
    Refused(String),
    /// No connection (the node is down): nothing was sent.
    Unavailable,
    /// The connection broke or timed out after the request went out: it may or may not be
    /// mined.
    Indeterminate(String),
}

/// One request of the run.
#[derive(Clone, Debug)]
pub(crate) struct Op {
    /// The node it went to.
    pub(crate) node: usize,
    /// `Some(v)` for a private `set(v)`.
    pub(crate) private_value: Option<u64>,
    /// Its outcome.
    pub(crate) outcome: Outcome,
}

/// Every request's outcome, shared by the clients.
#[derive(Clone, Debug, Default)]
pub(crate) struct History(Arc<Mutex<Vec<Op>>>);

impl History {
    fn record(&self, op: Op) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(op);
    }

    /// Everything recorded.
    pub(crate) fn take(&self) -> Vec<Op> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// `eth_sendTransaction` and what came of it.
fn send(client: &reqwest::blocking::Client, url: &str, request: Value) -> Outcome {
    let body =
        json!({ "jsonrpc": "2.0", "id": 1, "method": "eth_sendTransaction", "params": [request] });
    let answer = match client.post(url).json(&body).send() {
        Ok(response) => response.json::<Value>(),
        Err(e) if e.is_connect() => return Outcome::Unavailable,
        Err(e) => return Outcome::Indeterminate(e.to_string()),
    };
    match answer {
        Ok(answer) => match (answer["result"].as_str(), answer.get("error")) {
            (Some(hash), _) => Outcome::Acknowledged(hash.to_string()),
            (None, Some(error)) => {
                Outcome::Refused(error["message"].as_str().unwrap_or("error").to_string())
            }
            (None, None) => Outcome::Indeterminate(format!("unexpected answer {answer}")),
        },
        Err(e) => Outcome::Indeterminate(e.to_string()),
    }
}

/// Node 1 deploys SimpleStorage(0) privately for the last node; answers its address.
pub(crate) fn deploy_private_contract(layout: &Layout) -> eyre::Result<String> {
    let url = layout.rpc_url(1);
    let request = json!({
        "from": network::account(layout, 1)?,
        "data": demo::simple_storage_init(0),
        "gas": "0x47b760",
        "privateFor": [layout.tm_key(layout.nodes)?],
    });
    let hash = rpc::call(&url, "eth_sendTransaction", json!([request]))?;
    let receipt = demo::receipt(&url, &hash)?;
    receipt["contractAddress"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| eyre::eyre!("the private deployment has no contract address: {receipt}"))
}

/// Calls `send` every `period` until `stop`, without catching up on missed turns.
fn paced(stop: &AtomicBool, period: Duration, mut send: impl FnMut()) {
    let mut next = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        if next > now {
            std::thread::sleep((next - now).min(Duration::from_millis(200)));
            continue;
        }
        send();
        let now = Instant::now();
        next = (next + period).max(now.checked_sub(period).unwrap_or(now));
    }
}

/// Starts the clients: one per node for transfers, one on node 1 for private `set`s.
pub(crate) fn start(
    layout: &Layout,
    options: &ChaosOptions,
    contract: &str,
    history: &History,
    stop: &Arc<AtomicBool>,
) -> eyre::Result<Vec<JoinHandle<()>>> {
    let mut clients = Vec::new();
    let period = Duration::from_secs_f64(layout.nodes as f64 / f64::from(options.rate.max(1)));
    for n in layout.numbers() {
        let (url, from) = (layout.rpc_url(n), network::account(layout, n)?);
        let (history, stop) = (history.clone(), stop.clone());
        clients.push(std::thread::spawn(move || {
            let client = rpc::client_with_timeout(REQUEST_TIMEOUT);
            let request = json!({ "from": from, "to": "0x000000000000000000000000000000000000dead", "value": "0x1", "gas": "0x5208" });
            paced(&stop, period, || {
                let outcome = send(&client, &url, request.clone());
                history.record(Op { node: n, private_value: None, outcome });
            });
        }));
    }
    let (url, from) = (layout.rpc_url(1), network::account(layout, 1)?);
    let party = layout.tm_key(layout.nodes)?;
    let (contract, history, stop) = (contract.to_string(), history.clone(), stop.clone());
    let every = options.private_every;
    clients.push(std::thread::spawn(move || {
        let client = rpc::client_with_timeout(REQUEST_TIMEOUT);
        let mut value = 0;
        paced(&stop, every, || {
            value += 1;
            let request = json!({
                "from": from,
                "to": contract,
                "data": demo::set_call(value),
                "gas": "0x186a0",
                "privateFor": [party],
            });
            let outcome = send(&client, &url, request);
            history.record(Op { node: 1, private_value: Some(value), outcome });
        });
    }));
    Ok(clients)
}
