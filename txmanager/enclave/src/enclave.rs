//! The [`Enclave`] trait and the in-process [`LocalEnclave`].

use crate::{
    crypto::{open_box, open_payload, seal_box, seal_payload, BoxKeyCache, SealedPayload},
    EncodedPayload, KeyPair, PrivateKey,
};
use std::collections::HashMap;
use veil_primitives::TmPublicKey;
use zeroize::Zeroizing;

/// Most per-peer box keys a [`LocalEnclave`] keeps.
pub const DEFAULT_CACHE_CAPACITY: usize = 4096;

/// Why the enclave refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnclaveError {
    /// The enclave holds no private key for this public key.
    #[error("this enclave holds no key {0}")]
    UnknownKey(TmPublicKey),
    /// The payload has no box for the key asked to open it.
    #[error("{0} is not a recipient of this payload")]
    NotARecipient(TmPublicKey),
    /// A box or the ciphertext did not authenticate (tampered or wrong key).
    #[error("payload does not decrypt: {0}")]
    Authentication(&'static str),
    /// Only the sender can add recipients.
    #[error("only the sender {0} can add recipients")]
    NotTheSender(TmPublicKey),
    /// The cipher refused to encrypt (not expected with valid keys).
    #[error("encryption failed")]
    Encryption,
    /// A remote enclave could not be reached or refused the request.
    #[error("remote enclave: {0}")]
    Remote(String),
}

/// What a transaction manager may ask of its keys. Implemented in process
/// ([`LocalEnclave`]) and by a remote client in the TM.
pub trait Enclave: Send + Sync {
    /// The key used when a request names no sender.
    fn default_public_key(&self) -> TmPublicKey;

    /// Every public key whose private key the enclave holds.
    fn public_keys(&self) -> Vec<TmPublicKey>;

    /// Encrypts `plaintext` from `sender` for `recipients`; the sender is always a recipient.
    fn encrypt(
        &self,
        sender: &TmPublicKey,
        plaintext: &[u8],
        recipients: &[TmPublicKey],
    ) -> Result<EncodedPayload, EnclaveError>;

    /// Opens `payload` as `key`, which must be a recipient (the sender is one).
    fn decrypt(
        &self,
        payload: &EncodedPayload,
        key: &TmPublicKey,
    ) -> Result<Zeroizing<Vec<u8>>, EnclaveError>;

    /// Seals the payload's master key for more recipients; only its sender can.
    fn add_recipients(
        &self,
        payload: &EncodedPayload,
        recipients: &[TmPublicKey],
    ) -> Result<EncodedPayload, EnclaveError>;

    /// The security hash binding a new payload (its `ciphertext`) to an affected contract's
    /// creation payload `affected`, which `key` (a local key) must be able to open:
    /// SHA3-512(ciphertext ‖ affected ciphertext ‖ affected master key).
    fn security_hash(
        &self,
        ciphertext: &[u8],
        affected: &EncodedPayload,
        key: &TmPublicKey,
    ) -> Result<[u8; 64], EnclaveError>;
}

/// An enclave holding its keys in this process.
pub struct LocalEnclave {
    keys: HashMap<TmPublicKey, PrivateKey>,
    order: Vec<TmPublicKey>,
    cache: BoxKeyCache,
}

impl std::fmt::Debug for LocalEnclave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEnclave").field("public_keys", &self.order).finish_non_exhaustive()
    }
}

impl LocalEnclave {
    /// An enclave over `keys` (the first is the default) with the default cache.
    pub fn new(keys: Vec<KeyPair>) -> Self {
        Self::with_cache_capacity(keys, DEFAULT_CACHE_CAPACITY)
    }

    /// An enclave whose shared-secret cache holds at most `capacity` entries (0: no cache).
    pub fn with_cache_capacity(keys: Vec<KeyPair>, capacity: usize) -> Self {
        let order = keys.iter().map(KeyPair::public).collect();
        let keys = keys.into_iter().map(|k| (k.public(), k.private().clone())).collect();
        Self { keys, order, cache: BoxKeyCache::new(capacity) }
    }

