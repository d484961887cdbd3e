//! Veil's consensus engines, sans IO: Raft ordering on raft-rs (etcd's algorithm, as in
//! GoQuorum's Raft mode), and QBFT ([`qbft`]), GoQuorum's Byzantine-fault-tolerant engine.
//!
//! - [`RaftNode`]: one cluster member. The node crate ticks it, steps it with messages received
//!   over p2p, proposes blocks (the leader) and membership changes, and after each
//!   [`RaftNode::advance`] sends the returned messages and applies the committed entries in
//!   order.
//! - [`RaftStorage`]: raft-rs's `Storage`, persisted in the storage crate's `raft_log` and
//!   `raft_meta` tables (one fsynced write batch per change), compacted on request.
//!
//! ```
//! use std::sync::Arc;
//! use veil_consensus::{Committed, RaftNode};
//! use veil_storage::{InMemoryKv, KvStore};
//!
//! let kv: Arc<dyn KvStore> = Arc::new(InMemoryKv::new());
//! let mut node = RaftNode::open(kv, 1, &[1], 0).unwrap();
//! // A single member elects itself after an election timeout.
//! while !node.is_leader() {
//!     node.tick();
//!     node.advance().unwrap();
//! }
//! node.propose(b"block".to_vec()).unwrap();
//! let mut committed = vec![];
//! while let Some(progress) = node.advance().unwrap() {
//!     committed.extend(progress.committed);
//! }
//! assert!(matches!(&committed[..], [Committed::Entry { data, .. }] if data == b"block"));
//! ```

pub mod qbft;
mod raft_node;
mod storage;

pub use raft_node::{
    Committed, MembershipChange, Progress, RaftNode, ELECTION_TICKS, HEARTBEAT_TICKS,
};
pub use storage::RaftStorage;

/// Why a raft operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ConsensusError {
    /// raft-rs refused (e.g. a proposal on a follower) or failed.
    #[error("raft: {0}")]
    Raft(String),
    /// The raft tables could not be read or written.
    #[error("raft storage: {0}")]
    Storage(String),
    /// Only the leader proposes blocks; this member is not it (0: no leader known).
    #[error("not the raft leader (the leader is {0})")]
    NotLeader(u64),
    /// Stored or received bytes do not decode.
    #[error("corrupt raft data: {0}")]
    Corrupt(String),
}

impl ConsensusError {
    fn raft(e: impl std::fmt::Display) -> Self {
        ConsensusError::Raft(e.to_string())
    }

    fn storage(e: impl std::fmt::Display) -> Self {
        ConsensusError::Storage(e.to_string())
    }
}
