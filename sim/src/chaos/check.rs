//! The invariants checked after a chaos run, once every fault is healed and the load stopped.

use super::{
    processes::Processes,
    workload::{Op, Outcome},
};
use crate::{demo, layout::Layout, network, rpc};
use serde_json::{json, Value};
use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, Instant},
};

/// How long every acknowledged transaction has to show up on every node after the run.
const SETTLE: Duration = Duration::from_secs(180);
/// Requests per JSON-RPC batch.
const BATCH: usize = 200;

/// Where a transaction was mined: block hash, number and index.
type Location = (String, u64, u64);

/// Checks every invariant; answers the summary, or the summary and what failed.
pub(crate) fn check(
    layout: &Layout,
    processes: &Processes,
    ops: &[Op],
    contract: &str,
) -> eyre::Result<String> {
    let client = rpc::client_with_timeout(Duration::from_secs(60));
    let mut failures: Vec<String> = Vec::new();
    let acked: Vec<(&Op, &str)> = ops
        .iter()
        .filter_map(|op| match &op.outcome {
            Outcome::Acknowledged(hash) => Some((op, hash.as_str())),
            _ => None,
        })
        .collect();
    let count = |f: fn(&Outcome) -> bool| ops.iter().filter(|op| f(&op.outcome)).count();
    let indeterminate = count(|o| matches!(o, Outcome::Indeterminate(_)));
    let mut refusals: BTreeMap<String, usize> = BTreeMap::new();
    for op in ops {
        if let Outcome::Refused(why) = &op.outcome {
            *refusals.entry(why.clone()).or_default() += 1;
        }
    }
    let private_acked = acked.iter().filter(|(op, _)| op.private_value.is_some()).count();
    let mut summary = format!(
        "requests: {} acknowledged ({} public, {private_acked} private), {} refused, {} while the node was down, {indeterminate} indeterminate\n",
        acked.len(),
        acked.len() - private_acked,
        refusals.values().sum::<usize>(),
        count(|o| matches!(o, Outcome::Unavailable)),
    );
    let per_node: Vec<String> = layout
        .numbers()
        .map(|n| format!("{n}: {}", acked.iter().filter(|(op, _)| op.node == n).count()))
        .collect();
    summary.push_str(&format!("  acknowledged by node: {}\n", per_node.join(", ")));
    for (why, n) in &refusals {
        summary.push_str(&format!("  refused {n}x: {why}\n"));
    }

    // 1. Every acknowledged transaction is mined on every node, in the same block.
    let hashes: Vec<&str> = acked.iter().map(|(_, h)| *h).collect();
    let mut locations: Vec<HashMap<String, Location>> = Vec::new();
    let deadline = Instant::now() + SETTLE;
    for n in layout.numbers() {
        match mined_on(&client, &layout.rpc_url(n), &hashes, deadline) {
            Ok(found) => locations.push(found),
            Err(missing) => {
                failures.push(format!("node {n}: {missing}"));
                locations.push(HashMap::new());
            }
        }
    }
    for (i, found) in locations.iter().enumerate().skip(1) {
        for (hash, (block, ..)) in found {
            if locations[0].get(hash).is_some_and(|(first, ..)| first != block) {
                failures.push(format!(
                    "{hash} is in block {block} on node {} but in another on node 1",
                    i + 1
                ));
            }
        }
    }

    // 2. One chain: every node has the same head, and the same hash and roots at every height.
    match one_chain(&client, layout) {
        Ok((head, blocks_text)) => {
            summary.push_str(&blocks_text);
            // 3. Exactly once, and nothing the clients did not ask for.
            match once(&client, &layout.rpc_url(1), head, &hashes, indeterminate) {
                Ok(text) => summary.push_str(&text),
                Err(e) => failures.push(e),
            }
        }
        Err(e) => failures.push(e),
    }

    // 4. Private state: equal on the parties after every private set, absent elsewhere.
    let sets: Vec<(u64, &str)> =
        acked.iter().filter_map(|(op, hash)| op.private_value.map(|v| (v, *hash))).collect();
    // A private set whose request had no answer may be mined too, after an acknowledged one.
    let unknown: Vec<u64> = ops
        .iter()
        .filter(|op| matches!(op.outcome, Outcome::Indeterminate(_)))
        .filter_map(|op| op.private_value)
        .collect();
    match private_state(layout, contract, &sets, &unknown, &locations[0]) {
        Ok(text) => summary.push_str(&text),
        Err(e) => failures.push(e),
    }

    // 5. No panic, and every process that should run runs.
    for n in layout.numbers() {
        for log in [layout.node_dir(n).join("node.log"), layout.tm_dir(n).join("tm.log")] {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(line) = text.lines().find(|l| l.contains("panicked at")) {
                failures.push(format!("{}: {line}", log.display()));
            }
        }
    }
    for (name, pid) in processes.all() {
        if !network::alive(pid) {
            failures.push(format!("{name} (pid {pid}) is not running"));
        }
    }
    let dropped: usize = layout
        .numbers()
        .map(|n| {
            std::fs::read_to_string(layout.node_dir(n).join("node.log"))
                .unwrap_or_default()
                .matches("acknowledged transaction dropped")
                .count()
        })
        .sum();
    summary.push_str(&format!(
        "warnings of dropped acknowledged transactions in node logs: {dropped}\n"
    ));

    if failures.is_empty() {
        summary.push_str("all invariants hold\n");
        Ok(summary)
    } else {
        let mut text = summary;
        text.push_str(&format!("{} invariant violations:\n", failures.len()));
        for f in failures.iter().take(50) {
            text.push_str(&format!("  {f}\n"));
        }
        Err(eyre::eyre!(text))
    }
}

