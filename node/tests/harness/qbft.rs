//! QBFT validators in this test process, as `veil` runs them: a chain engine each, on its own
//! in-memory store, driven by the QBFT engine (`veil_node::qbft`) over `veil_p2p::memory`'s
//! network; and the genesis pieces their tests need.

use alloy_primitives::{keccak256, Address};
use std::sync::Arc;
use tokio::sync::watch;
use veil_config::ChainSpec;
use veil_node::{
    dev::dev_chain_spec,
    network::NetworkSetup,
    ptm::Ptm,
    qbft::{QbftSetup, QbftStatus},
    Chain, TxPool,
};
use veil_p2p::{memory::MemoryNetwork, Enode, NodeKey};
use veil_primitives::istanbul::{QbftExtra, ISTANBUL_DIGEST};
use veil_storage::{InMemoryKv, KvStore};

/// One running validator.
pub struct Validator {
    pub chain: Arc<Chain>,
    pub pool: Arc<TxPool>,
    /// Its TM client, in a private network.
    pub ptm: Option<Arc<Ptm>>,
    /// Why its import is halted, while it is.
    pub halted: watch::Receiver<Option<String>>,
    pub status: watch::Receiver<QbftStatus>,
    pub rpc: veil_node::qbft::QbftRpc,
    pub shutdown: watch::Sender<bool>,
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Validator {
    /// Stops its tasks (its store stays, unused).
    pub fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            task.abort();
        }
    }
}

/// The dev chain's genesis turned QBFT: `validators` in its extra data, the Istanbul digest,
/// a 1 s block period and a 2 s round-0 timeout.
pub fn qbft_spec(validators: &[Address]) -> ChainSpec {
    qbft_spec_with(validators, serde_json::json!({}))
}

/// [`qbft_spec`] with more `config.qbft` keys.
pub fn qbft_spec_with(validators: &[Address], more: serde_json::Value) -> ChainSpec {
    let mut genesis = serde_json::to_value(dev_chain_spec().genesis()).unwrap();
    let mut sorted = validators.to_vec();
    sorted.sort();
    let extra = QbftExtra { vanity: vec![0; 32].into(), validators: sorted, ..Default::default() };
    genesis["config"]["qbft"] = serde_json::json!({
        "blockperiodseconds": 1, "requesttimeoutseconds": 2, "epochlength": 30000
    });
    for (key, value) in more.as_object().unwrap() {
        genesis["config"]["qbft"][key] = value.clone();
    }
    genesis["extraData"] = format!("{}", extra.encode()).into();
    genesis["mixHash"] = format!("{ISTANBUL_DIGEST}").into();
    genesis["difficulty"] = "0x1".into();
    ChainSpec::from_json(&genesis.to_string()).expect("a QBFT genesis")
}

/// Starts a validator with `key` on `network`, its own in-memory store holding `spec`'s
/// genesis, `enodes` its static nodes.
pub async fn start(
    network: &MemoryNetwork,
    spec: &ChainSpec,
    key: &NodeKey,
    enodes: &[Enode],
) -> Validator {
    start_with_tm(network, spec, key, enodes, None).await
}

/// [`start`] with a TM client: a validator of a private network.
pub async fn start_with_tm(
    network: &MemoryNetwork,
    spec: &ChainSpec,
    key: &NodeKey,
    enodes: &[Enode],
    ptm: Option<Arc<Ptm>>,
) -> Validator {
    let kv: Arc<dyn KvStore> = Arc::new(InMemoryKv::new());
    Chain::init(&kv, spec).expect("genesis");
    let (shutdown, shutdown_rx) = watch::channel(false);
    let engine = veil_node::assemble(kv.clone(), ptm.clone(), Address::ZERO, shutdown_rx.clone())
        .expect("chain engine");
    let halted = engine.handle.halted();
    let mut tasks = vec![tokio::spawn(async move {
        let _ = engine.executor.await;
    })];
    tasks.extend(engine.prefetch.map(tokio::spawn));
    let setup = QbftSetup {
        network: NetworkSetup {
            key: key.clone(),
            port: 0,
            static_nodes: enodes.to_vec(),
            permissioned: None,
        },
        config: spec.qbft().expect("QBFT").clone(),
        flags: (5, 10_000),
    };
    let (chain, pool) = (engine.chain.clone(), engine.pool.clone());
    let started =
        veil_node::qbft::start_on(setup, network.join(key), engine.handle, kv, shutdown_rx)
            .expect("the engine starts");
    tasks.extend(started.services.into_iter().map(|(_, service)| tokio::spawn(service)));
    let task = started.task;
    tasks.push(tokio::spawn(async move {
        if let Ok(Err(e)) = task.await {
            panic!("the QBFT engine failed: {e:#}");
        }
    }));
    Validator {
        chain,
        pool,
        ptm,
        halted,
        status: started.status,
        rpc: started.rpc,
        shutdown,
        tasks,
    }
}

/// The proposer of block `number` and the validators whose seals it carries.
pub fn sealers(v: &Validator, number: u64) -> (Address, Vec<Address>) {
    let store = v.chain.store();
    let header = store.header(store.canonical_hash(number).unwrap().unwrap()).unwrap().unwrap();
    let extra = QbftExtra::decode(&header.extra_data).unwrap();
    let hash = veil_primitives::istanbul::seal_hash(&header, &extra, extra.round);
    let signers = extra
        .committed_seals
        .iter()
        .map(|seal| veil_primitives::istanbul::seal_signer(seal, hash).unwrap())
        .collect();
    (header.beneficiary, signers)
}

/// Besu's test validator contract (its `address[] validators` at storage slot 0) listing
/// `validators`, as a genesis `alloc` entry.
pub fn validator_contract(validators: &[Address]) -> serde_json::Value {
    let besu: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            crate::support::vectors_dir().join("qbft/genesis/besu-genesis_validator_contract.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let code =
        besu["alloc"]["0x0000000000000000000000000000000000008888"]["code"].as_str().unwrap();
    // Solidity's layout of `address[] validators` at slot 0: the length there, the items from
    // keccak256(slot 0) on.
    let first = alloy_primitives::U256::from_be_bytes(keccak256([0u8; 32]).0);
    let mut storage = serde_json::Map::new();
    storage.insert(format!("{:#066x}", 0), format!("{:#066x}", validators.len()).into());
    for (i, address) in validators.iter().enumerate() {
        let slot = first + alloy_primitives::U256::from(i);
        storage.insert(
            format!("{slot:#066x}"),
            format!("{:#066x}", alloy_primitives::U256::from_be_slice(address.as_slice())).into(),
        );
    }
    serde_json::json!({ "balance": "0x0", "code": format!("0x{code}"), "storage": storage })
}
