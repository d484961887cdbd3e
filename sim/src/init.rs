//! `veil-sim init`: keys, genesis, node and TM configuration for N nodes, in 7nodes' layout.

use crate::{
    bins,
    layout::{Consensus, Layout},
};
use alloy_primitives::Address;
use serde_json::{json, Value};
use std::{path::Path, process::Command};
use veil_config::Hardfork;
use veil_primitives::istanbul::{QbftExtra, ISTANBUL_DIGEST};

/// 7nodes' chain id.
const CHAIN_ID: u64 = 10;
/// What each account gets at genesis (1e27 wei, 7nodes' figure).
const BALANCE: &str = "1000000000000000000000000000";

/// What `veil-sim init` makes besides the layout.
pub(crate) struct Options<'a> {
    /// A 7nodes-style key set to reuse (`keyN` keystores, `nodekeyN`, `tmN.pub` / `tmN.key`).
    pub keys: Option<&'a Path>,
    /// The EVM from genesis.
    pub fork: Hardfork,
    /// Under QBFT, how many of the first nodes are validators (default: all).
    pub validators: Option<usize>,
    /// Privacy enhancements on from genesis, in the genesis and every TM.
    pub privacy_enhancements: bool,
}

/// Creates the network in `layout.dir`.
pub(crate) fn init(layout: &Layout, options: &Options<'_>) -> eyre::Result<()> {
    let (keys, fork) = (options.keys, options.fork);
    let validators_count = options.validators.unwrap_or(layout.nodes);
    eyre::ensure!(
        (1..=layout.nodes).contains(&validators_count),
        "--validators must be 1 to the node count"
    );
    eyre::ensure!(
        !layout.dir.join("network.json").exists(),
        "{} already holds a network; remove it or choose another --dir",
        layout.dir.display()
    );
    eyre::ensure!((1..=99).contains(&layout.nodes), "--nodes must be 1 to 99");
    std::fs::create_dir_all(&layout.dir)?;
    let passwords = layout.dir.join("passwords.txt");
    std::fs::write(&passwords, "\n")?;
    let mut enodes = Vec::new();
    let mut validators = Vec::new();
    let mut alloc = serde_json::Map::new();
    for n in layout.numbers() {
        let dir = layout.node_dir(n);
        std::fs::create_dir_all(dir.join("keystore"))?;
        if let Some(keys) = keys {
            std::fs::copy(keys.join(format!("nodekey{n}")), dir.join("nodekey"))?;
            std::fs::copy(
                keys.join(format!("key{n}")),
                dir.join("keystore").join(format!("key{n}")),
            )?;
        }
        let mut nodekey = Command::new(bins::veil()?);
        nodekey.arg("nodekey").arg(dir.join("nodekey"));
        let id = bins::output(nodekey)?.trim().to_string();
        validators.push(address_of_node_id(&id)?);
        enodes.push(format!(
            "enode://{id}@{}:{}?discport=0&raftport={}",
            layout.public_ip(),
            layout.p2p_port(n),
            layout.raft_port(n)
        ));
        let address = match keys {
            Some(_) => keystore_address(&dir.join("keystore").join(format!("key{n}")))?,
            None => {
                let mut new = Command::new(bins::veil()?);
                new.args(["account", "new", "--datadir"])
                    .arg(&dir)
                    .arg("--password")
                    .arg(&passwords);
                let out = bins::output(new)?;
                out.lines()
                    .find_map(|l| l.strip_prefix("Public address of the key:"))
                    .map(|a| a.trim().to_string())
                    .ok_or_else(|| eyre::eyre!("veil account new printed no address: {out}"))?
            }
        };
        alloc.insert(address.to_lowercase(), json!({ "balance": BALANCE }));

        let tm = layout.tm_dir(n);
        std::fs::create_dir_all(&tm)?;
        match keys {
            Some(keys) => {
                std::fs::copy(keys.join(format!("tm{n}.pub")), tm.join("tm.pub"))?;
                std::fs::copy(keys.join(format!("tm{n}.key")), tm.join("tm.key"))?;
            }
            None => {
                let mut keygen = Command::new(bins::veil_tm()?);
                keygen.args(["keygen", "--filename"]).arg(tm.join("tm"));
                bins::output(keygen)?;
            }
        }
    }
    alloc.extend(veil_config::genesis_system_contracts(fork));
    let mut genesis = genesis(alloc, fork);
    if layout.consensus == Consensus::Qbft {
        validators.truncate(validators_count);
        make_qbft(&mut genesis, validators);
    }
    if options.privacy_enhancements {
        genesis["config"]["privacyEnhancementsBlock"] = 0.into();
    }
    let genesis_path = layout.dir.join("genesis.json");
    std::fs::write(&genesis_path, serde_json::to_vec_pretty(&genesis)?)?;
    let enodes = serde_json::to_vec_pretty(&enodes)?;
    for n in layout.numbers() {
        let dir = layout.node_dir(n);
        std::fs::write(dir.join("static-nodes.json"), &enodes)?;
        std::fs::write(dir.join("permissioned-nodes.json"), &enodes)?;
        let mut init = Command::new(bins::veil()?);
        init.args(["init", "--datadir"]).arg(&dir).arg(&genesis_path);
        bins::output(init)?;
        let mut tm = tm_config(layout, n);
        if options.privacy_enhancements {
            tm["features"] = json!({ "enablePrivacyEnhancements": true });
        }
        std::fs::write(layout.tm_dir(n).join("tm.json"), serde_json::to_vec_pretty(&tm)?)?;
    }
    std::fs::write(layout.dir.join("prometheus.yml"), prometheus_config(layout))?;
    layout.save()
}

