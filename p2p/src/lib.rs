//! Veil's peer-to-peer layer on libp2p.
//!
//! - [`NodeKey`]: geth's `nodekey` file, which is also the node's libp2p identity, so an
//!   [`Enode`] URL from GoQuorum's `static-nodes.json` or `permissioned-nodes.json` names one
//!   libp2p peer and address.
//! - [`start`]: the libp2p service (TCP + Noise + Yamux; gossipsub for transactions,
//!   request-response for consensus messages (raft or QBFT) and block sync, identify, ping, connection limits,
//!   static peers redialled with backoff, permissioning in both directions). The node talks to
//!   it through a cloneable [`P2pHandle`] and a stream of [`P2pEvent`]s.
//! - `memory` (feature `test-utils`): the same handle and events over an in-memory network
//!   whose links a test cuts, drops, delays and recovers, for many nodes in one process.
//!
//! ```
//! use veil_p2p::{Enode, NodeKey};
//! // 7nodes' node 1 (quorum-examples raft/nodekey1 and its static-nodes.json entry).
//! let key = NodeKey::from_hex("1be3b50b31734be48452c29d714941ba165ef0cbf3ccea8ca16c45e3d8d45fb0").unwrap();
//! let enode: Enode = "enode://ac6b1096ca56b9f6d004b779ae3728bf83f8e22453404cc3cef16a3d9b96608bc67c4b30db88e0a5a6c6390213f7acbe1153ff6d23ce57380104288ae19373ef@127.0.0.1:21000?discport=0&raftport=50401".parse().unwrap();
//! assert_eq!(key.public(), enode.public);
//! assert_eq!(enode.peer_id().unwrap(), key.peer_id());
//! ```

mod enode;
mod identity;
#[cfg(feature = "test-utils")]
pub mod memory;
mod network;

pub use enode::{read_node_list, Enode};
pub use identity::{peer_id_of, NodeKey, NodeKeyError};
pub use libp2p::{gossipsub::MessageId, Multiaddr, PeerId};
pub use network::{
    start, P2pConfig, P2pEvent, P2pHandle, PeerInfo, SyncRequest, SyncResponse, Verdict,
    COMMAND_QUEUE, EVENT_QUEUE,
};
