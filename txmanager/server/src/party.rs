//! [`PartyStore`]: the peers a TM knows, which identity holds each key, and where each
//! identity answers.
//!
//! - A peer URL learnt from another TM is only a candidate until it answers a signed request
//!   for itself (its signed answer names that URL); a candidate that never answers is dropped
//!   after its first failed round, a peer that stops answering after `peerExpiry`, and a
//!   dropped peer is not learnt again within `peerExpiry`. Configured peers stay. At most
//!   `maxPeers` are held.
//! - A key belongs to the identity that proved it (see `discovery`). A claim by another
//!   identity never moves it; it is released only when its owner's own signed announcement
//!   stops listing it (the old owner's act), or when this TM restarts (the operator's).
//! - A key's route is its owner's URL, and only while that URL last answered as the owner.

use crate::auth::IdentityKey;
use parking_lot::RwLock;
use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, Instant},
};
use veil_enclave::TmPublicKey;
use veil_tm_api::{KeyUrl, PartyInfo, PeerUrl};

/// Peers held at most, unless the P2P property `maxPeers` says otherwise.
pub const DEFAULT_MAX_PEERS: usize = 256;
/// How long a learnt peer may go without answering, unless `peerExpiryMillis` says otherwise.
pub const DEFAULT_PEER_EXPIRY: Duration = Duration::from_secs(120);

/// A URL without its trailing slash, so `http://a:1/` and `http://a:1` are one peer.
pub fn normalize(url: &str) -> String {
    url.trim_end_matches('/').to_string()
}

/// Where a remote key's payloads go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// To the owner's URL; its answer must be signed by `owner`.
    To {
        /// The owner's P2P URL.
        url: String,
        /// The identity that proved the key.
        owner: IdentityKey,
    },
    /// No TM has proven the key.
    Unknown,
    /// The key's owner is known but where it answers is not: why.
    InDoubt(String),
}

#[derive(Debug)]
struct Peer {
    configured: bool,
    /// The identity that last answered at this URL.
    identity: Option<IdentityKey>,
    answered: Option<Instant>,
}

#[derive(Debug)]
struct Located {
    url: String,
    /// When the answer that put it there was signed (unix ms).
    since_ms: u64,
}

#[derive(Debug, Default)]
struct Parties {
    peers: BTreeMap<String, Peer>,
    /// Peers dropped for not answering, and when: not learnt again within the expiry.
    dropped: HashMap<String, Instant>,
    owners: HashMap<TmPublicKey, IdentityKey>,
    located: HashMap<IdentityKey, Located>,
}

/// Known peers, key owners and identity locations.
#[derive(Debug)]
pub struct PartyStore {
    own_url: String,
    own_identity: IdentityKey,
    local_keys: Vec<TmPublicKey>,
    discovery: bool,
    max_peers: usize,
    expiry: Duration,
    inner: RwLock<Parties>,
}

/// How many peers to hold and how long a silent one stays.
#[derive(Clone, Copy, Debug)]
pub struct PeerLimits {
    /// Peers held at most (configured ones always).
    pub max_peers: usize,
    /// How long a learnt peer may go without answering.
    pub expiry: Duration,
}

impl Default for PeerLimits {
    fn default() -> Self {
        Self { max_peers: DEFAULT_MAX_PEERS, expiry: DEFAULT_PEER_EXPIRY }
    }
}

impl PartyStore {
    /// A store for the TM `own_identity` at `own_url` with `local_keys`, seeded with the
    /// configured peers. Without `discovery`, peers learnt from others are not added.
    pub fn new(
        own_url: &str,
        own_identity: IdentityKey,
        local_keys: Vec<TmPublicKey>,
        configured: impl IntoIterator<Item = String>,
        discovery: bool,
        limits: PeerLimits,
    ) -> Self {
        let own_url = normalize(own_url);
        let peers = configured
            .into_iter()
            .map(|u| normalize(&u))
            .filter(|u| *u != own_url)
            .map(|u| (u, Peer { configured: true, identity: None, answered: None }))
            .collect();
        Self {
            own_url,
            own_identity,
            local_keys,
            discovery,
            max_peers: limits.max_peers,
            expiry: limits.expiry,
            inner: RwLock::new(Parties { peers, ..Parties::default() }),
        }
    }

    /// This TM's P2P URL.
    pub fn own_url(&self) -> &str {
        &self.own_url
    }

    /// This TM's identity.
    pub fn own_identity(&self) -> IdentityKey {
        self.own_identity
    }

