//! The node's metrics endpoint (`--metrics`, `--metrics.addr`, `--metrics.port`):
//! `GET /debug/metrics/prometheus` in Prometheus' text format, with geth's names where geth has
//! the metric (so GoQuorum's dashboards read it) and `veil_*` ones for the rest. Counters and
//! timers are recorded where things happen (chain, pool, p2p, RPC, consensus, TM client);
//! levels — the head, the pool, the database's size — are read at each scrape.

use std::{net::SocketAddr, path::PathBuf, sync::Arc};
use veil_chain::{Chain, TxPool};

/// geth's path for the Prometheus exposition.
pub const PATH: &str = "/debug/metrics/prometheus";

/// Binds `addr` and returns the endpoint's task.
pub async fn start(
    addr: SocketAddr,
    chain: Arc<Chain>,
    pool: Arc<TxPool>,
    datadir: PathBuf,
) -> eyre::Result<impl std::future::Future<Output = ()>> {
    let exporter = veil_metrics::Exporter::global().map_err(|e| eyre::eyre!(e))?;
    let listener = veil_metrics::bind(addr).await.map_err(|e| eyre::eyre!(e))?;
    tracing::info!(target: "metrics", url = %format!("http://{}{PATH}", listener.local_addr()?), "metrics endpoint started");
    let chaindata = datadir.join("chaindata");
    let sample = Arc::new(move || {
        metrics::gauge!("chain_head_block").set(chain.head().1.number as f64);
        let status = pool.status();
        metrics::gauge!("txpool_pending").set(status.pending as f64);
        metrics::gauge!("txpool_queued").set(status.queued as f64);
        metrics::gauge!("eth_db_chaindata_disk_size").set(dir_size(&chaindata) as f64);
    });
    Ok(async move {
        if let Err(e) = veil_metrics::serve(listener, PATH, exporter, sample).await {
            tracing::error!(target: "metrics", error = %e, "metrics endpoint stopped");
        }
    })
}

/// Bytes of the files in `dir` (RocksDB keeps its files in one directory).
fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}
