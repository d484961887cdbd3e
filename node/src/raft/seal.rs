//! Block seals of a Raft network: `extraData` = the minter's raft id (8 bytes, big-endian) ‖ a
//! 65-byte recoverable secp256k1 signature by its node key over the keccak256 of the header's
//! RLP with `extraData` holding only the raft id.

use alloy_consensus::Header;
use alloy_primitives::{keccak256, Bytes, B256};
use veil_p2p::NodeKey;

const SEAL_LEN: usize = 8 + 65;

fn signing_hash(header: &Header, raft_id: u64) -> B256 {
    let mut unsealed = header.clone();
    unsealed.extra_data = Bytes::copy_from_slice(&raft_id.to_be_bytes());
    keccak256(alloy_rlp::encode(&unsealed))
}

/// Seals `header` as minted by `raft_id` holding `key`.
pub fn seal(header: &mut Header, raft_id: u64, key: &NodeKey) {
    let signature = key.sign_hash(&signing_hash(header, raft_id).0);
    let mut extra = raft_id.to_be_bytes().to_vec();
    extra.extend_from_slice(&signature);
    header.extra_data = extra.into();
}

/// The raft id a header claims and the 64-byte public key that signed it.
pub fn signer(header: &Header) -> Result<(u64, [u8; 64]), String> {
    let extra = &header.extra_data;
    if extra.len() != SEAL_LEN {
        return Err(format!("extraData of {} bytes is not a raft seal ({SEAL_LEN})", extra.len()));
    }
    let raft_id = u64::from_be_bytes(extra[..8].try_into().expect("8 bytes"));
    let recovery = secp256k1::ecdsa::RecoveryId::try_from(i32::from(extra[72]))
        .map_err(|e| format!("seal recovery id: {e}"))?;
    let signature = secp256k1::ecdsa::RecoverableSignature::from_compact(&extra[8..72], recovery)
        .map_err(|e| format!("seal signature: {e}"))?;
    let message = secp256k1::Message::from_digest(signing_hash(header, raft_id).0);
    let public = secp256k1::SECP256K1
        .recover_ecdsa(&message, &signature)
        .map_err(|e| format!("seal does not recover: {e}"))?;
    let mut out = [0u8; 64];
    out.copy_from_slice(&public.serialize_uncompressed()[1..]);
    Ok((raft_id, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_names_its_signer_and_breaks_when_the_header_changes() {
        let key =
            NodeKey::from_hex("1be3b50b31734be48452c29d714941ba165ef0cbf3ccea8ca16c45e3d8d45fb0")
                .unwrap();
        let mut header = Header { number: 7, ..Default::default() };
        seal(&mut header, 3, &key);
        assert_eq!(signer(&header).unwrap(), (3, key.public()));
        header.gas_used = 1;
        assert_ne!(signer(&header).map(|s| s.1).ok(), Some(key.public()));
        header.extra_data = Bytes::new();
        assert!(signer(&header).unwrap_err().contains("not a raft seal"));
    }
}
