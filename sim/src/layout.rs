//! Where a simulated network lives and which ports it uses: GoQuorum 7nodes' plan.
//!
//! Node N (1-based) lives in `DIR/ddN/` with p2p port 21000+N-1, JSON-RPC 22000+N-1 over HTTP
//! and 23000+N-1 over WebSocket, and raft
//! port 50401+N-1 (given in the enode for 7nodes' scripts; Veil carries raft on the p2p port),
//! and Prometheus metrics on 6060+N-1 (geth's port for node 1); its TM in `DIR/cN/` with P2P
//! 9001+N-1 (which serves the TM's `/metrics` too), ThirdParty 9081+N-1 and its Q2T socket
//! `cN/tm.ipc`. `DIR/prometheus.yml` is a Prometheus configuration that scrapes them all.
//!
//! With `init --hosts` every node and its TM live on a host of their own: a Linux network
//! namespace with the address 10.200.O.(10+N) (O: the port offset, modulo 250), joined to the
//! others by a bridge whose address is 10.200.O.1 ([`crate::hosts`]). The services bind the
//! host's address; peers reach them through the link proxy on the bridge's address at the
//! same port numbers, which adds the links' delay ([`crate::hosts::proxy`]).
//! `DIR/network.json` records the size, a port offset (tests run several networks at once) and
//! the consensus (`raft` or `qbft`).

use std::path::{Path, PathBuf};

/// A network's directory and port plan.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// The network directory (`qdata`).
    pub(crate) dir: PathBuf,
    /// How many nodes (and TMs).
    pub(crate) nodes: usize,
    /// Added to every port.
    pub(crate) port_offset: u16,
    /// `raft` or `qbft`.
    pub(crate) consensus: Consensus,
    /// Each node and its TM on a host (network namespace) of their own.
    pub(crate) hosts: bool,
}

/// How the network orders blocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Consensus {
    /// Raft (`veil --raft`): a leader orders blocks; crash-fault tolerant.
    #[default]
    Raft,
    /// QBFT, chosen by the genesis: every node a validator; Byzantine-fault tolerant.
    Qbft,
}

impl Consensus {
    fn name(self) -> &'static str {
        match self {
            Consensus::Raft => "raft",
            Consensus::Qbft => "qbft",
        }
    }
}

