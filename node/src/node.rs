//! Assembling and running a node: store, chain, pool, minter, RPC, and graceful shutdown.

use crate::{
    accounts::Accounts,
    dev,
    mint_trigger::run_mint_trigger,
    rpc::{
        self,
        server::{Access, Limits, Transport},
        Api, FilterStore, RpcContext,
    },
    supervisor::Supervisor,
    Chain,
};
use alloy_primitives::Address;
use eyre::WrapErr;
use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};
use veil_config::Hardfork;
use veil_storage::{KvStore, RocksKv};

/// How to run a node.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Data directory (`chaindata/` holds the database).
    pub datadir: PathBuf,
    /// Create a dev chain on first start.
    pub dev: bool,
    /// Minimum time between blocks.
    pub block_time: Duration,
    /// The JSON-RPC servers.
    pub rpc: RpcConfig,
    /// Fee recipient of minted blocks.
    pub beneficiary: Address,
    /// The keystore directory (default: `<datadir>/keystore`).
    pub keystore: Option<PathBuf>,
    /// Accounts to unlock at start, with one password per line of `password_file` (the last
    /// line serves the rest, as in geth).
    pub unlock: Vec<UnlockTarget>,
    /// The password file for `unlock`.
    pub password_file: Option<PathBuf>,
    /// Raft mode (blocks ordered by a cluster) instead of minting alone.
    pub raft: Option<crate::raft::RaftSetup>,
    /// How a chain whose genesis runs QBFT runs here.
    pub qbft: QbftArgs,
    /// The private transaction manager, when private transactions run here.
    pub ptm: Option<crate::ptm::PtmConfig>,
    /// Where to serve Prometheus metrics (`--metrics`), if anywhere.
    pub metrics: Option<SocketAddr>,
    /// How the node names itself to clients (`--networkid`, `--identity`, `--nat`).
    pub identity: rpc::NodeIdentity,
    /// Enodes dialled besides the static nodes (`--bootnodes`; QBFT only: Raft's members are
    /// its static nodes).
    pub bootnodes: Vec<veil_p2p::Enode>,
}

/// A QBFT validator's settings: its p2p settings (read from the data directory only when the
/// genesis runs QBFT) and GoQuorum's `--istanbul.*` flags, for a genesis (the legacy
/// `istanbul` object) that leaves the block period and the request timeout to them.
#[derive(Clone, Debug)]
pub struct QbftArgs {
    /// The node key file (default: `<datadir>/nodekey`).
    pub nodekey: Option<PathBuf>,
    /// The p2p TCP port.
    pub port: u16,
    /// Allow only the peers of `permissioned-nodes.json`.
    pub permissioned: bool,
    /// `--istanbul.blockperiod`, seconds.
    pub block_period_seconds: u64,
    /// `--istanbul.requesttimeout`, milliseconds.
    pub request_timeout_ms: u64,
}

impl Default for QbftArgs {
    /// GoQuorum's defaults: port 30303, a 5 s block period, a 10 s request timeout.
    fn default() -> Self {
        Self {
            nodekey: None,
            port: 30303,
            permissioned: false,
            block_period_seconds: 5,
            request_timeout_ms: 10_000,
        }
    }
}

/// The HTTP server.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Where to listen.
    pub addr: SocketAddr,
    /// Namespaces served.
    pub apis: Vec<Api>,
    /// Browser origins allowed by CORS.
    pub cors_domains: Vec<String>,
    /// Accepted `Host` names.
    pub vhosts: Vec<String>,
}

/// The WebSocket server.
#[derive(Clone, Debug)]
pub struct WsConfig {
    /// Where to listen.
    pub addr: SocketAddr,
    /// Namespaces served.
    pub apis: Vec<Api>,
    /// Browser origins allowed to connect (empty: localhost).
    pub origins: Vec<String>,
}

