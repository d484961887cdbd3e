//! Sender recovery with libsecp256k1, done once per transaction.

use crate::Transaction;
use alloy_primitives::{keccak256, Address, Signature, B256, U256};
use secp256k1::{
    ecdsa::{RecoverableSignature, RecoveryId},
    Message, SECP256K1,
};

/// Half the secp256k1 group order: signatures with a larger `s` are malleable and refused
/// (EIP-2), as geth does for transactions.
const SECP256K1N_HALF: U256 = U256::from_be_bytes([
    0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0x5D, 0x57, 0x6E, 0x73, 0x57, 0xA4, 0x50, 0x1D, 0xDF, 0xE9, 0x2F, 0x46, 0x68, 0x1B, 0x20, 0xA0,
]);

/// Why the sender of a signature could not be recovered (geth: "invalid sender").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecoveryError {
    /// `s` is above half the curve order.
    #[error("invalid sender: signature s value is too high")]
    HighS,
    /// `r` or `s` is zero or not below the curve order.
    #[error("invalid sender: malformed signature")]
    Malformed,
    /// No public key matches the signature.
    #[error("invalid sender: signature does not recover a key")]
    NoKey,
}

/// Recovers the address that produced `signature` over `prehash`.
pub fn recover_signer(signature: &Signature, prehash: B256) -> Result<Address, RecoveryError> {
    if signature.s() > SECP256K1N_HALF {
        return Err(RecoveryError::HighS);
    }
    let mut compact = [0u8; 64];
    compact[..32].copy_from_slice(&signature.r().to_be_bytes::<32>());
    compact[32..].copy_from_slice(&signature.s().to_be_bytes::<32>());
    let recovery_id =
        RecoveryId::try_from(i32::from(signature.v())).map_err(|_| RecoveryError::Malformed)?;
    let recoverable = RecoverableSignature::from_compact(&compact, recovery_id)
        .map_err(|_| RecoveryError::Malformed)?;
    let public = SECP256K1
        .recover_ecdsa(&Message::from_digest(prehash.0), &recoverable)
        .map_err(|_| RecoveryError::NoKey)?;
    let uncompressed = public.serialize_uncompressed();
    Ok(Address::from_slice(&keccak256(&uncompressed[1..])[12..]))
}

/// A transaction together with its recovered sender and hash. Recovery happens once, in
/// [`RecoveredTx::try_new`]; every later stage reads the cached sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveredTx {
    tx: Transaction,
    sender: Address,
}

impl RecoveredTx {
    /// Recovers the sender of `tx`.
    pub fn try_new(tx: Transaction) -> Result<Self, RecoveryError> {
        let sender = recover_signer(tx.signature(), tx.signature_hash())?;
        Ok(Self { tx, sender })
    }

    /// Pairs a transaction with a sender that was recovered earlier (e.g. read back from our
    /// own store, where it was written after recovery).
    pub fn new_unchecked(tx: Transaction, sender: Address) -> Self {
        Self { tx, sender }
    }

    /// The sender.
    pub fn sender(&self) -> Address {
        self.sender
    }

    /// The transaction.
    pub fn tx(&self) -> &Transaction {
        &self.tx
    }

    /// The transaction hash.
    pub fn hash(&self) -> B256 {
        self.tx.hash()
    }

    /// Gives back the transaction.
    pub fn into_tx(self) -> Transaction {
        self.tx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// EIP-155's own example: nonce 9, gas price 20 gwei, gas 21000, to 0x3535..., 1 ether,
    /// chain id 1, key 0x4646...; the EIP gives the signing hash, the signature and the bytes.
    #[test]
    fn recovers_the_eip155_example_sender() {
        let signing_hash: B256 =
            "0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53".parse().unwrap();
        let r: U256 =
            "18515461264373351373200002665853028612451056578545711640558177340181847433846"
                .parse()
                .unwrap();
        let s: U256 =
            "46948507304638947509940763649030358759909902576025900602547168820602576006531"
                .parse()
                .unwrap();
        let sender = recover_signer(&Signature::new(r, s, false), signing_hash).unwrap();
        let key = secp256k1::SecretKey::from_slice(&[0x46; 32]).unwrap();
        assert_eq!(sender, crate::address_of(&key));
        assert_eq!(
            sender,
            "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F".parse::<Address>().unwrap()
        );
    }

    /// The same example on the wire has V = 37: on chain id 1, EIP-155 values collide with
    /// GoQuorum's private marker, which is why GoQuorum (and Veil) refuse to run chain id 1.
    #[test]
    fn chain_id_1_eip155_values_collide_with_the_private_marker() {
        let raw = alloy_primitives::hex!("f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83");
        let tx = Transaction::decode_2718_exact(&raw).unwrap();
        assert!(tx.is_private());
        assert_eq!(tx.v(), 37);
    }

    #[test]
    fn refuses_high_s() {
        let signature = Signature::new(U256::from(1), SECP256K1N_HALF + U256::from(1), false);
        assert_eq!(recover_signer(&signature, B256::ZERO), Err(RecoveryError::HighS));
    }
}
