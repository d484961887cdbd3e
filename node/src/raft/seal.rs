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

/// Whether `header` is sealed by a member's node key and, when the leader of the term its
/// entry was proposed in is known, by that leader.
pub fn check(
    header: &Header,
    members: &std::collections::BTreeMap<u64, veil_p2p::Enode>,
    term_leader: Option<u64>,
) -> Result<u64, String> {
    let (minter, public) = signer(header)?;
    if members.get(&minter).map(|e| e.public) != Some(public) {
        return Err(format!("sealed as raft id {minter} by a key that is not that member's"));
    }
    if let Some(leader) = term_leader.filter(|l| *l != minter) {
        return Err(format!("sealed by raft id {minter}, but {leader} led that term"));
    }
    Ok(minter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use veil_p2p::Enode;

    fn member(key: &NodeKey) -> Enode {
        Enode { public: key.public(), host: "127.0.0.1".into(), port: 1, raft_port: None }
    }

    #[test]
    fn only_the_terms_leader_seals_a_block_members_accept() {
        let (one, two, outsider) = (
            NodeKey::from_hex(&"11".repeat(32)).unwrap(),
            NodeKey::from_hex(&"22".repeat(32)).unwrap(),
            NodeKey::from_hex(&"33".repeat(32)).unwrap(),
        );
        let members = BTreeMap::from([(1, member(&one)), (2, member(&two))]);
        let sealed = |id: u64, key: &NodeKey| {
            let mut header = Header { number: 5, ..Default::default() };
            seal(&mut header, id, key);
            header
        };
        assert_eq!(check(&sealed(1, &one), &members, Some(1)), Ok(1));
        assert_eq!(check(&sealed(2, &two), &members, None), Ok(2), "leader unknown: any member");
        let by_follower = check(&sealed(2, &two), &members, Some(1)).unwrap_err();
        assert!(by_follower.contains("but 1 led that term"), "{by_follower}");
        let impostor = check(&sealed(1, &outsider), &members, Some(1)).unwrap_err();
        assert!(impostor.contains("not that member's"), "{impostor}");
        assert!(check(&Header::default(), &members, None).is_err(), "unsealed");
    }

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
