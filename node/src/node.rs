//! Assembling and running a node: store, chain, pool, minter, RPC, and graceful shutdown.

use crate::{
    chain::Chain, dev, mint_trigger::run_mint_trigger, pool::Journal, rpc, Minter, PoolConfig,
    TxPool,
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
    /// Serve JSON-RPC over HTTP here.
    pub http: Option<SocketAddr>,
    /// Fee recipient of minted blocks.
    pub beneficiary: Address,
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
    let config = &spec.genesis().config;
    let later =
        config.cancun_time.is_some() || config.prague_time.is_some() || config.osaka_time.is_some();
    if fork < Hardfork::Byzantium || later {
        eyre::bail!(
            "this node mints and imports blocks under Byzantium through Shanghai rules; the genesis \
             config schedules {fork:?}{}",
            if later { " and Cancun or later" } else { "" }
        );
    }
    Ok(())
}

/// Runs a node until SIGINT or SIGTERM, then shuts down cleanly.
pub async fn run(config: NodeConfig) -> eyre::Result<()> {
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
    let chain = Arc::new(Chain::open(kv.clone())?);
    check_supported_chain(&chain)?;
    let (head_hash, head) = chain.head();
    tracing::info!(target: "node", number = head.number, hash = %head_hash, chain_id = chain.spec().chain_id(), "chain opened");

    let pool = Arc::new(TxPool::new(
        PoolConfig::default(),
        chain.spec().clone(),
        Some(Journal::new(kv.clone())),
    ));
    let restored = pool.restore(&chain.latest_state(), &head)?;
    tracing::info!(target: "txpool", restored, "transaction pool loaded from journal");

    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let minter = Minter::new(chain.clone(), pool.clone(), config.beneficiary);
    let mint_task =
        tokio::spawn(run_mint_trigger(minter, pool.clone(), config.block_time, shutdown_rx));

    let server = match config.http {
        Some(addr) => {
            let context = Arc::new(rpc::RpcContext { chain: chain.clone(), pool: pool.clone() });
            let (bound, handle) = rpc::start_http(addr, context)
                .await
                .wrap_err_with(|| format!("binding HTTP on {addr}"))?;
            tracing::info!(target: "rpc", url = %format!("http://{bound}"), "HTTP server started");
            Some(handle)
        }
        None => None,
    };

    wait_for_signal().await?;
    tracing::info!(target: "node", "shutting down");
    let _ = shutdown_tx.send(true);
    if let Some(handle) = server {
        let _ = handle.stop();
        handle.stopped().await;
    }
    mint_task.await.wrap_err("mint task")?;
    kv.flush()?;
    tracing::info!(target: "node", head = chain.head().1.number, "shutdown complete");
    Ok(())
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
