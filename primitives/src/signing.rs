//! Signing transactions with a secp256k1 key (the node's unlocked accounts, tests, benches).

use crate::Transaction;
use alloy_consensus::{SignableTransaction, TxEnvelope, TxLegacy, TypedTransaction};
use alloy_primitives::{keccak256, Address, Signature, B256, U256};
use secp256k1::{Message, PublicKey, SecretKey, SECP256K1};

/// The Ethereum address of a secret key.
pub fn address_of(key: &SecretKey) -> Address {
    let public = PublicKey::from_secret_key(SECP256K1, key).serialize_uncompressed();
    Address::from_slice(&keccak256(&public[1..])[12..])
}

/// Signs a 32-byte hash; the signature's y-parity is its recovery id.
pub fn sign_hash(hash: B256, key: &SecretKey) -> Signature {
    let (recovery_id, compact) =
        SECP256K1.sign_ecdsa_recoverable(&Message::from_digest(hash.0), key).serialize_compact();
    Signature::new(
        U256::from_be_slice(&compact[..32]),
        U256::from_be_slice(&compact[32..]),
        i32::from(recovery_id) == 1,
    )
}

/// Signs a public transaction. A legacy transaction is EIP-155 protected when its `chain_id`
/// is set.
pub fn sign_transaction(tx: TypedTransaction, key: &SecretKey) -> Transaction {
    let signature = sign_hash(tx.signature_hash(), key);
    let envelope: TxEnvelope = tx.into_envelope(signature);
    Transaction::Public(envelope)
}

/// Signs a GoQuorum private transaction: the chain id is cleared, the homestead signing hash is
/// signed, and the result carries V = 37/38.
pub fn sign_private_transaction(mut tx: TxLegacy, key: &SecretKey) -> Transaction {
    tx.chain_id = None;
    let signature = sign_hash(tx.signature_hash(), key);
    private_transaction(tx, signature)
}

/// A GoQuorum private transaction from its fields (`chain_id` must be `None`) and a signature
/// over their homestead signing hash, made elsewhere (e.g. by a keystore account).
pub fn private_transaction(tx: TxLegacy, signature: alloy_primitives::Signature) -> Transaction {
    let unhashed = Transaction::Private(alloy_consensus::Signed::new_unchecked(
        tx.clone(),
        signature,
        B256::ZERO,
    ));
    let hash = keccak256(unhashed.encoded_2718());
    Transaction::Private(alloy_consensus::Signed::new_unchecked(tx, signature, hash))
}
