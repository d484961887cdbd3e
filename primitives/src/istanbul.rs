//! GoQuorum's Istanbul header for QBFT: the `extraData` layout, and the block and commit-seal
//! hashes that leave the round and the seals out.
//!
//! A QBFT header carries [`ISTANBUL_DIGEST`] as its mix hash and, as its whole `extraData`,
//! `rlp([vanity, [validator…], vote, round, [seal…]])` ([`QbftExtra`]). Its block hash is the
//! keccak of the header whose extra has round 0 and no seals ([`block_hash`]), so every node
//! gets the same hash whatever round the block was committed in and whichever seals it
//! collected; a committed seal signs the header with the commit round and no seals
//! ([`seal_hash`]). Decoding is as strict as GoQuorum's: an absent vote is the empty list, a
//! vote type is `0xff` (add) or `0x80` (drop), the round a canonical integer, every seal 65
//! bytes, nothing after the five fields.

use alloy_consensus::Header;
use alloy_primitives::{b256, keccak256, Address, Bytes, FixedBytes, B256};
use alloy_rlp::{Decodable, Encodable};

/// The mix hash of every Istanbul (IBFT and QBFT) header: "…tical byzantine fault tolerance".
pub const ISTANBUL_DIGEST: B256 =
    b256!("63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365");

/// A committed seal: `r ‖ s ‖ v` with `v` ∈ {0, 1}.
pub type CommittedSeal = FixedBytes<65>;

/// A proposer's vote on a validator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidatorVote {
    /// The address voted on.
    pub recipient: Address,
    /// `true` to add it, `false` to remove it.
    pub add: bool,
}

/// The vote type byte for "add" (`0xff`); "drop" is `0x00`, encoded as the empty string.
const VOTE_ADD: u8 = 0xff;

/// A QBFT header's `extraData`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QbftExtra {
    /// The proposer's free bytes, 32 when Veil writes them; any length is read.
    pub vanity: Bytes,
    /// The validators of this block, byte-sorted (empty in validator-contract mode).
    pub validators: Vec<Address>,
    /// The proposer's vote, if any.
    pub vote: Option<ValidatorVote>,
    /// The round the block was committed in (0 in proposals).
    pub round: u32,
    /// The commit seals of at least a quorum of validators (none in proposals).
    pub committed_seals: Vec<CommittedSeal>,
}

/// Why an `extraData` is not a QBFT extra.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtraError {
    /// Not the five-field RLP list.
    #[error("invalid QBFT extra-data: {0}")]
    Rlp(String),
    /// The vote's type is neither add (0xff) nor drop (0x00).
    #[error("invalid QBFT extra-data: vote type {0:#04x} is neither 0xff (add) nor 0x00 (drop)")]
    VoteType(u8),
}

impl From<alloy_rlp::Error> for ExtraError {
    fn from(e: alloy_rlp::Error) -> Self {
        Self::Rlp(e.to_string())
    }
}

impl QbftExtra {
    /// Decodes a header's whole `extraData`.
    pub fn decode(mut bytes: &[u8]) -> Result<Self, ExtraError> {
        let outer = alloy_rlp::Header::decode(&mut bytes)?;
        if !outer.list {
            return Err(ExtraError::Rlp("not a list".into()));
        }
        if bytes.len() != outer.payload_length {
            return Err(ExtraError::Rlp("bytes after the list".into()));
        }
        let vanity = Bytes::decode(&mut bytes)?;
        let validators = Vec::<Address>::decode(&mut bytes)?;
        let vote = decode_vote(&mut bytes)?;
        let round = u32::decode(&mut bytes)?;
        let committed_seals = Vec::<CommittedSeal>::decode(&mut bytes)?;
        if !bytes.is_empty() {
            return Err(ExtraError::Rlp("more than five fields".into()));
        }
        Ok(Self { vanity, validators, vote, round, committed_seals })
    }

    /// The `extraData` bytes.
    pub fn encode(&self) -> Bytes {
        let vote_payload = self.vote.map_or(0, |v| {
            v.recipient.length() + if v.add { VOTE_ADD.length() } else { 0u8.length() }
        });
        let payload = self.vanity.length()
            + self.validators.length()
            + alloy_rlp::length_of_length(vote_payload)
            + vote_payload
            + self.round.length()
            + self.committed_seals.length();
        let mut out = Vec::with_capacity(alloy_rlp::length_of_length(payload) + payload);
        alloy_rlp::Header { list: true, payload_length: payload }.encode(&mut out);
        self.vanity.encode(&mut out);
        self.validators.encode(&mut out);
        alloy_rlp::Header { list: true, payload_length: vote_payload }.encode(&mut out);
        if let Some(vote) = self.vote {
            vote.recipient.encode(&mut out);
            if vote.add { VOTE_ADD } else { 0u8 }.encode(&mut out);
        }
        self.round.encode(&mut out);
        self.committed_seals.encode(&mut out);
        out.into()
    }

    /// This extra with `round` and no seals: what the block hash (round 0) and a commit seal
    /// (the commit round) cover.
    pub fn unsealed(&self, round: u32) -> Self {
        Self { round, committed_seals: Vec::new(), ..self.clone() }
    }
}

fn decode_vote(bytes: &mut &[u8]) -> Result<Option<ValidatorVote>, ExtraError> {
    let header = alloy_rlp::Header::decode(bytes)?;
    if !header.list {
        return Err(ExtraError::Rlp("the vote is not a list (an absent vote is 0xc0)".into()));
    }
    if header.payload_length == 0 {
        return Ok(None);
    }
    let mut body = bytes.get(..header.payload_length).ok_or(alloy_rlp::Error::InputTooShort)?;
    *bytes = &bytes[header.payload_length..];
    let recipient = Address::decode(&mut body)?;
    let add = match u8::decode(&mut body)? {
        VOTE_ADD => true,
        0 => false,
        other => return Err(ExtraError::VoteType(other)),
    };
    if !body.is_empty() {
        return Err(ExtraError::Rlp("the vote has more than two fields".into()));
    }
    Ok(Some(ValidatorVote { recipient, add }))
}