    /// Where `key`'s payloads go.
    pub fn route(&self, key: &TmPublicKey) -> Route {
        let inner = self.inner.read();
        let Some(owner) = inner.owners.get(key).copied() else { return Route::Unknown };
        let Some(located) = inner.located.get(&owner) else {
            return Route::InDoubt(format!("its owner, identity {owner}, answers at no known URL"));
        };
        match inner.peers.get(&located.url).map(|p| p.identity) {
            Some(Some(at)) if at == owner => Route::To { url: located.url.clone(), owner },
            Some(Some(other)) => Route::InDoubt(format!(
                "{} now answers as identity {other}, not as its owner {owner}",
                located.url
            )),
            _ => Route::InDoubt(format!(
                "its owner, identity {owner}, is no longer a peer (last at {})",
                located.url
            )),
        }
    }

    /// The identity that proved `key`.
    pub fn owner_of(&self, key: &TmPublicKey) -> Option<IdentityKey> {
        self.inner.read().owners.get(key).copied()
    }

    /// Whether `identity` may be asked to prove `key`: no other identity holds it. Logs a
    /// refused move.
    pub fn may_claim(&self, key: &TmPublicKey, identity: &IdentityKey, url: &str) -> bool {
        match self.owner_of(key) {
            Some(owner) if owner != *identity => {
                tracing::warn!(
                    %key, claimant = %identity, %url, %owner,
                    "key claim refused: the key is held by another identity, and moves only when \
                     that identity stops announcing it"
                );
                false
            }
            _ => true,
        }
    }

    /// Records that `identity` proved it holds `key`.
    pub fn accept_key(&self, key: TmPublicKey, identity: IdentityKey) {
        let previous = self.inner.write().owners.insert(key, identity);
        if previous != Some(identity) {
            let url = self.inner.read().located.get(&identity).map(|l| l.url.clone());
            tracing::info!(%key, %identity, url = url.as_deref().unwrap_or("?"), "key proven");
        }
    }

    /// `identity`'s own fresh, signed announcement lists `keys` as all it holds: the keys it
    /// held before and no longer lists are released.
    pub fn announced(&self, identity: &IdentityKey, keys: &[TmPublicKey]) {
        let releases = |owners: &HashMap<TmPublicKey, IdentityKey>| {
            owners.iter().any(|(key, owner)| owner == identity && !keys.contains(key))
        };
        // Every party-info round comes here; most change nothing and need no write lock.
        if !releases(&self.inner.read().owners) {
            return;
        }
        let mut inner = self.inner.write();
        inner.owners.retain(|key, owner| {
            let keep = owner != identity || keys.contains(key);
            if !keep {
                tracing::info!(%key, %identity, "key released by its owner");
            }
            keep
        });
    }

    /// The TM at `url` answered a signed request as `identity`, with an answer signed at
    /// `signed_ms` (our request's time): the URL is a confirmed peer, and the identity's
    /// location (moved only by a newer answer).
    pub fn answered(&self, url: &str, identity: IdentityKey, signed_ms: u64) {
        let url = normalize(url);
        if url == self.own_url {
            return;
        }
        let mut inner = self.inner.write();
        if !inner.peers.contains_key(&url) && !self.has_room(&inner) {
            return;
        }
        let peer = inner.peers.entry(url.clone()).or_insert(Peer {
            configured: false,
            identity: None,
            answered: None,
        });
        peer.identity = Some(identity);
        peer.answered = Some(Instant::now());
        match inner.located.get_mut(&identity) {
            Some(at) if at.url == url => at.since_ms = at.since_ms.max(signed_ms),
            Some(at) if at.since_ms >= signed_ms => {}
            Some(at) => {
                tracing::info!(%identity, from = %at.url, to = %url, "peer identity moved");
                *at = Located { url, since_ms: signed_ms };
            }
            None => {
                inner.located.insert(identity, Located { url, since_ms: signed_ms });
            }
        }
    }

    /// The TM at `url` did not answer (or not as it should): a candidate is dropped at once,
    /// a learnt peer once it has been silent for the expiry.
    pub fn failed(&self, url: &str) {
        let url = normalize(url);
        let mut inner = self.inner.write();
        let drop = inner.peers.get(&url).is_some_and(|p| {
            !p.configured && p.answered.is_none_or(|at| at.elapsed() > self.expiry)
        });
        if drop {
            inner.peers.remove(&url);
            let expiry = self.expiry;
            inner.dropped.retain(|_, at| at.elapsed() < expiry);
            if inner.dropped.len() < 4 * self.max_peers {
                inner.dropped.insert(url.clone(), Instant::now());
            }
            tracing::info!(%url, "dropped a peer that does not answer");
        }
    }

    fn has_room(&self, inner: &Parties) -> bool {
        let room = inner.peers.len() < self.max_peers;
        if !room {
            tracing::warn!(max = self.max_peers, "peer list full (maxPeers): not adding more");
        }
        room
    }

