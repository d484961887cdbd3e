//! Veil's JSON-RPC: geth's and GoQuorum's methods, JSON shapes and error codes over the chain
//! engine ([`veil_chain`]), served over HTTP, WebSocket and an IPC socket.
//!
//! Each namespace (`eth`, `net`, `web3`, `personal`, `txpool`, `debug`, `admin`, `raft`,
//! `istanbul`, `qbft`, `rpc`)
//! is a jsonrpsee [`RpcModule`] over one shared [`RpcContext`]; [`Api`] lists which a transport
//! serves and [`modules_for`] merges them. [`server`] runs HTTP and WS through jsonrpsee with
//! limits, CORS and host checks; [`ipc`] serves the same modules (batches and subscriptions
//! included) on a unix socket.
//!
//! Methods are async end to end: reads answer inline, a method that waits on the transaction
//! manager or the consensus engine awaits it, and CPU-heavy work (execution, tracing, key
//! derivation) runs on the blocking pool. The p2p service and the consensus engine are
//! reached only through the traits of [`network`], which the node implements: this crate
//! knows no engine. The node's keystore is [`accounts`].

pub mod accounts;
mod admin;
mod args;
mod batch_budget;
mod bft;
mod blocks;
mod call;
pub mod call_metrics;
mod convert;
mod debug;
mod error;
mod eth;
mod filters;
pub mod ipc;
mod js_tracer;
pub mod network;
mod nonce_lock;
mod personal;
mod private;
mod pubsub;
mod raft;
mod revert_reason;
mod send_async;
pub mod server;
mod sign;
mod simulate_v1;
mod tracers;
mod txpool;

pub use args::Args;
pub use filters::FilterStore;

use accounts::Accounts;
use alloy_primitives::Address;
use jsonrpsee::{core::RegisterMethodError, RpcModule};
use network::{BftApi, Peers, RaftApi};
use std::{future::Future, path::PathBuf, str::FromStr, sync::Arc};
use veil_chain::{ptm::Ptm, Chain, TxPool};

/// How the node names itself (geth's `--networkid`, `--identity`, `--nat extip:IP`).
#[derive(Clone, Debug, Default)]
pub struct NodeIdentity {
    /// `net_version` and admin_nodeInfo's network (default: the chain id).
    pub network_id: Option<u64>,
    /// A name in the client version, as geth's `Geth/NAME/v…`.
    pub name: Option<String>,
    /// The address the node's enode names.
    pub external_ip: Option<std::net::IpAddr>,
}

/// What the RPC methods work on.
#[derive(Debug)]
pub struct RpcContext {
    /// The chain.
    pub chain: Arc<Chain>,
    /// The pool.
    pub pool: Arc<TxPool>,
    /// The keystore and unlocked keys.
    pub accounts: Arc<Accounts>,
    /// Log and block filters of `eth_newFilter` and friends.
    pub filters: FilterStore,
    /// The data directory (`admin_datadir`).
    pub datadir: PathBuf,
    /// Fee recipient of minted blocks (`eth_coinbase`).
    pub etherbase: Address,
    /// Whether `personal_unlockAccount` may run (geth refuses it while HTTP is open unless
    /// `--allow-insecure-unlock`).
    pub unlock_allowed: bool,
    /// Most gas an `eth_call`, `eth_estimateGas` or trace may use (geth's `--rpc.gascap`).
    pub gas_cap: u64,
    /// The p2p service, when the node has peers.
    pub peers: Option<Arc<dyn Peers>>,
    /// The raft member, in raft mode.
    pub raft: Option<Arc<dyn RaftApi>>,
    /// The QBFT engine, when the genesis runs QBFT.
    pub bft: Option<Arc<dyn BftApi>>,
    /// The private transaction manager, when private transactions run here.
    pub ptm: Option<Arc<Ptm>>,
    /// Why block import is halted, while it is (the chain handle's).
    pub halted: tokio::sync::watch::Receiver<Option<String>>,
    /// Who this node is to clients: `--networkid`, `--identity`, `--nat extip:IP`.
    pub identity: NodeIdentity,
    /// Whether a failed transaction's receipt carries `revertReason` (GoQuorum's and geth's
    /// `--revertreason`).
    pub revert_reason: bool,
    /// Per-account locks held from choosing a nonce to admitting the transaction.
    pub(crate) nonce_locks: nonce_lock::NonceLocks,
}