    fn private(&self, key: &TmPublicKey) -> Result<&PrivateKey, EnclaveError> {
        self.keys.get(key).ok_or(EnclaveError::UnknownKey(*key))
    }

    /// The master key of `payload`, opened as `key`: from `key`'s own box, or, when `key` is
    /// the sender and its own box is missing (a recipient's copy pushed back by resend), from
    /// any recipient's box, whose key the sender derives as well.
    fn master_key(
        &self,
        payload: &EncodedPayload,
        key: &TmPublicKey,
    ) -> Result<Zeroizing<[u8; 32]>, EnclaveError> {
        let own = self.private(key)?;
        let (sealed, other) = match payload.boxes.iter().find(|b| &b.recipient == key) {
            Some(sealed) => (sealed, payload.sender),
            None if *key == payload.sender => {
                let sealed = payload.boxes.first().ok_or(EnclaveError::NotARecipient(*key))?;
                (sealed, sealed.recipient)
            }
            None => return Err(EnclaveError::NotARecipient(*key)),
        };
        let box_key = self.cache.box_key(own, &other, &payload.sender, &sealed.recipient);
        open_box(&box_key, sealed, &payload.sender)
            .ok_or(EnclaveError::Authentication("recipient box"))
    }

    fn seal_for(
        &self,
        sender: &TmPublicKey,
        master: &[u8; 32],
        recipients: impl IntoIterator<Item = TmPublicKey>,
    ) -> Result<Vec<crate::RecipientBox>, EnclaveError> {
        let own = self.private(sender)?;
        recipients
            .into_iter()
            .map(|recipient| {
                let box_key = self.cache.box_key(own, &recipient, sender, &recipient);
                seal_box(&box_key, master, sender, &recipient).ok_or(EnclaveError::Encryption)
            })
            .collect()
    }
}

fn with_sender_first(sender: &TmPublicKey, recipients: &[TmPublicKey]) -> Vec<TmPublicKey> {
    let mut all = vec![*sender];
    for r in recipients {
        if !all.contains(r) {
            all.push(*r);
        }
    }
    all
}

impl Enclave for LocalEnclave {
    fn default_public_key(&self) -> TmPublicKey {
        self.order[0]
    }

    fn public_keys(&self) -> Vec<TmPublicKey> {
        self.order.clone()
    }

    fn encrypt(
        &self,
        sender: &TmPublicKey,
        plaintext: &[u8],
        recipients: &[TmPublicKey],
    ) -> Result<EncodedPayload, EnclaveError> {
        self.private(sender)?;
        let SealedPayload { master, nonce, ciphertext } =
            seal_payload(sender, plaintext).ok_or(EnclaveError::Encryption)?;
        let boxes = self.seal_for(sender, &master, with_sender_first(sender, recipients))?;
        Ok(EncodedPayload { sender: *sender, nonce, ciphertext, boxes, privacy: None })
    }

    fn decrypt(
        &self,
        payload: &EncodedPayload,
        key: &TmPublicKey,
    ) -> Result<Zeroizing<Vec<u8>>, EnclaveError> {
        let master = self.master_key(payload, key)?;
        open_payload(payload, &master).ok_or(EnclaveError::Authentication("ciphertext"))
    }

    fn add_recipients(
        &self,
        payload: &EncodedPayload,
        recipients: &[TmPublicKey],
    ) -> Result<EncodedPayload, EnclaveError> {
        if !self.keys.contains_key(&payload.sender) {
            return Err(EnclaveError::NotTheSender(payload.sender));
        }
        let master = self.master_key(payload, &payload.sender)?;
        let existing = payload.recipients();
        let new: Vec<TmPublicKey> =
            recipients.iter().filter(|r| !existing.contains(r)).copied().collect();
        let mut extended = payload.clone();
        extended.boxes.extend(self.seal_for(&payload.sender, &master, new)?);
        Ok(extended)
    }

    fn security_hash(
        &self,
        ciphertext: &[u8],
        affected: &EncodedPayload,
        key: &TmPublicKey,
    ) -> Result<[u8; 64], EnclaveError> {
        let master = self.master_key(affected, key)?;
        Ok(crate::crypto::security_hash(ciphertext, &affected.ciphertext, &master))
    }
}
