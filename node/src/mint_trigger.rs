//! When to mint on a single node: as soon as transactions are pending, at most once per block
//! time, never an empty block.

use crate::Minter;
use std::{sync::Arc, time::Duration};
use tokio::sync::watch;

/// Runs until `shutdown` turns true. Minting runs on a blocking thread; a failure is logged and
/// the loop goes on with the next block.
pub async fn run_mint_trigger(
    minter: Minter,
    pool: Arc<crate::TxPool>,
    block_time: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut last_mint = tokio::time::Instant::now() - block_time;
    loop {
        if pool.status().pending == 0 {
            tokio::select! {
                _ = pool.wait_for_transactions() => {}
                _ = shutdown.changed() => return,
            }
        }
        let next = last_mint + block_time;
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        last_mint = tokio::time::Instant::now();
        let minter = minter.clone();
        match tokio::task::spawn_blocking(move || minter.mint()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(target: "miner", error = %e, "minting failed"),
            Err(e) => tracing::error!(target: "miner", error = %e, "minting task panicked"),
        }
    }
}