/// A JSON-RPC namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Api {
    /// `eth_*`.
    Eth,
    /// `net_*`.
    Net,
    /// `web3_*`.
    Web3,
    /// `personal_*`.
    Personal,
    /// `txpool_*`.
    Txpool,
    /// `debug_*`.
    Debug,
    /// `admin_*`.
    Admin,
    /// `rpc_modules`.
    Rpc,
    /// `raft_*` (GoQuorum's raft namespace).
    Raft,
    /// `istanbul_*` (GoQuorum's QBFT namespace).
    Istanbul,
    /// `qbft_*` (Besu's QBFT namespace).
    Qbft,
}

impl Api {
    /// Every namespace (what IPC serves, as in geth).
    pub const ALL: [Api; 11] = [
        Api::Admin,
        Api::Debug,
        Api::Eth,
        Api::Istanbul,
        Api::Net,
        Api::Personal,
        Api::Qbft,
        Api::Raft,
        Api::Rpc,
        Api::Txpool,
        Api::Web3,
    ];

    /// geth's default for `--http.api` and `--ws.api`.
    pub const DEFAULT_REMOTE: [Api; 3] = [Api::Eth, Api::Net, Api::Web3];

    /// The namespace's name.
    pub fn name(self) -> &'static str {
        match self {
            Api::Eth => "eth",
            Api::Net => "net",
            Api::Web3 => "web3",
            Api::Personal => "personal",
            Api::Txpool => "txpool",
            Api::Debug => "debug",
            Api::Admin => "admin",
            Api::Rpc => "rpc",
            Api::Raft => "raft",
            Api::Istanbul => "istanbul",
            Api::Qbft => "qbft",
        }
    }
}

impl FromStr for Api {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Api::ALL.into_iter().find(|api| api.name() == s.trim()).ok_or_else(|| {
            let known: Vec<&str> = Api::ALL.iter().map(|api| api.name()).collect();
            format!("unknown API namespace {s:?}; known: {}", known.join(", "))
        })
    }
}

/// Parses geth's comma-separated API list (`eth,net,web3`): the namespaces served, and the
/// names no namespace has (GoQuorum deployments list `shh`, `db`, `miner`, `quorum`…), which
/// geth only warns about.
pub fn parse_api_list(list: &str) -> (Vec<Api>, Vec<String>) {
    let mut apis = Vec::new();
    let mut unknown = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match name.parse::<Api>() {
            Ok(api) => apis.push(api),
            Err(_) => unknown.push(name.to_string()),
        }
    }
    apis.sort();
    apis.dedup();
    (apis, unknown)
}

/// One module with the methods of `apis` (plus `rpc_modules`, which always lists them). Without
/// `subscriptions` (HTTP), `eth_subscribe` answers geth's "notifications not supported".
pub fn modules_for(
    context: &Arc<RpcContext>,
    apis: &[Api],
    subscriptions: bool,
) -> Result<RpcModule<()>, RegisterMethodError> {
    let mut module = RpcModule::new(());
    for api in apis {
        let part = match api {
            Api::Eth => {
                let mut eth = eth::module(context.clone())?;
                eth.merge(call::module(context.clone())?)?;
                eth.merge(sign::module(context.clone())?)?;
                eth.merge(filters::module(context.clone())?)?;
                eth.merge(if subscriptions {
                    pubsub::module(context.clone())?
                } else {
                    pubsub::unsupported(context.clone())?
                })?;
                eth.remove_context()
            }
            Api::Net => admin::net_module(context.clone())?.remove_context(),
            Api::Web3 => admin::web3_module(context.clone())?.remove_context(),
            Api::Personal => personal::module(context.clone())?.remove_context(),
            Api::Txpool => txpool::module(context.clone())?.remove_context(),
            Api::Debug => debug::module(context.clone())?.remove_context(),
            Api::Admin => admin::admin_module(context.clone())?.remove_context(),
            Api::Raft => raft::module(context.clone())?.remove_context(),
            Api::Istanbul => bft::istanbul_module(context.clone())?.remove_context(),
            Api::Qbft => bft::qbft_module(context.clone())?.remove_context(),
            Api::Rpc => continue,
        };
        module.merge(part)?;
    }
    module.merge(admin::rpc_modules_module(apis)?)?;
    Ok(module)
}

