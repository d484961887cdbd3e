//! The p2p settings a networked consensus engine (Raft, QBFT) starts with, read from the data
//! directory as GoQuorum reads them: the node key, `static-nodes.json` and, with
//! `--permissioned`, `permissioned-nodes.json`.

use eyre::{eyre, WrapErr};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;
use veil_p2p::{Enode, NodeKey, P2pConfig, P2pEvent, P2pHandle};

/// A node's place in the p2p network.
#[derive(Clone, Debug)]
pub struct NetworkSetup {
    /// The node key: the p2p identity (and a QBFT validator's signing key).
    pub key: NodeKey,
    /// The TCP port to listen on.
    pub port: u16,
    /// The peers to dial and keep dialling (`static-nodes.json`).
    pub static_nodes: Vec<Enode>,
    /// With `--permissioned`, the only nodes allowed, both ways.
    pub permissioned: Option<Vec<Enode>>,
}

impl NetworkSetup {
    /// Reads the node key (`nodekey`, default [`default_nodekey`], created when missing) and
    /// the node lists of `datadir`.
    pub fn load(
        datadir: &Path,
        nodekey: Option<PathBuf>,
        port: u16,
        permissioned: bool,
    ) -> eyre::Result<Self> {
        let key = NodeKey::load_or_create(&nodekey.unwrap_or_else(|| default_nodekey(datadir)))?;
        let static_nodes =
            veil_p2p::read_node_list(&datadir.join("static-nodes.json")).map_err(|e| eyre!(e))?;
        let permissioned = if permissioned {
            Some(
                veil_p2p::read_node_list(&datadir.join("permissioned-nodes.json"))
                    .map_err(|e| eyre!(e))?,
            )
        } else {
            None
        };
        Ok(Self { key, port, static_nodes, permissioned })
    }

    /// Starts the libp2p service with these settings.
    pub async fn start(&self) -> eyre::Result<(P2pHandle, mpsc::Receiver<P2pEvent>)> {
        let config = P2pConfig {
            listen: format!("/ip4/0.0.0.0/tcp/{}", self.port).parse().wrap_err("listen address")?,
            static_peers: self.static_nodes.clone(),
            permissioned: self.permissioned.clone(),
            max_peers: 50,
        };
        let (p2p, events, _) =
            veil_p2p::start(&self.key, config).await.map_err(|e| eyre!("p2p: {e}"))?;
        Ok((p2p, events))
    }
}

/// Where a data directory keeps its node key: `<datadir>/nodekey`, or geth's
/// `<datadir>/geth/nodekey` when only that exists (a data directory laid out for GoQuorum, as
/// quorum-dev-quickstart's entrypoint and the Kubernetes charts write it).
pub fn default_nodekey(datadir: &Path) -> PathBuf {
    let ours = datadir.join("nodekey");
    let geths = datadir.join("geth").join("nodekey");
    if !ours.exists() && geths.exists() {
        geths
    } else {
        ours
    }
}