/// Which JSON-RPC servers run, and their limits.
#[derive(Clone, Debug)]
pub struct RpcConfig {
    /// HTTP, if enabled.
    pub http: Option<HttpConfig>,
    /// WebSocket, if enabled.
    pub ws: Option<WsConfig>,
    /// The IPC socket path, unless disabled (serves every namespace).
    pub ipc: Option<PathBuf>,
    /// Size, batch and connection limits.
    pub limits: Limits,
    /// Most gas a call, estimate or trace may use.
    pub gas_cap: u64,
    /// Allow unlocking accounts while HTTP is served.
    pub allow_insecure_unlock: bool,
    /// Failed transactions' receipts carry `revertReason` (`--revertreason`).
    pub revert_reason: bool,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            http: None,
            ws: None,
            ipc: None,
            limits: Limits::default(),
            gas_cap: 50_000_000,
            allow_insecure_unlock: false,
            revert_reason: false,
        }
    }
}

/// The running JSON-RPC servers.
struct RpcServers {
    handles: Vec<jsonrpsee::server::ServerHandle>,
    ipc: Option<rpc::ipc::IpcHandle>,
}

impl RpcServers {
    async fn stop(self) {
        for handle in self.handles {
            let _ = handle.stop();
            handle.stopped().await;
        }
        if let Some(ipc) = self.ipc {
            ipc.stop().await;
        }
    }
}

async fn start_rpc(config: &RpcConfig, context: &Arc<RpcContext>) -> eyre::Result<RpcServers> {
    let mut handles = Vec::new();
    let servers = [
        config.http.as_ref().map(|http| {
            let access = Access { vhosts: http.vhosts.clone(), ws_origins: None };
            (Transport::Http, http.addr, &http.apis, access, http.cors_domains.as_slice())
        }),
        config.ws.as_ref().map(|ws| {
            let access = Access { vhosts: vec!["*".into()], ws_origins: Some(ws.origins.clone()) };
            (Transport::Ws, ws.addr, &ws.apis, access, &[][..])
        }),
    ];
    let halted = context.halted.clone();
    let health: rpc::server::Health = Arc::new(move || halted.borrow().clone());
    for (transport, addr, apis, access, cors) in servers.into_iter().flatten() {
        let module = rpc::modules_for(context, apis, transport == Transport::Ws)?;
        let (bound, handle) = rpc::server::start(
            transport,
            addr,
            module,
            config.limits,
            access,
            cors,
            health.clone(),
        )
        .await
        .wrap_err_with(|| format!("binding {transport:?} on {addr}"))?;
        let url = match transport {
            Transport::Http => format!("http://{bound}"),
            Transport::Ws => format!("ws://{bound}"),
        };
        tracing::info!(target: "rpc", %url, ?apis, ?transport, "JSON-RPC server started");
        handles.push(handle);
    }
    let ipc = match &config.ipc {
        Some(path) => {
            let module = rpc::modules_for(context, &Api::ALL, true)?;
            let handle = rpc::ipc::start(path, module, config.limits)
                .wrap_err_with(|| format!("opening IPC socket {}", path.display()))?;
            tracing::info!(target: "rpc", path = %path.display(), "IPC endpoint opened");
            Some(handle)
        }
        None => None,
    };
    Ok(RpcServers { handles, ipc })
}

/// The passwords of a password file, one per line.
fn read_passwords(path: &std::path::Path) -> eyre::Result<Vec<zeroize::Zeroizing<String>>> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path).wrap_err_with(|| format!("reading {}", path.display()))?,
    );
    Ok(text
        .lines()
        .map(|line| zeroize::Zeroizing::new(line.trim_end_matches('\r').to_string()))
        .collect())
}

/// An account of `--unlock`: its address, or as geth allows, its index in the keystore's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnlockTarget {
    /// The account with this address.
    Address(Address),
    /// The keystore's `n`th account (file-name order, as `eth_accounts`).
    Index(usize),
}

impl std::str::FromStr for UnlockTarget {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Ok(index) = text.parse::<usize>() {
            return Ok(Self::Index(index));
        }
        text.parse()
            .map(Self::Address)
            .map_err(|e| format!("{text:?} is neither an address nor a keystore index ({e})"))
    }
}

