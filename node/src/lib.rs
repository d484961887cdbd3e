//! The Veil node: assembles the chain engine ([`veil_chain`]: chain, pool, block builder,
//! private payloads), a consensus engine (the dev minter or [`raft`]) and JSON-RPC behind a CLI.
//!
//! Tasks: the mint trigger ([`mint_trigger`]) wakes when the pool gets transactions and runs
//! [`Minter::mint`] on a blocking thread at most once per block time; the HTTP, WebSocket and
//! IPC servers serve [`rpc`] (accounts from [`accounts`]); the main task waits for
//! SIGINT/SIGTERM, then stops the minter and the servers and flushes the store.
//! Every block received from peers goes through [`Chain::import`] /
//! [`Chain::import_recovered`]: execute on the head, check every root, commit in one batch; a
//! block minted here is committed as built ([`Chain::commit_built`]). With a transaction
//! manager ([`ptm`]) blocks also run GoQuorum's private transactions on the private state.
//!
//! ```no_run
//! # async fn demo() -> eyre::Result<()> {
//! veil_node::run(veil_node::NodeConfig {
//!     datadir: "/tmp/veil-dev".into(),
//!     dev: true,
//!     block_time: std::time::Duration::from_millis(50),
//!     rpc: veil_node::RpcConfig {
//!         http: Some(veil_node::HttpConfig {
//!             addr: "127.0.0.1:8545".parse()?,
//!             apis: veil_node::rpc::Api::DEFAULT_REMOTE.to_vec(),
//!             cors_domains: vec![],
//!             vhosts: vec!["localhost".into()],
//!         }),
//!         ipc: Some("/tmp/veil-dev/veil.ipc".into()),
//!         ..Default::default()
//!     },
//!     beneficiary: Default::default(),
//!     keystore: None,
//!     unlock: vec![],
//!     password_file: None,
//!     raft: None,
//!     qbft: Default::default(),
//!     ptm: None,
//!     metrics: None,
//!     identity: Default::default(),
//!     bootnodes: vec![],
//! }).await
//! # }
//! ```

pub mod blocktest_cli;
mod chain_engine;
mod fixture_run;
pub mod geth_log;
pub mod metrics;
mod mint_trigger;
pub mod network;
mod node;
pub mod qbft;
pub mod raft;
pub mod statetest_cli;
mod supervisor;
pub mod sync;
pub mod tx_gossip;

pub use chain_engine::{assemble, ChainEngine};
pub use mint_trigger::run_mint_trigger;
pub use node::{
    open_store, run, HttpConfig, NodeConfig, QbftArgs, RpcConfig, UnlockTarget, WsConfig,
};
/// The dev chain's spec and keys, re-exported.
pub use veil_chain::dev;
/// The chain engine, re-exported: the node assembles it.
pub use veil_chain::{
    pool, ptm, BlockBuilder, BuiltBlock, Chain, ChainError, ChainHandle, ChainOpenError,
    HeaderTemplate, ImportError, ImportedBlock, MintError, Minter, NewBlock, PoolConfig,
    PoolContent, PoolError, PoolStatus, PrivatePayloads, TxPool,
};
/// JSON-RPC, re-exported: the node serves it.
pub use veil_rpc::{self as rpc, accounts};
