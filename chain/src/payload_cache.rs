//! The private payloads this node's TM gave for pooled transactions, fetched when a
//! transaction enters the pool ([`crate::ptm::prefetch_pooled`]) so that building and
//! importing a block find them here instead of waiting on the TM.
//!
//! Bounded by entries and by plaintext bytes; the oldest entry goes first. A payload's
//! plaintext is zeroized when it leaves the cache (evicted, or forgotten once its transaction
//! is in a block). Only the TM's answers are kept: a party's payload, or a 404 ("not a
//! party"); a failure is never cached, so it is asked again at import.

use alloy_primitives::Bytes;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use veil_evm::{PayloadPrivacy, PrivatePayload};
use veil_primitives::PayloadHash;
use zeroize::Zeroizing;

/// Most payloads held.
pub const MAX_ENTRIES: usize = 16_384;
/// Most plaintext bytes held.
pub const MAX_BYTES: usize = 64 << 20;

/// What the TM said of one payload hash.
enum Answer {
    Party(Zeroizing<Vec<u8>>, Option<PayloadPrivacy>),
    NotParty,
}

#[derive(Default)]
struct Inner {
    answers: HashMap<PayloadHash, Answer>,
    /// Insertion order, for eviction (hashes already forgotten are skipped).
    order: VecDeque<PayloadHash>,
    bytes: usize,
}

/// The cache.
#[derive(Default)]
pub struct PayloadCache {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for PayloadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.inner.lock();
        f.debug_struct("PayloadCache")
            .field("entries", &inner.answers.len())
            .field("bytes", &inner.bytes)
            .finish()
    }
}

impl PayloadCache {
    /// The TM's answer for `hash`, when held.
    pub fn get(&self, hash: &PayloadHash) -> Option<PrivatePayload> {
        self.inner.lock().answers.get(hash).map(|answer| match answer {
            Answer::Party(plaintext, None) => {
                PrivatePayload::Party(Bytes::copy_from_slice(plaintext))
            }
            Answer::Party(plaintext, Some(privacy)) => {
                PrivatePayload::Protected(Bytes::copy_from_slice(plaintext), privacy.clone())
            }
            Answer::NotParty => PrivatePayload::NotParty,
        })
    }

    /// Whether an answer for `hash` is held.
    pub fn contains(&self, hash: &PayloadHash) -> bool {
        self.inner.lock().answers.contains_key(hash)
    }

    /// Keeps the TM's answer for `hash`. A payload larger than the whole cache is not kept.
    pub fn insert(&self, hash: PayloadHash, payload: &PrivatePayload) {
        let size = payload.data().map_or(0, |data| data.len());
        if size > MAX_BYTES {
            return;
        }
        let answer = match payload {
            PrivatePayload::Party(bytes) => Answer::Party(Zeroizing::new(bytes.to_vec()), None),
            PrivatePayload::Protected(bytes, privacy) => {
                Answer::Party(Zeroizing::new(bytes.to_vec()), Some(privacy.clone()))
            }
            PrivatePayload::NotParty => Answer::NotParty,
        };
        let mut inner = self.inner.lock();
        if let Some(old) = inner.answers.insert(hash, answer) {
            inner.bytes -= size_of(&old);
        } else {
            inner.order.push_back(hash);
        }
        inner.bytes += size;
        while inner.answers.len() > MAX_ENTRIES || inner.bytes > MAX_BYTES {
            let Some(oldest) = inner.order.pop_front() else { break };
            if let Some(evicted) = inner.answers.remove(&oldest) {
                inner.bytes -= size_of(&evicted);
            }
        }
        // Forgotten hashes leave stale entries in `order`; keep it from growing past twice
        // the entries.
        if inner.order.len() > 2 * MAX_ENTRIES {
            let Inner { answers, order, .. } = &mut *inner;
            order.retain(|h| answers.contains_key(h));
        }
    }

    /// Drops the answers for `hashes` (their transactions are in a block).
    pub fn forget<'a>(&self, hashes: impl IntoIterator<Item = &'a PayloadHash>) {
        let mut inner = self.inner.lock();
        for hash in hashes {
            if let Some(answer) = inner.answers.remove(hash) {
                inner.bytes -= size_of(&answer);
            }
        }
    }

    /// How many answers are held.
    pub fn len(&self) -> usize {
        self.inner.lock().answers.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn size_of(answer: &Answer) -> usize {
    match answer {
        Answer::Party(plaintext, _) => plaintext.len(),
        Answer::NotParty => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party(bytes: &[u8]) -> PrivatePayload {
        PrivatePayload::Party(Bytes::copy_from_slice(bytes))
    }

    fn hash(i: u32) -> PayloadHash {
        let mut key = [0u8; 64];
        key[..4].copy_from_slice(&i.to_be_bytes());
        PayloadHash(key)
    }

    #[test]
    fn answers_are_kept_forgotten_and_evicted_oldest_first() {
        let cache = PayloadCache::default();
        cache.insert(hash(1), &party(b"plain"));
        cache.insert(hash(2), &PrivatePayload::NotParty);
        let privacy = PayloadPrivacy {
            flag: veil_primitives::PrivacyFlag::PartyProtection,
            ..Default::default()
        };
        cache.insert(
            hash(3),
            &PrivatePayload::Protected(Bytes::from_static(b"pp"), privacy.clone()),
        );
        assert_eq!(
            cache.get(&hash(3)),
            Some(PrivatePayload::Protected(Bytes::from_static(b"pp"), privacy))
        );
        assert!(
            matches!(cache.get(&hash(1)), Some(PrivatePayload::Party(p)) if p.as_ref() == b"plain")
        );
        assert!(matches!(cache.get(&hash(2)), Some(PrivatePayload::NotParty)));
        cache.forget([&hash(1)]);
        assert!(cache.get(&hash(1)).is_none());
        for i in 10..10 + MAX_ENTRIES as u32 {
            cache.insert(hash(i), &PrivatePayload::NotParty);
        }
        assert_eq!(cache.len(), MAX_ENTRIES);
        assert!(cache.get(&hash(2)).is_none(), "the oldest went first");
        assert!(cache.contains(&hash(10 + MAX_ENTRIES as u32 - 1)));
    }

    #[test]
    fn plaintext_is_bounded_by_bytes() {
        let cache = PayloadCache::default();
        let big = vec![7u8; MAX_BYTES / 2 + 1];
        cache.insert(hash(1), &party(&big));
        cache.insert(hash(2), &party(&big));
        assert!(!cache.contains(&hash(1)), "the older payload was evicted for bytes");
        assert!(cache.contains(&hash(2)));
        cache.insert(hash(3), &party(&vec![0u8; MAX_BYTES + 1]));
        assert!(!cache.contains(&hash(3)), "larger than the whole cache: not kept");
    }
}
