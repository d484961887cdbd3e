//! [`PartyStore`]: the peers a TM knows and which TM holds each key. A key is mapped to a URL
//! only after the TM at that URL proved it holds the key (see `discovery`).

use parking_lot::RwLock;
use std::collections::{BTreeSet, HashMap};
use veil_enclave::TmPublicKey;
use veil_tm_api::{KeyUrl, PartyInfo, PeerUrl};

/// A URL without its trailing slash, so `http://a:1/` and `http://a:1` are one peer.
pub fn normalize(url: &str) -> String {
    url.trim_end_matches('/').to_string()
}

/// Known peers and proven key→URL mappings.
#[derive(Debug)]
pub struct PartyStore {
    own_url: String,
    local_keys: Vec<TmPublicKey>,
    discovery: bool,
    peers: RwLock<BTreeSet<String>>,
    keys: RwLock<HashMap<TmPublicKey, String>>,
}

impl PartyStore {
    /// A store for the TM at `own_url` with `local_keys`, seeded with the configured peers.
    /// Without `discovery`, peers learnt from others are not added.
    pub fn new(
        own_url: &str,
        local_keys: Vec<TmPublicKey>,
        configured: impl IntoIterator<Item = String>,
        discovery: bool,
    ) -> Self {
        let own_url = normalize(own_url);
        let peers =
            configured.into_iter().map(|u| normalize(&u)).filter(|u| *u != own_url).collect();
        Self { own_url, local_keys, discovery, peers: RwLock::new(peers), keys: RwLock::default() }
    }

    /// This TM's P2P URL.
    pub fn own_url(&self) -> &str {
        &self.own_url
    }

    /// The TM holding `key`, if proven.
    pub fn url_of(&self, key: &TmPublicKey) -> Option<String> {
        self.keys.read().get(key).cloned()
    }

    /// Whether `key` is already proven to be at `url`.
    pub fn is_proven(&self, key: &TmPublicKey, url: &str) -> bool {
        self.keys.read().get(key).is_some_and(|known| known == url)
    }

    /// Records that the TM at `url` proved it holds `key`.
    pub fn accept_key(&self, key: TmPublicKey, url: &str) {
        let url = normalize(url);
        let previous = self.keys.write().insert(key, url.clone());
        if previous.as_deref() != Some(url.as_str()) {
            tracing::info!(%key, %url, "key proven");
        }
    }

    /// Adds a peer learnt from another TM (only with discovery on) or one that contacted us.
    pub fn learn_peer(&self, url: &str) {
        let url = normalize(url);
        if self.discovery && url != self.own_url {
            self.peers.write().insert(url);
        }
    }

    /// Whether a TM at `url` may tell us its keys: any, with discovery on; only the peers we
    /// know, with `disablePeerDiscovery`.
    pub fn may_announce(&self, url: &str) -> bool {
        self.discovery || self.peers.read().contains(&normalize(url))
    }

    /// The peers to exchange party info with.
    pub fn peers(&self) -> Vec<String> {
        self.peers.read().iter().cloned().collect()
    }

    /// Every key known, local ones included (`GET /partyinfo/keys`).
    pub fn all_keys(&self) -> Vec<TmPublicKey> {
        let mut keys = self.local_keys.clone();
        keys.extend(self.keys.read().keys().filter(|k| !self.local_keys.contains(k)));
        keys
    }

    /// What this TM tells its peers: its URL, its peers and the keys it knows.
    pub fn info(&self) -> PartyInfo {
        let mut keys: Vec<KeyUrl> = self
            .local_keys
            .iter()
            .map(|key| KeyUrl { key: *key, url: self.own_url.clone() })
            .collect();
        keys.extend(
            self.keys.read().iter().map(|(key, url)| KeyUrl { key: *key, url: url.clone() }),
        );
        PartyInfo {
            url: self.own_url.clone(),
            peers: self.peers().into_iter().map(|url| PeerUrl { url }).collect(),
            keys,
        }
    }
}
