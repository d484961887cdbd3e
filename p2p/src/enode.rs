//! GoQuorum's enode URLs (`enode://<128 hex>@host:port?discport=0&raftport=N`) and the
//! `static-nodes.json` / `permissioned-nodes.json` files that list them.

use crate::identity::peer_id_of;
use libp2p::{Multiaddr, PeerId};
use std::{net::IpAddr, path::Path};

/// A node's address as an enode URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enode {
    /// The 64-byte secp256k1 public key.
    pub public: [u8; 64],
    /// Host (IP or name).
    pub host: String,
    /// The p2p TCP port.
    pub port: u16,
    /// GoQuorum's raft port, when given.
    pub raft_port: Option<u16>,
}

impl std::str::FromStr for Enode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| format!("{text:?}: {why}");
        let rest = text
            .trim()
            .strip_prefix("enode://")
            .ok_or_else(|| bad("does not start with enode://"))?;
        let (key, rest) = rest.split_once('@').ok_or_else(|| bad("no @host:port"))?;
        let bytes =
            alloy_primitives::hex::decode(key).map_err(|_| bad("the node id is not hex"))?;
        let public: [u8; 64] = bytes.try_into().map_err(|_| bad("the node id is not 64 bytes"))?;
        let (address, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (host, port) = address.rsplit_once(':').ok_or_else(|| bad("no port"))?;
        let port = port.parse().map_err(|_| bad("bad port"))?;
        let mut raft_port = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            if let Some(value) = pair.strip_prefix("raftport=") {
                raft_port = Some(value.parse().map_err(|_| bad("bad raftport"))?);
            }
        }
        Ok(Self { public, host: host.trim_matches(['[', ']']).to_string(), port, raft_port })
    }
}

impl std::fmt::Display for Enode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host =
            if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        write!(
            f,
            "enode://{}@{host}:{}?discport=0",
            alloy_primitives::hex::encode(self.public),
            self.port
        )?;
        if let Some(raft) = self.raft_port {
            write!(f, "&raftport={raft}")?;
        }
        Ok(())
    }
}

impl Enode {
    /// The account address of its key (a QBFT validator's address).
    pub fn address(&self) -> alloy_primitives::Address {
        alloy_primitives::Address::from_slice(&alloy_primitives::keccak256(self.public)[12..])
    }

    /// geth's node id: keccak256 of the public key, hex (as `admin_nodeInfo.id`).
    pub fn id(&self) -> String {
        alloy_primitives::hex::encode(alloy_primitives::keccak256(self.public))
    }

    /// The libp2p peer this enode names.
    pub fn peer_id(&self) -> Result<PeerId, String> {
        peer_id_of(&self.public)
    }

    /// The libp2p address of its p2p port.
    pub fn multiaddr(&self) -> Multiaddr {
        let proto = match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => format!("/ip4/{ip}"),
            Ok(IpAddr::V6(ip)) => format!("/ip6/{ip}"),
            Err(_) => format!("/dns/{}", self.host),
        };
        format!("{proto}/tcp/{}", self.port).parse().expect("a well-formed multiaddr")
    }
}

/// Reads a JSON array of enode URLs (`static-nodes.json`, `permissioned-nodes.json`); a
/// missing file is an empty list.
pub fn read_node_list(path: &Path) -> Result<Vec<Enode>, String> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let urls: Vec<String> =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    urls.iter().map(|u| u.parse().map_err(|e| format!("{}: {e}", path.display()))).collect()
}
