//! A TM's ed25519 identity: the key that signs its P2P requests and answers, and to which
//! the X25519 keys it proves are bound.
//!
//! The private key file has the X25519 key files' format (unlocked, or locked with argon2id
//! and XChaCha20-Poly1305; see `veil_enclave::keyfile`), holding the 32-byte ed25519 seed;
//! the public file is the base64 public key on one line.

use base64::{engine::general_purpose::STANDARD, Engine};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::LazyLock,
};
use veil_enclave::keyfile::{self, KeyFileError};

/// A TM's public identity (an ed25519 public key), shown as base64.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityKey(pub [u8; 32]);

/// Decompressed public keys by their bytes: decompression (a field square root) is a third of
/// a verification's cost, and a TM hears from few identities. Cleared when full, so a flood of
/// made-up identities costs only the flooder's own requests.
static DECOMPRESSED: LazyLock<Mutex<HashMap<[u8; 32], VerifyingKey>>> =
    LazyLock::new(Mutex::default);
const DECOMPRESSED_CAPACITY: usize = 4096;

impl IdentityKey {
    fn verifying_key(&self) -> Result<VerifyingKey, String> {
        if let Some(key) = DECOMPRESSED.lock().get(&self.0) {
            return Ok(*key);
        }
        let key = VerifyingKey::from_bytes(&self.0)
            .map_err(|_| format!("identity {self} is not an ed25519 public key"))?;
        let mut cache = DECOMPRESSED.lock();
        if cache.len() >= DECOMPRESSED_CAPACITY {
            cache.clear();
        }
        cache.insert(self.0, key);
        Ok(key)
    }

    /// Checks `signature` over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), String> {
        let key = self.verifying_key()?;
        let signature = Signature::from_slice(signature)
            .map_err(|_| format!("a signature of {} bytes, want 64", signature.len()))?;
        key.verify_strict(message, &signature)
            .map_err(|_| format!("the signature is not identity {self}'s"))
    }
}

impl std::fmt::Display for IdentityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&STANDARD.encode(self.0))
    }
}

impl std::fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdentityKey({self})")
    }
}

impl std::str::FromStr for IdentityKey {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|e| format!("identity {text:?} is not base64: {e}"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("identity of {} bytes, want 32", b.len()))?;
        VerifyingKey::from_bytes(&bytes)
            .map_err(|_| format!("identity {text:?} is not an ed25519 public key"))?;
        Ok(IdentityKey(bytes))
    }
}

impl Serialize for IdentityKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IdentityKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// A TM's identity with its private key (zeroized on drop by ed25519-dalek; `Debug` shows
/// only the public key).
pub struct Identity {
    signing: SigningKey,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identity({})", self.public())
    }
}

/// The files of the identity a TM keeps when none is configured (as geth keeps its `nodekey`
/// in its data directory): beside its payload store, named after it (`db` →
/// `db.identity.key`), not inside it, so that a TM that lost its store and asks its peers to
/// resend is still the identity that proved its keys, and two TMs whose stores share a parent
/// directory still have one identity each.
pub fn default_paths(storage: &Path) -> (PathBuf, PathBuf) {
    let name = storage.file_name().map_or("store".into(), |n| n.to_string_lossy().into_owned());
    (
        storage.with_file_name(format!("{name}.identity.key")),
        storage.with_file_name(format!("{name}.identity.pub")),
    )
}

impl Identity {
    /// A fresh identity (OS randomness).
    pub fn generate() -> Self {
        Self { signing: SigningKey::generate(&mut rand::rngs::OsRng) }
    }

    /// The public identity.
    pub fn public(&self) -> IdentityKey {
        IdentityKey(self.signing.verifying_key().to_bytes())
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// Reads an identity's private key file (`password` for a locked one) and, when given,
    /// checks that its public file matches.
    pub fn load(
        private_path: &Path,
        public_path: Option<&Path>,
        password: Option<&str>,
    ) -> Result<Self, KeyFileError> {
        let identity = Self {
            signing: SigningKey::from_bytes(&*keyfile::read_secret(private_path, password)?),
        };
        if let Some(public_path) = public_path {
            let text = std::fs::read_to_string(public_path).map_err(|e| invalid(public_path, e))?;
            let public: IdentityKey = text.parse().map_err(|e| invalid(public_path, e))?;
            if public != identity.public() {
                return Err(invalid(
                    public_path,
                    format!("does not match the identity in {}", private_path.display()),
                ));
            }
        }
        Ok(identity)
    }

    /// Writes the private key file (owner-only; locked when `password` is given) and the
    /// public one.
    pub fn write(
        &self,
        private_path: &Path,
        public_path: &Path,
        password: Option<&str>,
    ) -> Result<(), KeyFileError> {
        keyfile::write_secret(private_path, &self.signing.to_bytes(), password)?;
        std::fs::write(public_path, self.public().to_string()).map_err(|e| invalid(public_path, e))
    }

    /// The identity kept beside the store at `storage` ([`default_paths`]; unlocked,
    /// owner-only), created on first use.
    pub fn load_or_create(storage: &Path) -> Result<Self, KeyFileError> {
        let (private_path, public_path) = default_paths(storage);
        if private_path.exists() {
            return Self::load(&private_path, None, None);
        }
        if let Some(home) = private_path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(home).map_err(|e| invalid(home, e))?;
        }
        let identity = Self::generate();
        identity.write(&private_path, &public_path, None)?;
        Ok(identity)
    }
}

fn invalid(path: &Path, reason: impl std::fmt::Display) -> KeyFileError {
    KeyFileError::Invalid { path: path.to_path_buf(), reason: reason.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_identity_file_opens_only_with_its_password() {
        let dir = tempfile::tempdir().unwrap();
        let (private, public) = (dir.path().join("id.key"), dir.path().join("id.pub"));
        let identity = Identity::generate();
        identity.write(&private, &public, Some("secret")).unwrap();
        let loaded = Identity::load(&private, Some(&public), Some("secret")).unwrap();
        assert_eq!(loaded.public(), identity.public());
        let wrong = Identity::load(&private, Some(&public), Some("guess")).unwrap_err();
        assert!(matches!(wrong, KeyFileError::WrongPassword { .. }), "{wrong}");
        let missing = Identity::load(&private, Some(&public), None).unwrap_err();
        assert!(matches!(missing, KeyFileError::PasswordNeeded { .. }), "{missing}");
    }

    #[test]
    fn each_store_keeps_its_own_identity_beside_it_and_finds_it_again() {
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = (dir.path().join("tm1db"), dir.path().join("tm2db"));
        let one = Identity::load_or_create(&first).unwrap();
        let two = Identity::load_or_create(&second).unwrap();
        assert_ne!(one.public(), two.public(), "stores sharing a directory share an identity");
        assert_eq!(Identity::load_or_create(&first).unwrap().public(), one.public());
        assert!(!first.exists(), "the identity went inside the store");
        assert_eq!(default_paths(&first).0, dir.path().join("tm1db.identity.key"));
    }

    #[test]
    fn a_signature_verifies_only_for_its_message_and_signer() {
        let (a, b) = (Identity::generate(), Identity::generate());
        let signature = a.sign(b"hello");
        assert!(a.public().verify(b"hello", &signature).is_ok());
        assert!(a.public().verify(b"hellO", &signature).is_err());
        assert!(b.public().verify(b"hello", &signature).is_err());
        assert!(a.public().verify(b"hello", &signature[..63]).is_err());
    }
}