/// A Prometheus configuration that scrapes every node and TM of the network
/// (`prometheus --config.file DIR/prometheus.yml`).
fn prometheus_config(layout: &Layout) -> String {
    let targets = |port: &dyn Fn(usize) -> String| {
        layout.numbers().map(|n| format!("'{}'", port(n))).collect::<Vec<_>>().join(", ")
    };
    let nodes = targets(&|n| format!("{}:{}", layout.host_ip(n), layout.metrics_port(n)));
    let tms = targets(&|n| layout.tm_p2p_binding(n).trim_start_matches("http://").to_string());
    format!(
        "# Scrapes the veil-sim network in this directory: prometheus --config.file prometheus.yml\n\
         global:\n  scrape_interval: 5s\n\
         scrape_configs:\n\
         \x20 - job_name: veil\n    metrics_path: /debug/metrics/prometheus\n    static_configs:\n      - targets: [{nodes}]\n\
         \x20 - job_name: veil-tm\n    metrics_path: /metrics\n    static_configs:\n      - targets: [{tms}]\n"
    )
}

/// The address inside a geth keystore file.
fn keystore_address(path: &Path) -> eyre::Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| eyre::eyre!("{}: {e}", path.display()))?;
    let value: Value = serde_json::from_str(&text)?;
    let address =
        value["address"].as_str().ok_or_else(|| eyre::eyre!("{}: no address", path.display()))?;
    Ok(format!("0x{}", address.trim_start_matches("0x")))
}

/// A gas-free (isQuorum) chain in 7nodes' shape, with every fork through `fork` at genesis.
fn genesis(alloc: serde_json::Map<String, Value>, fork: Hardfork) -> Value {
    let mut config = veil_config::genesis_fork_schedule(fork);
    config.insert("chainId".into(), CHAIN_ID.into());
    config.insert("isQuorum".into(), true.into());
    json!({
        "config": config,
        "alloc": alloc,
        "coinbase": "0x0000000000000000000000000000000000000000",
        "difficulty": "0x0",
        "extraData": "0x",
        "gasLimit": "0xE0000000",
        "mixhash": "0x00000000000000000000000000000000000000647572616c65787365646c6578",
        "nonce": "0x0",
        "parentHash": "0x0000000000000000000000000000000000000000000000000000000000000000",
        "timestamp": "0x00"
    })
}

/// The validator address of a node id (the enode's 64-byte public key in hex).
fn address_of_node_id(id: &str) -> eyre::Result<Address> {
    let public = alloy_primitives::hex::decode(id)
        .map_err(|e| eyre::eyre!("veil nodekey printed {id:?}: {e}"))?;
    Ok(Address::from_slice(&alloy_primitives::keccak256(public)[12..]))
}

/// Turns the genesis into GoQuorum's QBFT shape with every node a validator: `config.qbft`
/// (1 s blocks, a 4 s round-0 timeout doubling up to 16 s), the validators in `extraData`, the
/// Istanbul digest, difficulty 1.
fn make_qbft(genesis: &mut Value, mut validators: Vec<Address>) {
    validators.sort();
    let extra = QbftExtra { vanity: vec![0; 32].into(), validators, ..Default::default() };
    genesis["config"]["qbft"] = json!({
        "blockperiodseconds": 1,
        "requesttimeoutseconds": 4,
        "maxRequestTimeoutSeconds": 16,
        "epochlength": 30000,
        "policy": 0,
    });
    genesis["extraData"] = format!("{}", extra.encode()).into();
    genesis["mixhash"] = format!("{ISTANBUL_DIGEST}").into();
    genesis["difficulty"] = "0x1".into();
}

/// TM `n`'s Tessera-shaped configuration: Q2T on its socket, P2P and ThirdParty on 7nodes'
/// ports, every other TM as a peer.
fn tm_config(layout: &Layout, n: usize) -> Value {
    let tm = layout.tm_dir(n);
    veil_config::LocalTm {
        socket: layout.tm_socket(n),
        p2p_url: layout.tm_p2p_url(n),
        p2p_binding: layout.hosts.then(|| layout.tm_p2p_binding(n)),
        third_party_url: layout.tm_third_party_url(n),
        key_base: tm.join("tm"),
        storage: tm.join("db"),
        peers: layout.numbers().filter(|&m| m != n).map(|m| layout.tm_p2p_url(m)).collect(),
        party_info_interval_ms: None,
    }
    .to_json()
}
