//! The one writer of a Tessera-shaped `tm.json` for a TM on this machine: `veil-sim init` and
//! the end-to-end tests write theirs here, and tweak the JSON for what they test.

use serde_json::{json, Value};
use std::path::PathBuf;

/// A TM with one key pair, its Q2T API on a unix socket, P2P and ThirdParty on HTTP URLs.
#[derive(Clone, Debug)]
pub struct LocalTm {
    /// The Q2T unix socket.
    pub socket: PathBuf,
    /// Where peers reach its P2P API.
    pub p2p_url: String,
    /// Where its P2P API listens, when not at `p2p_url` (behind a relay or a proxy).
    pub p2p_binding: Option<String>,
    /// Its ThirdParty API.
    pub third_party_url: String,
    /// The key pair's files, without extension (`.key` and `.pub`, as `veil-tm keygen`
    /// writes them).
    pub key_base: PathBuf,
    /// The payload store's directory.
    pub storage: PathBuf,
    /// Peers' P2P URLs.
    pub peers: Vec<String>,
    /// How often it asks peers for their party info, in milliseconds (Tessera's default when
    /// absent).
    pub party_info_interval_ms: Option<u64>,
}

impl LocalTm {
    /// The configuration, as Tessera's `tessera-config.json` shapes it.
    pub fn to_json(&self) -> Value {
        let mut p2p = json!({ "app": "P2P", "serverAddress": self.p2p_url });
        if let Some(binding) = &self.p2p_binding {
            p2p["bindingAddress"] = binding.clone().into();
        }
        if let Some(ms) = self.party_info_interval_ms {
            p2p["properties"] = json!({ "partyInfoInterval": ms.to_string() });
        }
        json!({
            "serverConfigs": [
                { "app": "Q2T", "serverAddress": format!("unix:{}", self.socket.display()) },
                p2p,
                { "app": "ThirdParty", "serverAddress": self.third_party_url }
            ],
            "peer": self.peers.iter().map(|url| json!({ "url": url })).collect::<Vec<_>>(),
            "keys": { "keyData": [{
                "privateKeyPath": self.key_base.with_extension("key"),
                "publicKeyPath": self.key_base.with_extension("pub")
            }] },
            "storage": { "path": self.storage }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_configuration_reads_back_as_the_tm_reads_it() {
        let tm = LocalTm {
            socket: "/run/tm.ipc".into(),
            p2p_url: "http://10.0.0.1:9001".into(),
            p2p_binding: Some("http://0.0.0.0:9001".into()),
            third_party_url: "http://10.0.0.1:9081".into(),
            key_base: "/keys/tm".into(),
            storage: "/data/tm".into(),
            peers: vec!["http://10.0.0.2:9001".into()],
            party_info_interval_ms: Some(100),
        };
        let read: crate::TmConfig = serde_json::from_value(tm.to_json()).unwrap();
        assert_eq!(read.server_configs.len(), 3);
        assert_eq!(read.server_configs[0].server_address, "unix:/run/tm.ipc");
        assert_eq!(read.server_configs[1].binding_address.as_deref(), Some("http://0.0.0.0:9001"));
        assert_eq!(read.server_configs[1].properties["partyInfoInterval"], "100");
        assert_eq!(read.peer[0].url, "http://10.0.0.2:9001");
        let keys = read.keys.unwrap();
        assert_eq!(keys.key_data[0].private_key_path, PathBuf::from("/keys/tm.key"));
        assert_eq!(keys.key_data[0].public_key_path, PathBuf::from("/keys/tm.pub"));
        assert_eq!(read.storage.path, PathBuf::from("/data/tm"));
    }
}