/// Waits until every hash has a receipt on `url`; answers where each was mined, or which
/// were still missing at `deadline`.
fn mined_on(
    client: &reqwest::blocking::Client,
    url: &str,
    hashes: &[&str],
    deadline: Instant,
) -> Result<HashMap<String, Location>, String> {
    let mut found = HashMap::new();
    let mut missing: Vec<&str> = hashes.to_vec();
    loop {
        let mut still = Vec::new();
        for chunk in missing.chunks(BATCH) {
            let params: Vec<Value> = chunk.iter().map(|h| json!([h])).collect();
            let answers = rpc::batch(client, url, "eth_getTransactionReceipt", &params)
                .unwrap_or_else(|_| vec![Err("no answer".into()); chunk.len()]);
            for (hash, answer) in chunk.iter().zip(answers) {
                match answer {
                    Ok(r) if !r.is_null() => {
                        let block = r["blockHash"].as_str().unwrap_or_default().to_string();
                        found.insert(
                            hash.to_string(),
                            (
                                block,
                                rpc::quantity(&r["blockNumber"]),
                                rpc::quantity(&r["transactionIndex"]),
                            ),
                        );
                    }
                    _ => still.push(*hash),
                }
            }
        }
        missing = still;
        if missing.is_empty() {
            return Ok(found);
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "{} of {} acknowledged transactions not mined {} s after the load stopped, e.g. {}",
                missing.len(),
                hashes.len(),
                SETTLE.as_secs(),
                missing.iter().take(5).copied().collect::<Vec<_>>().join(", ")
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Waits for one head on every node, then compares every block's hash and roots; answers the
/// head's number and a summary line.
fn one_chain(client: &reqwest::blocking::Client, layout: &Layout) -> Result<(u64, String), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let head = loop {
        let heads: Vec<Option<(String, u64)>> = layout
            .numbers()
            .map(|n| {
                rpc::call(&layout.rpc_url(n), "eth_getBlockByNumber", json!(["latest", false]))
                    .ok()
                    .map(|b| {
                        (
                            b["hash"].as_str().unwrap_or_default().to_string(),
                            rpc::quantity(&b["number"]),
                        )
                    })
            })
            .collect();
        if heads.iter().all(|h| h.is_some() && *h == heads[0]) {
            break heads[0].as_ref().map_or(0, |(_, number)| *number);
        }
        if Instant::now() >= deadline {
            return Err(format!("the nodes do not reach one head: {heads:?}"));
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let numbers: Vec<u64> = (0..=head).collect();
    for chunk in numbers.chunks(BATCH) {
        let params: Vec<Value> = chunk.iter().map(|n| json!([format!("0x{n:x}"), false])).collect();
        let mut first: Option<Vec<Result<Value, String>>> = None;
        for n in layout.numbers() {
            let blocks = rpc::batch(client, &layout.rpc_url(n), "eth_getBlockByNumber", &params)
                .map_err(|e| format!("node {n}: {e}"))?;
            let key = |b: &Result<Value, String>| {
                b.as_ref()
                    .ok()
                    .map(|b| (b["hash"].clone(), b["stateRoot"].clone(), b["receiptsRoot"].clone()))
            };
            match &first {
                None => first = Some(blocks),
                Some(reference) => {
                    for (i, (a, b)) in reference.iter().zip(&blocks).enumerate() {
                        if key(a).is_none() || key(a) != key(b) {
                            return Err(format!(
                                "block {} differs between node 1 and node {n}: {:?} vs {:?}",
                                chunk[i],
                                key(a),
                                key(b)
                            ));
                        }
                    }
                }
            }
        }
    }
    Ok((head, format!("chain: {} blocks, the same hash, state root and receipts root at every height on all {} nodes\n", head + 1, layout.nodes)))
}

/// Every acknowledged hash is in the chain exactly once, and the chain holds no more
/// transactions than were acknowledged, deployed or left indeterminate.
fn once(
    client: &reqwest::blocking::Client,
    url: &str,
    head: u64,
    acked: &[&str],
    indeterminate: usize,
) -> Result<String, String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let numbers: Vec<u64> = (1..=head).collect();
    for chunk in numbers.chunks(BATCH) {
        let params: Vec<Value> = chunk.iter().map(|n| json!([format!("0x{n:x}"), false])).collect();
        for block in
            rpc::batch(client, url, "eth_getBlockByNumber", &params).map_err(|e| e.to_string())?
        {
            let block = block?;
            for tx in block["transactions"].as_array().into_iter().flatten() {
                *seen.entry(tx.as_str().unwrap_or_default().to_string()).or_default() += 1;
            }
        }
    }
    if let Some((hash, times)) = seen.iter().find(|(_, times)| **times > 1) {
        return Err(format!("{hash} is in the chain {times} times"));
    }
    if let Some(hash) = acked.iter().find(|h| !seen.contains_key(**h)) {
        return Err(format!("acknowledged {hash} is not in the chain"));
    }
    // The one more: the private contract's deployment.
    let unasked = seen.len().saturating_sub(acked.len() + 1);
    if unasked > indeterminate {
        return Err(format!(
            "the chain holds {unasked} transactions beyond the acknowledged ones, but only {indeterminate} requests had no answer"
        ));
    }
    Ok(format!(
        "mined: {} transactions, each once; every acknowledged one among them ({unasked} of {indeterminate} indeterminate requests were mined too)\n",
        seen.len()
    ))
}

/// The parties (node 1 and the last) show the same value after every block with an
/// acknowledged `set`: that block's last acknowledged one, or one whose request had no answer
/// (`unknown`: it may have been mined after it); likewise at the head. The other nodes have no
/// code at the contract and no payload.
fn private_state(
    layout: &Layout,
    contract: &str,
    sets: &[(u64, &str)],
    unknown: &[u64],
    locations: &HashMap<String, Location>,
) -> Result<String, String> {
    let parties = [1, layout.nodes];
    let get = |n: usize, block: &str| -> Result<String, String> {
        let params = json!([{ "to": contract, "data": demo::GET_CALL }, block]);
        rpc::call(&layout.rpc_url(n), "eth_call", params)
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .map_err(|e| format!("node {n}: get() at {block}: {e}"))
    };
    let word = |v: u64| format!("0x{v:064x}");
    // The last set of each block, by index.
    let mut last_per_block: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for (value, hash) in sets {
        let (_, number, index) =
            locations.get(*hash).ok_or_else(|| format!("private set({value}) {hash} not mined"))?;
        let entry = last_per_block.entry(*number).or_insert((*index, *value));
        if *index >= entry.0 {
            *entry = (*index, *value);
        }
    }
    let allowed = |value: u64| -> Vec<String> {
        std::iter::once(value).chain(unknown.iter().copied()).map(word).collect()
    };
    let agree = |block: &str, value: u64| -> Result<String, String> {
        let shown = parties.iter().map(|&n| get(n, block)).collect::<Result<Vec<_>, _>>()?;
        if shown[0] != shown[1] || !allowed(value).contains(&shown[0]) {
            return Err(format!(
                "after block {block} node 1 shows {} and node {} shows {}; the last acknowledged set was {value}",
                shown[0], layout.nodes, shown[1]
            ));
        }
        Ok(shown[0].clone())
    };
    for (number, (_, value)) in &last_per_block {
        agree(&format!("0x{number:x}"), *value)?;
    }
    let expected = last_per_block.values().last().map_or(0, |(_, v)| *v);
    let at_head = agree("latest", expected)?;
    let expected = u64::from_str_radix(at_head.trim_start_matches("0x"), 16).unwrap_or(expected);
    let payload_hash = match sets.first() {
        Some((_, hash)) => {
            let tx = rpc::call(&layout.rpc_url(1), "eth_getTransactionByHash", json!([hash]))
                .map_err(|e| e.to_string())?;
            Some((tx["input"].as_str().unwrap_or_default().to_string(), sets[0].0))
        }
        None => None,
    };
    for n in layout.numbers() {
        let url = layout.rpc_url(n);
        let code = rpc::call(&url, "eth_getCode", json!([contract, "latest"]))
            .map_err(|e| e.to_string())?;
        let party = parties.contains(&n);
        if party == (code == "0x") {
            return Err(format!(
                "node {n} (party: {party}) has code {code} at the private contract"
            ));
        }
        if let Some((hash, value)) = &payload_hash {
            let payload = rpc::call(&url, "eth_getQuorumPayload", json!([hash]))
                .map_err(|e| e.to_string())?;
            let want = if party { demo::set_call(*value) } else { "0x".to_string() };
            if payload != want.as_str() {
                return Err(format!(
                    "node {n} (party: {party}) gives payload {payload} for set({value})"
                ));
            }
        }
    }
    Ok(format!(
        "private: {} sets in {} blocks, nodes 1 and {} agree after each and show {expected} at the head; nodes 2-{} hold no code and no payload\n",
        sets.len(),
        last_per_block.len(),
        layout.nodes,
        layout.nodes - 1
    ))
}
