//! Veil's shared chain types, built on alloy.
//!
//! - [`Transaction`]: any Ethereum transaction envelope (legacy with or without EIP-155,
//!   EIP-2930, EIP-1559, ...) or a GoQuorum **private** transaction, which is a legacy
//!   transaction whose `V` is 37 or 38 and whose signing hash carries no chain id.
//! - [`RecoveredTx`]: a transaction with its sender, recovered once with libsecp256k1 and carried
//!   along from then on.
//! - [`Block`], [`Receipt`] and the root helpers ([`transactions_root`], [`receipts_root`]).
//! - [`sign_transaction`] / [`sign_private_transaction`] for the node's own accounts and tests.
//! - [`TmPublicKey`] and [`PayloadHash`]: the transaction manager's base64 identifiers.
//! - [`istanbul`]: GoQuorum's QBFT header (`extraData` layout, block and commit-seal hashes).
//!
//! ```
//! use veil_primitives::{sign_transaction, RecoveredTx, Transaction};
//! use alloy_consensus::TxLegacy;
//! use alloy_primitives::{Address, TxKind, U256};
//!
//! let key = secp256k1::SecretKey::from_slice(&[7u8; 32]).unwrap();
//! let tx = TxLegacy { chain_id: Some(10), nonce: 0, gas_price: 0, gas_limit: 21_000,
//!     to: TxKind::Call(Address::ZERO), value: U256::from(1), input: Default::default() };
//! let signed = sign_transaction(tx.into(), &key);
//! let bytes = signed.encoded_2718();
//! let decoded = Transaction::decode_2718_exact(&bytes).unwrap();
//! let recovered = RecoveredTx::try_new(decoded).unwrap();
//! assert_eq!(recovered.hash(), signed.hash());
//! ```

mod block;
pub mod istanbul;
mod privacy_flag;
mod receipt;
mod recovery;
mod signing;
mod tm;
mod transaction;

pub use block::{transactions_root, Block, BlockBody};
pub use privacy_flag::{PrivacyFlag, UnknownPrivacyFlag};
pub use receipt::{logs_bloom, receipts_root, Receipt};
pub use recovery::{recover_signer, RecoveredTx, RecoveryError};
pub use signing::{
    address_of, private_transaction, sign_hash, sign_private_transaction, sign_transaction,
};
pub use tm::{IdentifierError, PayloadHash, TmPublicKey};
pub use transaction::{Transaction, TxDecodeError, PRIVATE_V_EVEN, PRIVATE_V_ODD};

/// Re-exports of the alloy crates our types are made of, so dependants name one version.
pub use alloy_consensus;
pub use alloy_primitives;