/// Whether `header` is an Istanbul header (its mix hash is [`ISTANBUL_DIGEST`]).
pub fn is_istanbul(header: &Header) -> bool {
    header.mix_hash == ISTANBUL_DIGEST
}

/// The keccak of `header`'s RLP with `extra` as its `extraData`.
fn hash_with_extra(header: &Header, extra: &QbftExtra) -> B256 {
    let mut filtered = header.clone();
    filtered.extra_data = extra.encode();
    let mut out = Vec::with_capacity(filtered.length());
    filtered.encode(&mut out);
    keccak256(out)
}

/// The block hash, as GoQuorum's `Header.Hash()`: for an Istanbul header whose extra is a QBFT
/// extra, the hash with round 0 and no seals; otherwise the plain keccak of the header.
pub fn block_hash(header: &Header) -> B256 {
    if is_istanbul(header) {
        if let Ok(extra) = QbftExtra::decode(&header.extra_data) {
            return hash_with_extra(header, &extra.unsealed(0));
        }
    }
    header.hash_slow()
}

/// The hash a validator's committed seal signs for `header` committed in `round`.
pub fn seal_hash(header: &Header, extra: &QbftExtra, round: u32) -> B256 {
    hash_with_extra(header, &extra.unsealed(round))
}

/// The address whose key made `seal` over `hash` (the hash is the prehash: no more hashing),
/// or why none did.
pub fn seal_signer(seal: &CommittedSeal, hash: B256) -> Result<Address, crate::RecoveryError> {
    let signature = alloy_primitives::Signature::from_raw(seal.as_slice())
        .map_err(|_| crate::RecoveryError::Malformed)?;
    crate::recover_signer(&signature, hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::hex;

    fn extra(hex_text: &str) -> Result<QbftExtra, ExtraError> {
        QbftExtra::decode(&hex::decode(hex_text).unwrap())
    }

    #[test]
    fn an_absent_vote_must_be_the_empty_list_and_a_drop_the_empty_string() {
        assert_eq!(hex::encode(QbftExtra::default().encode()), "c580c0c080c0");
        assert!(extra("c580c0808080").is_err(), "vote 0x80 is GoQuorum's 'wrong kind of empty'");
        let drop = QbftExtra {
            vote: Some(ValidatorVote { recipient: Address::repeat_byte(1), add: false }),
            ..Default::default()
        };
        let encoded = format!("db80c0d694{}8080c0", "01".repeat(20));
        assert_eq!(hex::encode(drop.encode()), encoded);
        assert_eq!(extra(&encoded).unwrap(), drop);
        let zero_byte = format!("db80c0d694{}0080c0", "01".repeat(20));
        assert!(extra(&zero_byte).is_err(), "0x00 is a non-canonical zero");
        let other = format!("db80c0d694{}0180c0", "01".repeat(20));
        assert_eq!(extra(&other), Err(ExtraError::VoteType(0x01)));
    }

    #[test]
    fn a_round_with_a_leading_zero_or_a_short_seal_or_a_sixth_field_is_refused() {
        assert!(extra("c980c0c0840000fedcc0").is_err());
        assert!(extra(&format!("e680c0c080e1a0{}", "00".repeat(32))).is_err());
        assert!(extra("c680c0c080c080").is_err());
        assert!(extra("c580c0c080c0ff").is_err());
    }

    fn istanbul_header(extra: &QbftExtra) -> Header {
        Header {
            number: 7,
            mix_hash: ISTANBUL_DIGEST,
            difficulty: alloy_primitives::U256::from(1),
            extra_data: extra.encode(),
            ..Default::default()
        }
    }

    #[test]
    fn the_block_hash_leaves_out_the_round_and_the_seals_and_a_seal_signs_its_round() {
        let proposal = QbftExtra {
            vanity: Bytes::from(vec![0; 32]),
            validators: vec![Address::repeat_byte(1), Address::repeat_byte(2)],
            ..Default::default()
        };
        let sealed = QbftExtra {
            round: 3,
            committed_seals: vec![CommittedSeal::repeat_byte(9); 2],
            ..proposal.clone()
        };
        let (unsealed, committed) = (istanbul_header(&proposal), istanbul_header(&sealed));
        assert_ne!(unsealed.hash_slow(), committed.hash_slow());
        assert_eq!(block_hash(&unsealed), block_hash(&committed));
        assert_eq!(
            block_hash(&unsealed),
            unsealed.hash_slow(),
            "round 0, no seals: nothing to leave out"
        );
        assert_eq!(seal_hash(&committed, &sealed, 0), block_hash(&committed));
        assert_ne!(seal_hash(&committed, &sealed, 3), block_hash(&committed));
        assert_eq!(seal_hash(&committed, &sealed, 3), seal_hash(&unsealed, &proposal, 3));
    }

    #[test]
    fn headers_that_are_not_istanbul_hash_plainly() {
        let extra = QbftExtra { round: 2, ..Default::default() };
        let mut header = istanbul_header(&extra);
        header.mix_hash = B256::ZERO;
        assert_eq!(block_hash(&header), header.hash_slow());
        header.mix_hash = ISTANBUL_DIGEST;
        header.extra_data = Bytes::from_static(b"not rlp");
        assert_eq!(block_hash(&header), header.hash_slow(), "an extra that does not decode");
    }
}
