//! What the RPC layer asks of the parts the node wires around the chain: the p2p service
//! (`admin_*`, `net_peerCount`), the Raft engine (`raft_*`) and the QBFT engine
//! (`istanbul_*`, `qbft_*`). The node implements these
//! traits on its handles, so this crate knows no consensus engine and no p2p library; a node
//! without them answers geth's "no peers" and GoQuorum's "raft is not enabled".

use futures::future::BoxFuture;

/// Why a change asked through these traits did not happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The argument is malformed (an enode URL that does not parse): invalid params.
    BadArgument(String),
    /// The engine or the service refused the change, or has stopped.
    Refused(String),
}

impl From<Refusal> for jsonrpsee::types::ErrorObjectOwned {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::BadArgument(why) => crate::error::invalid_params(why),
            Refusal::Refused(why) => crate::error::server_error(why),
        }
    }
}

/// The p2p service, as `admin_*` and `net_*` see it.
pub trait Peers: Send + Sync + std::fmt::Debug {
    /// The connected peers' ids.
    fn connected(&self) -> Vec<String>;
    /// This node's enode URL and its node id (the public key in hex), once known.
    fn enode(&self) -> Option<(String, String)>;
    /// `admin_addPeer`: dial and keep dialling `enode`; refuses one that does not parse.
    fn add(&self, enode: &str) -> Result<(), Refusal>;
    /// `admin_removePeer`: disconnect `enode` and stop dialling it.
    fn remove(&self, enode: &str) -> Result<(), Refusal>;
}

/// One member of the Raft cluster, as `raft_cluster` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaftMember {
    /// Its raft id.
    pub id: u64,
    /// Its node id (the public key in hex, no `0x`).
    pub node_id: String,
    /// Its enode's host.
    pub host: String,
    /// Its p2p port.
    pub p2p_port: u16,
    /// Its raft port (Veil carries raft over p2p: the p2p port unless the enode names one).
    pub raft_port: u16,
    /// A learner (not voting).
    pub learner: bool,
    /// This node is connected to it (always true of this node itself).
    pub connected: bool,
    /// On the leader: it answered raft within the last election timeout. `None` elsewhere.
    pub recently_active: Option<bool>,
}

/// The Raft member's view, as `raft_role`, `raft_leader` and `raft_cluster` show it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RaftView {
    /// This member's raft id.
    pub id: u64,
    /// "minter", "verifier" or "learner".
    pub role: &'static str,
    /// The leader's raft id (0: none).
    pub leader: u64,
    /// The members of the cluster (voters and learners), by raft id.
    pub members: Vec<RaftMember>,
}

/// The Raft engine, as `raft_*` sees it. Membership changes answer when the cluster has
/// committed them (or refused them).
pub trait RaftApi: Send + Sync + std::fmt::Debug {
    /// The member's current view.
    fn view(&self) -> RaftView;
    /// `raft_addPeer` / `raft_addLearner`: the new member's raft id.
    fn add(&self, enode: String, learner: bool) -> BoxFuture<'static, Result<u64, Refusal>>;
    /// `raft_promoteToPeer`.
    fn promote(&self, id: u64) -> BoxFuture<'static, Result<bool, Refusal>>;
    /// `raft_removePeer`.
    fn remove(&self, id: u64) -> BoxFuture<'static, Result<(), Refusal>>;
}

/// A QBFT validator's view, for `veil-sim status` and the console.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BftView {
    /// This node's validator address (its node key's).
    pub address: alloy_primitives::Address,
    /// The height being decided, its round and the round's proposer, once it decides one.
    pub round: Option<(u64, u32, alloy_primitives::Address)>,
}

/// The QBFT engine, as `istanbul_*` and `qbft_*` see it.
pub trait BftApi: Send + Sync + std::fmt::Debug {
    /// The engine's view.
    fn view(&self) -> BftView;
    /// The validators after block `number` (those of block `number + 1`), byte-sorted.
    fn validators_after(&self, number: u64) -> Result<Vec<alloy_primitives::Address>, Refusal>;
    /// This proposer's pending votes: address → add (`true`) or remove.
    fn pending_votes(&self) -> std::collections::BTreeMap<alloy_primitives::Address, bool>;
    /// Votes to add or remove `address` in the blocks it proposes, until the vote passes.
    fn propose(&self, address: alloy_primitives::Address, add: bool);
    /// Drops a pending vote.
    fn discard(&self, address: alloy_primitives::Address);
}