impl Layout {
    /// Reads `DIR/network.json`, written by `init`.
    pub(crate) fn load(dir: &Path) -> eyre::Result<Self> {
        let path = dir.join("network.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            eyre::eyre!(
                "{}: {e}; run `veil-sim init --dir {}` first",
                path.display(),
                dir.display()
            )
        })?;
        let value: serde_json::Value = serde_json::from_str(&text)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            nodes: value["nodes"]
                .as_u64()
                .ok_or_else(|| eyre::eyre!("{}: no node count", path.display()))?
                as usize,
            port_offset: value["portOffset"].as_u64().unwrap_or(0) as u16,
            consensus: match value["consensus"].as_str() {
                Some("qbft") => Consensus::Qbft,
                _ => Consensus::Raft,
            },
            hosts: value["hosts"].as_bool().unwrap_or(false),
        })
    }

    /// Writes `DIR/network.json`.
    pub(crate) fn save(&self) -> eyre::Result<()> {
        let value = serde_json::json!({
            "nodes": self.nodes,
            "portOffset": self.port_offset,
            "consensus": self.consensus.name(),
            "hosts": self.hosts,
        });
        std::fs::write(self.dir.join("network.json"), serde_json::to_vec_pretty(&value)?)?;
        Ok(())
    }

    /// Node numbers, 1-based.
    pub(crate) fn numbers(&self) -> std::ops::RangeInclusive<usize> {
        1..=self.nodes
    }

    fn port(&self, base: u16, n: usize) -> u16 {
        base + self.port_offset + (n as u16 - 1)
    }

    /// Node `n`'s data directory.
    pub(crate) fn node_dir(&self, n: usize) -> PathBuf {
        self.dir.join(format!("dd{n}"))
    }

    /// TM `n`'s directory.
    pub(crate) fn tm_dir(&self, n: usize) -> PathBuf {
        self.dir.join(format!("c{n}"))
    }

    /// Node `n`'s p2p port.
    pub(crate) fn p2p_port(&self, n: usize) -> u16 {
        self.port(21000, n)
    }

    /// Node `n`'s JSON-RPC HTTP port.
    pub(crate) fn rpc_port(&self, n: usize) -> u16 {
        self.port(22000, n)
    }

    /// Node `n`'s JSON-RPC over WebSocket (what Caliper's Ethereum connector needs).
    pub(crate) fn ws_port(&self, n: usize) -> u16 {
        self.port(23000, n)
    }

    /// Node `n`'s JSON-RPC HTTP URL.
    pub(crate) fn rpc_url(&self, n: usize) -> String {
        format!("http://{}:{}", self.host_ip(n), self.rpc_port(n))
    }

    /// The address node `n` and its TM listen on: its host's, or loopback.
    pub(crate) fn host_ip(&self, n: usize) -> String {
        if self.hosts {
            format!("{}.{}", self.subnet(), 10 + n)
        } else {
            "127.0.0.1".into()
        }
    }

    /// The address peers reach node `n` and its TM at: the link proxy's on the bridge, or
    /// loopback.
    pub(crate) fn public_ip(&self) -> String {
        if self.hosts {
            self.bridge_ip()
        } else {
            "127.0.0.1".into()
        }
    }

    /// The hosts' /24 (its first three bytes).
    pub(crate) fn subnet(&self) -> String {
        format!("10.200.{}", self.port_offset % 250)
    }

    /// The bridge's address in the root namespace (the link proxy's).
    pub(crate) fn bridge_ip(&self) -> String {
        format!("{}.1", self.subnet())
    }

    /// Node `n`'s metrics port (`/debug/metrics/prometheus`).
    pub(crate) fn metrics_port(&self, n: usize) -> u16 {
        self.port(6060, n)
    }

    /// Node `n`'s raft port, as 7nodes' enodes name it.
    pub(crate) fn raft_port(&self, n: usize) -> u16 {
        self.port(50401, n)
    }

    /// TM `n`'s P2P port.
    pub(crate) fn tm_p2p_port(&self, n: usize) -> u16 {
        self.port(9001, n)
    }

    /// TM `n`'s P2P URL, as peers reach it (through the link proxy, with hosts).
    pub(crate) fn tm_p2p_url(&self, n: usize) -> String {
        format!("http://{}:{}", self.public_ip(), self.tm_p2p_port(n))
    }

    /// Where TM `n`'s P2P server listens: its host's address.
    pub(crate) fn tm_p2p_binding(&self, n: usize) -> String {
        format!("http://{}:{}", self.host_ip(n), self.tm_p2p_port(n))
    }

    /// TM `n`'s ThirdParty URL.
    pub(crate) fn tm_third_party_url(&self, n: usize) -> String {
        format!("http://{}:{}", self.host_ip(n), self.port(9081, n))
    }

    /// TM `n`'s Q2T socket.
    pub(crate) fn tm_socket(&self, n: usize) -> PathBuf {
        self.tm_dir(n).join("tm.ipc")
    }

    /// TM `n`'s public key (base64).
    pub(crate) fn tm_key(&self, n: usize) -> eyre::Result<String> {
        let path = self.tm_dir(n).join("tm.pub");
        Ok(std::fs::read_to_string(&path)
            .map_err(|e| eyre::eyre!("{}: {e}", path.display()))?
            .trim()
            .to_string())
    }

    /// The file holding the process ids of a running network.
    pub(crate) fn pids_file(&self) -> PathBuf {
        self.dir.join("pids.json")
    }
}
