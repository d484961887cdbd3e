//! The `instant` engine, for a single node: a block as soon as transactions are pending, at
//! most once per block time, never an empty one. Building and committing are requests to the
//! chain handle (the one builder a Raft leader uses too).

use crate::{ChainError, ChainHandle};
use std::time::Duration;
use tokio::sync::watch;

/// Runs until `shutdown` turns true. A failed block is logged and the loop goes on with the
/// next; a stopped chain executor ends it.
pub async fn run_mint_trigger(
    chain: ChainHandle,
    block_time: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut last_mint = tokio::time::Instant::now() - block_time;
    loop {
        if chain.pool().status().pending == 0 {
            tokio::select! {
                _ = chain.pool().wait_for_transactions() => {}
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
        match mint(&chain).await {
            Ok(()) => {}
            Err(ChainError::Stopped) => return,
            Err(e) => tracing::error!(target: "miner", error = %e, "minting failed"),
        }
    }
}

/// Builds a block from the pool and commits it at once.
async fn mint(chain: &ChainHandle) -> Result<(), ChainError> {
    let Some(built) = chain.build().await? else { return Ok(()) };
    veil_chain::log_minted(&chain.commit(built).await?);
    Ok(())
}
