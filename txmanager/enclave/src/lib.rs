//! Veil's enclave: the only code that touches a participant's private keys.
//!
//! - [`KeyPair`] / [`PrivateKey`]: X25519 keys; private bytes are zeroized on drop and never
//!   printed (`Debug` is redacted).
//! - [`keyfile`]: Tessera's key files (public key as base64 text, private key as
//!   `{"type":"unlocked","data":{"bytes":"…"}}`) and a password-locked form (argon2id +
//!   XChaCha20-Poly1305).
//! - [`EncodedPayload`]: a private payload encrypted once under a random master key, with one
//!   sealed copy of that key per recipient, in a versioned binary format
//!   (`docs/design/tm-payload.md`).
//! - [`Enclave`]: what a transaction manager may ask of its keys; [`LocalEnclave`] answers in
//!   process with a bounded cache of per-peer shared secrets.
//!
//! No network IO and no tokio: a remote enclave wraps this crate in a server elsewhere.
//!
//! ```
//! use veil_enclave::{Enclave, KeyPair, LocalEnclave};
//! let (alice, bob) = (KeyPair::generate(), KeyPair::generate());
//! let (a, b) = (alice.public(), bob.public());
//! let alice_enclave = LocalEnclave::new(vec![alice]);
//! let payload = alice_enclave.encrypt(&a, b"hello", &[b]).unwrap();
//! let bob_enclave = LocalEnclave::new(vec![bob]);
//! assert_eq!(&bob_enclave.decrypt(&payload, &b).unwrap()[..], b"hello");
//! ```

mod crypto;
mod enclave;
pub mod keyfile;
mod keys;
mod payload;

pub use enclave::{Enclave, EnclaveError, LocalEnclave, DEFAULT_CACHE_CAPACITY};
pub use keys::{KeyPair, PrivateKey};
pub use payload::{
    AffectedTransaction, EncodedPayload, PayloadFormatError, PrivacyMetadata, RecipientBox,
    PAYLOAD_VERSION, PRIVACY_PAYLOAD_VERSION,
};
pub use veil_primitives::{PayloadHash, PrivacyFlag, TmPublicKey};