fn unlock_at_start(config: &NodeConfig, accounts: &Accounts) -> eyre::Result<()> {
    if config.unlock.is_empty() {
        return Ok(());
    }
    if config.rpc.http.is_some() && !config.rpc.allow_insecure_unlock {
        eyre::bail!(
            "account unlock with HTTP access is forbidden; add --allow-insecure-unlock to allow it"
        );
    }
    let Some(file) = &config.password_file else {
        eyre::bail!("--unlock needs --password FILE (one password per line)");
    };
    let passwords = read_passwords(file)?;
    let keystore = accounts.addresses();
    for (i, target) in config.unlock.iter().enumerate() {
        let address = match *target {
            UnlockTarget::Address(address) => address,
            UnlockTarget::Index(index) => *keystore.get(index).ok_or_else(|| {
                eyre::eyre!(
                    "--unlock {index}: the keystore {} has {} account(s)",
                    accounts.dir().display(),
                    keystore.len()
                )
            })?,
        };
        let Some(password) = passwords.get(i).or(passwords.last()) else {
            eyre::bail!("the password file {} is empty", file.display());
        };
        accounts
            .unlock(address, password, None)
            .wrap_err_with(|| format!("unlocking {address}"))?;
        tracing::info!(target: "accounts", %address, "account unlocked");
    }
    Ok(())
}

/// Opens the database of a data directory.
pub fn open_store(datadir: &std::path::Path) -> eyre::Result<Arc<dyn KvStore>> {
    let path = datadir.join("chaindata");
    std::fs::create_dir_all(&path).wrap_err_with(|| format!("creating {}", path.display()))?;
    Ok(Arc::new(RocksKv::open(&path)?))
}

fn check_supported_chain(chain: &Chain) -> eyre::Result<()> {
    let spec = chain.spec();
    if spec.chain_id() == 1 {
        eyre::bail!(
            "chain id 1 is not supported: its EIP-155 V values (37/38) are the private-transaction \
             marker; choose another chain id in genesis.json (GoQuorum refuses chain id 1 too)"
        );
    }
    let (_, head) = chain.head();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(head.timestamp, |d| d.as_secs());
    let fork = spec.hardfork_at(head.number + 1, now.max(head.timestamp));
    if fork < Hardfork::Byzantium {
        eyre::bail!(
            "this node mints and imports blocks under Byzantium through Osaka rules; the genesis \
             config schedules {fork:?}"
        );
    }
    Ok(())
}

/// The genesis' privacy enhancements and the TM's `features.enablePrivacyEnhancements` must
/// agree: a TM that takes enhanced payloads behind a chain that refuses them (or the other way
/// round) would halt or fork the node's private state at the first such transaction.
async fn check_privacy_enhancements(
    spec: &veil_config::ChainSpec,
    ptm: Option<&crate::ptm::Ptm>,
) -> eyre::Result<()> {
    let Some(ptm) = ptm else { return Ok(()) };
    let chain = spec.quorum().privacy_enhancements_configured();
    let tm = ptm.describe();
    match ptm.features().await.map_err(|e| eyre::eyre!("transaction manager at {tm}: {e}"))? {
        Some(features) if features.enable_privacy_enhancements == chain => {
            tracing::info!(target: "ptm", enabled = chain, "privacy enhancements: the genesis and the transaction manager agree");
            Ok(())
        }
        Some(_) if chain => eyre::bail!(
            "the genesis turns privacy enhancements on (privacyEnhancementsBlock or a transition's \
             privacyEnhancementsEnabled) but the transaction manager at {tm} has them off: set \
             \"features\": {{\"enablePrivacyEnhancements\": true}} in its configuration"
        ),
        Some(_) => eyre::bail!(
            "the transaction manager at {tm} has features.enablePrivacyEnhancements on but the \
             genesis never turns privacy enhancements on: add privacyEnhancementsBlock to the \
             genesis config (and re-run init), or turn the feature off in the TM"
        ),
        None => {
            tracing::warn!(target: "ptm", tm = %tm, genesis = chain, "the transaction manager does not report its features (no /features); its features.enablePrivacyEnhancements must match the genesis");
            Ok(())
        }
    }
}

