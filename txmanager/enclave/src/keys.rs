//! X25519 key pairs.

use veil_primitives::TmPublicKey;
use x25519_dalek::{PublicKey, StaticSecret};

/// A private X25519 key. Zeroized on drop (x25519-dalek), never shown by `Debug`.
#[derive(Clone)]
pub struct PrivateKey(pub(crate) StaticSecret);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(<redacted>)")
    }
}

impl PrivateKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(StaticSecret::from(bytes))
    }

    /// The 32 secret bytes, for writing a key file. Zeroize the copy when done.
    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.0.to_bytes())
    }

    /// The matching public key.
    pub fn public(&self) -> TmPublicKey {
        TmPublicKey(PublicKey::from(&self.0).to_bytes())
    }
}

/// A private key with its public key.
#[derive(Clone, Debug)]
pub struct KeyPair {
    public: TmPublicKey,
    private: PrivateKey,
}

impl KeyPair {
    /// A fresh random key pair (OS randomness).
    pub fn generate() -> Self {
        Self::from_private(PrivateKey(StaticSecret::random_from_rng(rand::rngs::OsRng)))
    }

    /// The pair of a private key.
    pub fn from_private(private: PrivateKey) -> Self {
        Self { public: private.public(), private }
    }

    /// The public half.
    pub fn public(&self) -> TmPublicKey {
        self.public
    }

    /// The private half.
    pub fn private(&self) -> &PrivateKey {
        &self.private
    }
}
