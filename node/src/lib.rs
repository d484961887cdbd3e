//! The Veil node: assembles storage, execution, the transaction pool and the minter behind a
//! CLI and JSON-RPC.
//!
//! Tasks: the mint trigger ([`mint_trigger`]) wakes when the pool gets transactions and runs
//! [`Minter::mint`] on a blocking thread at most once per block time; the HTTP server serves
//! [`rpc`]; the main task waits for SIGINT/SIGTERM and then stops both and flushes the store.
//! Every block, minted here or (later) received from peers, goes through [`Chain::import`] /
//! [`Chain::import_recovered`]: execute on the head, check every root, commit in one batch.
//!
//! ```no_run
//! # async fn demo() -> eyre::Result<()> {
//! veil_node::run(veil_node::NodeConfig {
//!     datadir: "/tmp/veil-dev".into(),
//!     dev: true,
//!     block_time: std::time::Duration::from_millis(50),
//!     http: Some("127.0.0.1:8545".parse()?),
//!     beneficiary: Default::default(),
//! }).await
//! # }
//! ```

mod chain;
pub mod dev;
mod mint_trigger;
mod minter;
mod node;
pub mod pool;
pub mod rpc;
pub mod statetest_cli;

pub use chain::{BuiltBlock, Chain, ChainOpenError, ImportError, ImportedBlock};
pub use mint_trigger::run_mint_trigger;
pub use minter::Minter;
pub use node::{open_store, run, NodeConfig};
pub use pool::{PoolConfig, PoolError, PoolStatus, TxPool};