type Module = RpcModule<RpcContext>;
type MethodResult<R> = Result<R, jsonrpsee::types::ErrorObjectOwned>;

/// Registers a method that answers inline (cheap reads).
fn method<R, F>(module: &mut Module, name: &'static str, f: F) -> Result<(), RegisterMethodError>
where
    R: serde::Serialize + Clone + Send + 'static,
    F: Fn(&RpcContext, &Args) -> MethodResult<R> + Send + Sync + 'static,
{
    module.register_method(name, move |params, context, _| f(context, &Args::parse(&params)?))?;
    Ok(())
}

/// Registers a method that runs on the blocking pool (execution, scans, key derivation).
fn blocking<R, F>(module: &mut Module, name: &'static str, f: F) -> Result<(), RegisterMethodError>
where
    R: serde::Serialize + Clone + Send + 'static,
    F: Fn(&RpcContext, &Args) -> MethodResult<R> + Clone + Send + Sync + 'static,
{
    module.register_blocking_method(name, move |params, context, _| {
        f(&context, &Args::parse(&params)?)
    })?;
    Ok(())
}

/// Registers an async method: one that awaits the transaction manager or the consensus engine
/// (its CPU-heavy parts go through [`off_thread`]).
fn async_method<R, F, Fut>(
    module: &mut Module,
    name: &'static str,
    f: F,
) -> Result<(), RegisterMethodError>
where
    R: serde::Serialize + Clone + Send + 'static,
    F: Fn(Arc<RpcContext>, Args) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = MethodResult<R>> + Send + 'static,
{
    module.register_async_method(name, move |params, context, _| {
        let f = f.clone();
        async move { f(context, Args::parse(&params)?).await }
    })?;
    Ok(())
}

/// Runs CPU-heavy work of an async method (execution, tracing, key derivation) on the blocking
/// pool.
async fn off_thread<R, F>(context: &Arc<RpcContext>, f: F) -> MethodResult<R>
where
    R: Send + 'static,
    F: FnOnce(&RpcContext) -> MethodResult<R> + Send + 'static,
{
    let context = context.clone();
    tokio::task::spawn_blocking(move || f(&context))
        .await
        .map_err(|e| error::internal_error(format!("the method's worker stopped: {e}")))?
}

impl RpcContext {
    /// A context over `chain` and `pool` with the keystore `accounts`; no etherbase, unlocking
    /// refused, geth's 50M gas cap, no peers, no consensus engine, no TM: set those fields
    /// as the node has them.
    pub fn new(
        chain: Arc<Chain>,
        pool: Arc<TxPool>,
        accounts: Arc<Accounts>,
        filters: FilterStore,
        datadir: PathBuf,
        halted: tokio::sync::watch::Receiver<Option<String>>,
    ) -> Self {
        RpcContext {
            chain,
            pool,
            accounts,
            filters,
            datadir,
            etherbase: Address::ZERO,
            unlock_allowed: false,
            gas_cap: 50_000_000,
            peers: None,
            raft: None,
            bft: None,
            ptm: None,
            halted,
            identity: NodeIdentity::default(),
            revert_reason: false,
            nonce_locks: Default::default(),
        }
    }
}

/// A context over a fresh in-memory dev chain with its keystore in `keystore` (fuzzing,
/// benchmarks of the RPC layer alone).
pub fn dev_context(keystore: &std::path::Path) -> eyre::Result<RpcContext> {
    let kv: Arc<dyn veil_storage::KvStore> = Arc::new(veil_storage::InMemoryKv::new());
    Chain::init(&kv, &veil_chain::dev::dev_chain_spec())?;
    let chain = Arc::new(Chain::open(kv)?);
    let pool = Arc::new(TxPool::new(veil_chain::PoolConfig::default(), chain.spec().clone(), None));
    let mut context = RpcContext::new(
        chain,
        pool,
        Arc::new(Accounts::open(keystore)?),
        FilterStore::default(),
        keystore.to_path_buf(),
        tokio::sync::watch::channel(None).1,
    );
    context.unlock_allowed = true;
    Ok(context)
}
