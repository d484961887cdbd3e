//! TM identities and signed TM-to-TM traffic (`docs/design/tm-identity.md`): each TM holds an
//! ed25519 [`Identity`]; its P2P requests and answers, and its calls to a remote enclave, are
//! signed ([`signed`]), and servers admit only signed requests ([`layer`]).

pub mod identity;
pub mod layer;
pub mod session;
pub mod signed;

pub use identity::{Identity, IdentityKey};
pub use layer::{require_signed, sign_answers, Authenticator, Caller};
