//! Veil's chain engine: the chain store, import and commit ([`Chain`]), the transaction pool
//! ([`TxPool`]), the one block builder ([`BlockBuilder`]) and the link to the private
//! transaction manager ([`ptm`]). A consensus engine decides who builds, when, and which block
//! is final; everything else about blocks is here (`docs/design/chain-engine.md`).
//!
//! - [`ChainHandle`] is how consensus engines, sync and the node drive it: build, import and
//!   commit requests run in order on an executor off their tasks.
//! - [`Chain::import`] executes a block on the head, checks every root and commits it in one
//!   write batch; [`Chain::build_block`] / [`Chain::commit_built`] build on the head and commit
//!   without a second execution.
//! - Chains whose genesis names `ethash` also get Ethereum's own header rules and reward
//!   (`ethereum_rules`), for ethereum/tests' blockchain fixtures.

mod builder;
mod chain;
pub mod contract_privacy;
pub mod dev;
mod ethereum_rules;
mod handle;
pub mod metrics;
mod minter;
pub mod payload_cache;
pub mod pool;
pub mod ptm;

pub use builder::{BlockBuilder, MintError, MAX_BLOCK_TXS};
pub use chain::{
    merged_receipt, BuiltBlock, Chain, ChainOpenError, HeaderTemplate, ImportError, ImportedBlock,
    NewBlock, PrivatePayloads,
};
pub use handle::{ChainError, ChainHandle, REQUEST_QUEUE};
pub use minter::{log_minted, Minter};
pub use pool::{PoolConfig, PoolContent, PoolError, PoolStatus, TxPool};

/// Fewest signatures worth recovering on rayon's pool rather than on the calling thread.
/// Handing rayon a job wakes its workers, which spin for a while before they sleep again: a
/// profile of a follower at 50 transactions/s found ~10 % of its CPU in that spin, for gossip
/// messages and blocks carrying a handful of transactions (or senders already known). Below
/// this, the ~45 µs per signature costs less than the wake-up; above it, the cores share the
/// work.
pub const PARALLEL_RECOVERY_MIN: usize = 32;