/// Runs a node until SIGINT or SIGTERM, then shuts down cleanly.
pub async fn run(config: NodeConfig) -> eyre::Result<()> {
    if config.metrics.is_some() {
        // Recording starts before anything happens (peers connect long before RPC is up).
        veil_metrics::Exporter::global().map_err(|e| eyre::eyre!(e))?;
    }
    let kv = open_store(&config.datadir)?;
    if config.dev {
        let hash = Chain::init(&kv, &dev::dev_chain_spec())?;
        tracing::info!(target: "node", genesis = %hash, "dev chain ready");
        for (i, address) in dev::dev_addresses().into_iter().enumerate() {
            // These keys are derived from public strings: printing them leaks nothing.
            let key = alloy_primitives::hex::encode(dev::dev_key(i).secret_bytes());
            tracing::info!(target: "node", index = i, %address, key = %format!("0x{key}"), "dev account (well-known key, insecure)");
        }
    }
    let ptm = match config.ptm.clone() {
        Some(ptm) => Some(Arc::new(crate::ptm::Ptm::connect(ptm).await?)),
        None => None,
    };
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let engine = crate::chain_engine::assemble(
        kv.clone(),
        ptm.clone(),
        config.beneficiary,
        shutdown_rx.clone(),
    )?;
    let (chain, pool, chain_handle) = (engine.chain, engine.pool, engine.handle);
    check_supported_chain(&chain)?;
    check_privacy_enhancements(chain.spec(), ptm.as_deref()).await?;
    let (head_hash, head) = chain.head();
    tracing::info!(target: "node", number = head.number, hash = %head_hash, chain_id = chain.spec().chain_id(), "chain opened");

    let mut supervisor = Supervisor::default();
    // Private payloads are fetched when their transactions enter the pool, not at import.
    if let Some(prefetch) = engine.prefetch {
        supervisor.spawn("payload prefetch", stops_at_shutdown(shutdown_rx.clone(), prefetch));
    }
    // The chain engine: building, import and commit run on its executor, driven by the
    // consensus engine through the handle.
    let executor = engine.executor;
    supervisor.spawn(
        "chain executor",
        runs_until_shutdown(shutdown_rx.clone(), async move {
            if let Err(why) = executor.await {
                tracing::error!(target: "chain", %why, "the chain's executor stopped");
            }
        }),
    );
    let mut bft: Option<Arc<crate::qbft::QbftRpc>> = None;
    let raft = match (chain.spec().qbft().cloned(), config.raft.clone()) {
        (Some(_), Some(_)) => {
            eyre::bail!("this chain's genesis runs QBFT: --raft does not apply")
        }
        (Some(qbft), None) => {
            let q = &config.qbft;
            let mut network = crate::network::NetworkSetup::load(
                &config.datadir,
                q.nodekey.clone(),
                q.port,
                q.permissioned,
            )?;
            for enode in &config.bootnodes {
                if !network.static_nodes.iter().any(|e| e.public == enode.public) {
                    network.static_nodes.push(enode.clone());
                }
            }
            let setup = crate::qbft::QbftSetup {
                network,
                config: qbft,
                flags: (q.block_period_seconds, q.request_timeout_ms),
            };
            let p2p = setup.network.start().await?;
            let started = crate::qbft::start_on(
                setup,
                p2p,
                chain_handle.clone(),
                kv.clone(),
                shutdown_rx.clone(),
            )?;
            supervise_engine(&mut supervisor, "qbft", started.task, started.services, &shutdown_rx);
            bft = Some(Arc::new(started.rpc));
            None
        }
        (None, Some(setup)) => {
            if !config.bootnodes.is_empty() {
                tracing::warn!(target: "node", "--bootnodes is ignored under raft: its members are static-nodes.json's");
            }
            let p2p = setup.network.start().await?;
            let started = crate::raft::start_on(
                setup,
                p2p,
                chain_handle.clone(),
                kv.clone(),
                shutdown_rx.clone(),
            )?;
            supervise_engine(&mut supervisor, "raft", started.task, started.services, &shutdown_rx);
            Some(started.handle)
        }
        (None, None) => {
            let trigger =
                run_mint_trigger(chain_handle.clone(), config.block_time, shutdown_rx.clone());
            supervisor.spawn("mint trigger", stops_at_shutdown(shutdown_rx.clone(), trigger));
            None
        }
    };

    let keystore = config.keystore.clone().unwrap_or_else(|| config.datadir.join("keystore"));
    let accounts = Arc::new(Accounts::open(keystore)?);
    if config.dev {
        let address = dev::dev_addresses()[0];
        if !accounts.addresses().contains(&address) {
            let secret = alloy_primitives::B256::from(dev::dev_key(0).secret_bytes());
            accounts.import(&secret, "")?;
        }
        accounts.unlock(address, "", None)?;
        tracing::info!(target: "accounts", %address, "dev account 0 unlocked (empty password)");
    }
    unlock_at_start(&config, &accounts)?;

    let filters = FilterStore::new(config.rpc.limits.max_filters as usize);
    let sweeper = filters.clone().run(pool.subscribe());
    supervisor.spawn("filter sweeper", runs_until_shutdown(shutdown_rx.clone(), sweeper));
    let mut context = RpcContext::new(
        chain.clone(),
        pool.clone(),
        accounts,
        filters,
        config.datadir.clone(),
        chain_handle.halted(),
    );
    context.etherbase = config.beneficiary;
    context.unlock_allowed = config.rpc.http.is_none() || config.rpc.allow_insecure_unlock;
    context.gas_cap = config.rpc.gas_cap;
    context.revert_reason = config.rpc.revert_reason;
    context.ptm = ptm;
    context.identity = config.identity.clone();
    if let Some(raft) = raft {
        let raft = Arc::new(raft);
        context.peers = Some(raft.clone());
        context.raft = Some(raft);
    }
    if let Some(bft) = bft {
        context.peers = Some(bft.clone());
        context.bft = Some(bft);
    }
    let context = Arc::new(context);
    if let Some(addr) = config.metrics {
        let endpoint =
            crate::metrics::start(addr, chain.clone(), pool.clone(), config.datadir.clone())
                .await?;
        supervisor.spawn("metrics endpoint", runs_until_shutdown(shutdown_rx.clone(), endpoint));
    }
    let servers = start_rpc(&config.rpc, &context).await?;

    let stopped = tokio::select! {
        signal = wait_for_signal() => {
            signal?;
            None
        }
        (name, why) = supervisor.first_stop() => Some((name, why)),
    };
    match &stopped {
        None => tracing::info!(target: "node", "shutting down"),
        Some((name, why)) => {
            tracing::error!(target: "node", task = %name, %why, "a task of the node stopped; shutting down")
        }
    }
    let _ = shutdown_tx.send(true);
    servers.stop().await;
    let drained = supervisor.drain().await;
    kv.flush()?;
    tracing::info!(target: "node", head = chain.head().1.number, "shutdown complete");
    if let Some((name, why)) = stopped {
        eyre::bail!("the node's {name} task stopped: {why}");
    }
    drained.map_err(|e| eyre::eyre!(e))
}

/// A task that returns only at shutdown: its return is fine then.
async fn stops_at_shutdown(
    shutdown: tokio::sync::watch::Receiver<bool>,
    task: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    task.await;
    if *shutdown.borrow() {
        Ok(())
    } else {
        Err("it returned before shutdown".into())
    }
}

/// A task that never returns by itself: stopped at shutdown.
async fn runs_until_shutdown(
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    task: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    tokio::select! {
        _ = task => Err("it returned before shutdown".into()),
        _ = shutdown.wait_for(|stop| *stop) => Ok(()),
    }
}

async fn wait_for_signal() -> eyre::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    Ok(())
}

/// Supervises a consensus engine's task and the services beside it.
fn supervise_engine(
    supervisor: &mut Supervisor,
    name: &'static str,
    task: tokio::task::JoinHandle<eyre::Result<()>>,
    services: Vec<(&'static str, crate::raft::Service)>,
    shutdown: &tokio::sync::watch::Receiver<bool>,
) {
    supervisor.spawn(name, async move {
        task.await.map_err(|e| e.to_string())?.map_err(|e| format!("{e:#}"))
    });
    for (name, service) in services {
        supervisor.spawn(name, stops_at_shutdown(shutdown.clone(), service));
    }
}
