//! Sealing: the payload once under a random master key, the master key once per recipient
//! under a key derived from X25519 with HKDF-SHA256.

use crate::{payload::EncodedPayload, PrivateKey, RecipientBox};
use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    XChaCha20Poly1305, XNonce,
};
use hkdf::Hkdf;
use parking_lot::Mutex;
use rand::RngCore;
use sha2::Sha256;
use std::collections::HashMap;
use veil_primitives::TmPublicKey;
use x25519_dalek::PublicKey;
use zeroize::Zeroizing;

/// Domain separation for the box keys.
const BOX_KEY_SALT: &[u8] = b"veil-tm payload box v1";

pub(crate) fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut out);
    out
}

/// A box key, wiped when dropped.
type BoxKey = Zeroizing<[u8; 32]>;

/// What sealing a payload produces: the master key, the nonce and the ciphertext.
pub(crate) struct SealedPayload {
    pub(crate) master: BoxKey,
    pub(crate) nonce: [u8; 24],
    pub(crate) ciphertext: Vec<u8>,
}

/// Box keys by (sender, recipient), bounded; when full it starts over.
pub(crate) struct BoxKeyCache {
    capacity: usize,
    keys: Mutex<HashMap<(TmPublicKey, TmPublicKey), BoxKey>>,
}

impl BoxKeyCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { capacity, keys: Mutex::new(HashMap::new()) }
    }

    /// The key of the box from `sender` to `recipient`, computed with `own` (the private key of
    /// whichever of the two we are) and the other side's public key.
    pub(crate) fn box_key(
        &self,
        own: &PrivateKey,
        other: &TmPublicKey,
        sender: &TmPublicKey,
        recipient: &TmPublicKey,
    ) -> Zeroizing<[u8; 32]> {
        if self.capacity > 0 {
            if let Some(key) = self.keys.lock().get(&(*sender, *recipient)) {
                return key.clone();
            }
        }
        let shared = own.0.diffie_hellman(&PublicKey::from(*other.as_bytes()));
        let mut info = [0u8; 64];
        info[..32].copy_from_slice(sender.as_bytes());
        info[32..].copy_from_slice(recipient.as_bytes());
        let mut key = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's output limit.
        let _ =
            Hkdf::<Sha256>::new(Some(BOX_KEY_SALT), shared.as_bytes()).expand(&info, &mut key[..]);
        if self.capacity > 0 {
            let mut keys = self.keys.lock();
            if keys.len() >= self.capacity {
                keys.clear();
            }
            keys.insert((*sender, *recipient), key.clone());
        }
        key
    }
}

fn cipher(key: &[u8; 32]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.into())
}

/// Encrypts `plaintext` under a fresh master key.
pub(crate) fn seal_payload(sender: &TmPublicKey, plaintext: &[u8]) -> Option<SealedPayload> {
    let master = Zeroizing::new(random::<32>());
    let nonce = random::<24>();
    let header = EncodedPayload::header(sender, &nonce);
    let ciphertext = cipher(&master)
        .encrypt(&XNonce::from(nonce), Payload { msg: plaintext, aad: &header })
        .ok()?;
    Some(SealedPayload { master, nonce, ciphertext })
}

/// SHA3-512(new ciphertext ‖ affected ciphertext ‖ affected master key).
pub(crate) fn security_hash(ciphertext: &[u8], affected: &[u8], master: &[u8; 32]) -> [u8; 64] {
    use sha3::{Digest, Sha3_512};
    let mut hasher = Sha3_512::new();
    hasher.update(ciphertext);
    hasher.update(affected);
    hasher.update(master);
    hasher.finalize().into()
}

/// Opens the payload ciphertext with the master key.
pub(crate) fn open_payload(
    payload: &EncodedPayload,
    master: &[u8; 32],
) -> Option<Zeroizing<Vec<u8>>> {
    let header = EncodedPayload::header(&payload.sender, &payload.nonce);
    cipher(master)
        .decrypt(&XNonce::from(payload.nonce), Payload { msg: &payload.ciphertext, aad: &header })
        .ok()
        .map(Zeroizing::new)
}

fn box_aad(sender: &TmPublicKey, recipient: &TmPublicKey) -> [u8; 64] {
    let mut aad = [0u8; 64];
    aad[..32].copy_from_slice(sender.as_bytes());
    aad[32..].copy_from_slice(recipient.as_bytes());
    aad
}

/// Seals the master key for `recipient` under `box_key`.
pub(crate) fn seal_box(
    box_key: &[u8; 32],
    master: &[u8; 32],
    sender: &TmPublicKey,
    recipient: &TmPublicKey,
) -> Option<RecipientBox> {
    let nonce = random::<24>();
    let sealed = cipher(box_key)
        .encrypt(&XNonce::from(nonce), Payload { msg: master, aad: &box_aad(sender, recipient) })
        .ok()?;
    let sealed_key: [u8; 48] = sealed.as_slice().try_into().ok()?;
    Some(RecipientBox { recipient: *recipient, nonce, sealed_key })
}

/// Opens a recipient box; `None` if it does not authenticate.
pub(crate) fn open_box(
    box_key: &[u8; 32],
    sealed: &RecipientBox,
    sender: &TmPublicKey,
) -> Option<Zeroizing<[u8; 32]>> {
    let opened = Zeroizing::new(
        cipher(box_key)
            .decrypt(
                &XNonce::from(sealed.nonce),
                Payload { msg: &sealed.sealed_key, aad: &box_aad(sender, &sealed.recipient) },
            )
            .ok()?,
    );
    let mut master = Zeroizing::new([0u8; 32]);
    master.copy_from_slice(opened.get(..32)?);
    Some(master)
}
