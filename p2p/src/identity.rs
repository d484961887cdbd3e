//! A node's identity: geth's `nodekey` file (the secp256k1 secret as 64 hex characters) and the
//! libp2p identity made from the same key, so an enode URL names exactly one libp2p peer.

use libp2p::identity::{self, Keypair, PeerId};
use std::path::Path;

/// Why a node key could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum NodeKeyError {
    /// The file could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file does not hold a secp256k1 secret in hex.
    #[error("{path}: not a node key ({reason}); want 64 hex characters as geth writes them")]
    Invalid {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// A node's secp256k1 key.
#[derive(Clone)]
pub struct NodeKey {
    secret: secp256k1::SecretKey,
}

impl std::fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeKey({})", alloy_primitives::hex::encode(self.public()))
    }
}

impl NodeKey {
    /// A key from its hex form (with or without `0x`, surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let bytes = alloy_primitives::hex::decode(text.trim()).map_err(|e| e.to_string())?;
        let secret = secp256k1::SecretKey::from_slice(&bytes).map_err(|e| e.to_string())?;
        Ok(Self { secret })
    }

    /// Reads `path`, or writes a new random key there when it does not exist (as geth does for
    /// `<datadir>/geth/nodekey`).
    pub fn load_or_create(path: &Path) -> Result<Self, NodeKeyError> {
        let name = path.display().to_string();
        let io = |e: std::io::Error| NodeKeyError::Io { path: name.clone(), reason: e.to_string() };
        if path.exists() {
            let text = std::fs::read_to_string(path).map_err(io)?;
            return Self::from_hex(&text)
                .map_err(|reason| NodeKeyError::Invalid { path: name.clone(), reason });
        }
        let key = Self { secret: secp256k1::SecretKey::new(&mut secp256k1::rand::thread_rng()) };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        use std::io::Write;
        options
            .open(path)
            .and_then(|mut f| {
                f.write_all(alloy_primitives::hex::encode(key.secret.secret_bytes()).as_bytes())
            })
            .map_err(io)?;
        Ok(key)
    }

    /// The 64-byte public key of enode URLs (uncompressed, without the 0x04 prefix).
    pub fn public(&self) -> [u8; 64] {
        let full = secp256k1::PublicKey::from_secret_key(secp256k1::SECP256K1, &self.secret)
            .serialize_uncompressed();
        let mut out = [0u8; 64];
        out.copy_from_slice(&full[1..]);
        out
    }

    /// The secret key, for the consensus engine's own signatures (QBFT messages and seals).
    pub fn secret_key(&self) -> secp256k1::SecretKey {
        self.secret
    }

    /// The libp2p identity of this key.
    pub fn keypair(&self) -> Keypair {
        let secret = identity::secp256k1::SecretKey::try_from_bytes(self.secret.secret_bytes())
            .expect("a valid secp256k1 secret is a valid libp2p secp256k1 secret");
        Keypair::from(identity::secp256k1::Keypair::from(secret))
    }

    /// The libp2p peer id of this key.
    pub fn peer_id(&self) -> PeerId {
        self.keypair().public().to_peer_id()
    }

    /// Signs a 32-byte hash (recoverable, 65 bytes r ‖ s ‖ v), for block seals.
    pub fn sign_hash(&self, hash: &[u8; 32]) -> [u8; 65] {
        let message = secp256k1::Message::from_digest(*hash);
        let (recovery, compact) =
            secp256k1::SECP256K1.sign_ecdsa_recoverable(&message, &self.secret).serialize_compact();
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&compact);
        out[64] = i32::from(recovery) as u8;
        out
    }
}

/// The libp2p peer id of a 64-byte enode public key.
pub fn peer_id_of(public: &[u8; 64]) -> Result<PeerId, String> {
    let mut full = [0u8; 65];
    full[0] = 4;
    full[1..].copy_from_slice(public);
    let key = identity::secp256k1::PublicKey::try_from_bytes(&full).map_err(|e| e.to_string())?;
    Ok(identity::PublicKey::from(key).to_peer_id())
}