    /// A candidate peer: learnt from a peer's answer, or a TM that contacted us (only with
    /// discovery on, and while there is room).
    pub fn learn_peer(&self, url: &str) {
        let url = normalize(url);
        if !self.discovery || url == self.own_url {
            return;
        }
        let mut inner = self.inner.write();
        let recently_dropped = inner.dropped.get(&url).is_some_and(|at| at.elapsed() < self.expiry);
        if !inner.peers.contains_key(&url) && !recently_dropped && self.has_room(&inner) {
            inner.peers.insert(url, Peer { configured: false, identity: None, answered: None });
        }
    }

    /// Whether a TM at `url` may tell us its keys: any, with discovery on; only the peers we
    /// know, with `disablePeerDiscovery`.
    pub fn may_announce(&self, url: &str) -> bool {
        self.discovery || self.inner.read().peers.contains_key(&normalize(url))
    }

    /// The peers to exchange party info with.
    pub fn peers(&self) -> Vec<String> {
        self.inner.read().peers.keys().cloned().collect()
    }

    /// Every key known, local ones included (`GET /partyinfo/keys`).
    pub fn all_keys(&self) -> Vec<TmPublicKey> {
        let mut keys = self.local_keys.clone();
        keys.extend(self.inner.read().owners.keys().filter(|k| !self.local_keys.contains(k)));
        keys
    }

    /// What this TM tells its peers: its URL, the peers that answered, and the routable keys.
    pub fn info(&self) -> PartyInfo {
        let mut keys: Vec<KeyUrl> = self
            .local_keys
            .iter()
            .map(|key| KeyUrl { key: *key, url: self.own_url.clone() })
            .collect();
        let inner = self.inner.read();
        keys.extend(inner.owners.iter().filter_map(|(key, owner)| {
            inner.located.get(owner).map(|at| KeyUrl { key: *key, url: at.url.clone() })
        }));
        let peers = inner
            .peers
            .iter()
            .filter(|(_, p)| p.configured || p.answered.is_some())
            .map(|(url, _)| PeerUrl { url: url.clone() })
            .collect();
        PartyInfo { url: self.own_url.clone(), peers, keys }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Identity;

    fn store(limits: PeerLimits) -> PartyStore {
        let me = Identity::generate().public();
        PartyStore::new(
            "http://me:1",
            me,
            vec![TmPublicKey([1; 32])],
            ["http://c:1".into()],
            true,
            limits,
        )
    }

    #[test]
    fn a_key_routes_to_its_owner_only_while_the_owner_answers_there() {
        let parties = store(PeerLimits::default());
        let (owner, other) = (Identity::generate().public(), Identity::generate().public());
        let key = TmPublicKey([7; 32]);
        assert_eq!(parties.route(&key), Route::Unknown);
        parties.answered("http://b:1", owner, 10);
        parties.accept_key(key, owner);
        assert_eq!(parties.route(&key), Route::To { url: "http://b:1".into(), owner });
        assert!(!parties.may_claim(&key, &other, "http://x:1"));
        parties.answered("http://b:1", other, 20);
        assert!(
            matches!(parties.route(&key), Route::InDoubt(why) if why.contains("now answers as"))
        );
        parties.answered("http://b2:1", owner, 30);
        assert_eq!(parties.route(&key), Route::To { url: "http://b2:1".into(), owner });
        parties.answered("http://b:1", owner, 25);
        assert_eq!(
            parties.route(&key),
            Route::To { url: "http://b2:1".into(), owner },
            "an older answer does not move it back"
        );
        parties.announced(&owner, &[]);
        assert_eq!(parties.route(&key), Route::Unknown, "released by its owner");
        assert!(parties.may_claim(&key, &other, "http://x:1"));
    }

    #[test]
    fn candidates_are_bounded_and_dropped_when_they_do_not_answer() {
        let parties = store(PeerLimits { max_peers: 3, expiry: Duration::from_secs(60) });
        for i in 0..10 {
            parties.learn_peer(&format!("http://flood{i}:1"));
        }
        assert_eq!(parties.peers().len(), 3);
        assert!(
            !parties.info().peers.iter().any(|p| p.url.contains("flood")),
            "unconfirmed peers are not passed on"
        );
        parties.failed("http://flood0:1");
        parties.failed("http://c:1");
        assert_eq!(parties.peers(), vec!["http://c:1".to_string(), "http://flood1:1".to_string()]);
        parties.learn_peer("http://flood0:1");
        assert_eq!(parties.peers().len(), 2, "a dropped peer is not learnt again at once");
        assert!(!parties.peers().contains(&"http://flood0:1".to_string()));
    }
}
