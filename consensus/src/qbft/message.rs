//! QBFT's four messages on the wire, as GoQuorum sends them (`istanbul/100` codes 0x12–0x15):
//!
//! ```text
//! PROPOSAL     0x12  [ [[seq, round, block], sig], [[RC_signed…], [PREPARE…]] ]
//! PREPARE      0x13  [ [seq, round, digest], sig ]
//! COMMIT       0x14  [ [seq, round, digest, commitSeal], sig ]
//! ROUND-CHANGE 0x15  [ [[seq, round, prepared], sig], preparedBlock | [], [PREPARE…] ]
//!   prepared = [] | [preparedRound, preparedDigest];  RC_signed = [[seq, round, prepared], sig]
//! ```
//!
//! Each signature signs `keccak(rlp([code, payload]))` over the payload's bytes **as
//! received** ([`Signed`] keeps them), so a message re-encoded differently by its sender still
//! verifies. Decoding only parses; who signed is asked of [`Signed::signer`]. Besu ≥ 26.1 adds
//! a block-access-list item to proposals and round changes; it is read and ignored.

use alloy_primitives::{keccak256, Address, Bytes, Signature, B256};
use alloy_rlp::{Decodable, Encodable};
use veil_primitives::{istanbul::CommittedSeal, recover_signer, sign_hash, Block, RecoveryError};

/// The message codes of GoQuorum's `istanbul/100` protocol for QBFT.
pub mod code {
    /// PROPOSAL (GoQuorum's PRE-PREPARE).
    pub const PROPOSAL: u8 = 0x12;
    /// PREPARE.
    pub const PREPARE: u8 = 0x13;
    /// COMMIT.
    pub const COMMIT: u8 = 0x14;
    /// ROUND-CHANGE.
    pub const ROUND_CHANGE: u8 = 0x15;
}

/// Why bytes are not a QBFT message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// Malformed RLP, or not the layout of its code.
    #[error("malformed QBFT message: {0}")]
    Rlp(String),
    /// A code outside 0x12–0x15.
    #[error("unknown QBFT message code {0:#04x}")]
    UnknownCode(u8),
    /// The signature recovers no key.
    #[error("QBFT message signature: {0}")]
    Signature(#[from] RecoveryError),
}

impl From<alloy_rlp::Error> for MessageError {
    fn from(e: alloy_rlp::Error) -> Self {
        Self::Rlp(e.to_string())
    }
}

/// A payload that is signed on its own: its code and its RLP fields.
pub trait Payload: Sized {
    /// The code its signature covers.
    const CODE: u8;
    /// Appends the fields (without the list header).
    fn encode_fields(&self, out: &mut Vec<u8>);
    /// Reads the fields from the list's body; trailing items are the caller's concern.
    fn decode_fields(body: &mut &[u8]) -> Result<Self, MessageError>;
}

/// `[seq, round, digest]`: a validator accepted the proposal with this digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepare {
    /// The height.
    pub sequence: u64,
    /// The round.
    pub round: u32,
    /// The proposed block's hash.
    pub digest: B256,
}

/// `[seq, round, digest, seal]`: a validator commits to the block, with its committed seal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    /// The height.
    pub sequence: u64,
    /// The round.
    pub round: u32,
    /// The proposed block's hash.
    pub digest: B256,
    /// The validator's signature over the block with this round ([`veil_primitives::istanbul::seal_hash`]).
    pub seal: CommittedSeal,
}

/// `[seq, round, prepared]`: a validator moves to `round`, carrying its prepared certificate's
/// round and digest if it has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundChangePayload {
    /// The height.
    pub sequence: u64,
    /// The round it moves to.
    pub round: u32,
    /// The highest round it prepared in at this height, and that block's digest.
    pub prepared: Option<(u32, B256)>,
}

/// `[seq, round, block]`: the proposer's block for the round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProposalPayload {
    /// The height.
    pub sequence: u64,
    /// The round.
    pub round: u32,
    /// The proposed block (round 0 and no seals in its extra).
    pub block: Block,
}

impl Payload for Prepare {
    const CODE: u8 = code::PREPARE;
    fn encode_fields(&self, out: &mut Vec<u8>) {
        self.sequence.encode(out);
        self.round.encode(out);
        self.digest.encode(out);
    }
    fn decode_fields(body: &mut &[u8]) -> Result<Self, MessageError> {
        Ok(Self {
            sequence: u64::decode(body)?,
            round: u32::decode(body)?,
            digest: B256::decode(body)?,
        })
    }
}

impl Payload for Commit {
    const CODE: u8 = code::COMMIT;
    fn encode_fields(&self, out: &mut Vec<u8>) {
        self.sequence.encode(out);
        self.round.encode(out);
        self.digest.encode(out);
        self.seal.encode(out);
    }
    fn decode_fields(body: &mut &[u8]) -> Result<Self, MessageError> {
        Ok(Self {
            sequence: u64::decode(body)?,
            round: u32::decode(body)?,
            digest: B256::decode(body)?,
            seal: CommittedSeal::decode(body)?,
        })
    }
}

impl Payload for RoundChangePayload {
    const CODE: u8 = code::ROUND_CHANGE;
    fn encode_fields(&self, out: &mut Vec<u8>) {
        self.sequence.encode(out);
        self.round.encode(out);
        let mut prepared = Vec::new();
        if let Some((round, digest)) = self.prepared {
            round.encode(&mut prepared);
            digest.encode(&mut prepared);
        }
        list(&prepared, out);
    }
    fn decode_fields(body: &mut &[u8]) -> Result<Self, MessageError> {
        let sequence = u64::decode(body)?;
        let round = u32::decode(body)?;
        let mut prepared = list_body(body)?;
        let prepared = if prepared.is_empty() {
            None
        } else {
            let value = (u32::decode(&mut prepared)?, B256::decode(&mut prepared)?);
            if !prepared.is_empty() {
                return Err(MessageError::Rlp("prepared is [round, digest]".into()));
            }
            Some(value)
        };
        Ok(Self { sequence, round, prepared })
    }
}

impl Payload for ProposalPayload {
    const CODE: u8 = code::PROPOSAL;
    fn encode_fields(&self, out: &mut Vec<u8>) {
        self.sequence.encode(out);
        self.round.encode(out);
        self.block.encode(out);
    }
    fn decode_fields(body: &mut &[u8]) -> Result<Self, MessageError> {
        let value = Self {
            sequence: u64::decode(body)?,
            round: u32::decode(body)?,
            block: Block::decode(body)?,
        };
        // Besu ≥ 26.1's block access list (or its empty 0x80).
        if !body.is_empty() {
            item(body)?;
        }
        Ok(value)
    }
}

/// A payload with its signature, and the payload's bytes as they were signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed<P> {
    /// The parsed payload.
    pub payload: P,
    /// The payload's RLP list, exactly as signed.
    raw: Bytes,
    /// `r ‖ s ‖ v`, `v` ∈ {0, 1}.
    signature: [u8; 65],
}

impl<P: Payload> Signed<P> {
    /// Signs `payload` with `key`.
    pub fn sign(payload: P, key: &secp256k1::SecretKey) -> Self {
        let mut fields = Vec::new();
        payload.encode_fields(&mut fields);
        let mut raw = Vec::new();
        list(&fields, &mut raw);
        let signature = sign_hash(signing_hash(P::CODE, &raw), key).as_bytes();
        Self { payload, raw: raw.into(), signature }
    }

    /// The address whose key signed it.
    pub fn signer(&self) -> Result<Address, MessageError> {
        let signature = Signature::from_raw_array(&self.signature)
            .map_err(|_| MessageError::Signature(RecoveryError::Malformed))?;
        Ok(recover_signer(&signature, signing_hash(P::CODE, &self.raw))?)
    }

    /// The signature's 65 bytes.
    pub fn signature(&self) -> &[u8; 65] {
        &self.signature
    }

    /// Appends `[payload, sig]`.
    fn encode(&self, out: &mut Vec<u8>) {
        let mut body = self.raw.to_vec();
        Bytes::copy_from_slice(&self.signature).encode(&mut body);
        list(&body, out);
    }

    /// Reads `[payload, sig]`.
    fn decode(buf: &mut &[u8]) -> Result<Self, MessageError> {
        let mut body = list_body(buf)?;
        let raw = item(&mut body)?;
        let mut fields = list_body(&mut &raw[..])?;
        let payload = P::decode_fields(&mut fields)?;
        if !fields.is_empty() {
            return Err(MessageError::Rlp("extra fields in the payload".into()));
        }
        let signature: [u8; 65] = Bytes::decode(&mut body)?
            .as_ref()
            .try_into()
            .map_err(|_| MessageError::Rlp("a signature is 65 bytes".into()))?;
        if !body.is_empty() {
            return Err(MessageError::Rlp("extra items after the signature".into()));
        }
        Ok(Self { payload, raw: Bytes::copy_from_slice(raw), signature })
    }
}

/// A PROPOSAL with its justification (empty in round 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    /// The signed block.
    pub signed: Signed<ProposalPayload>,
    /// A quorum of round changes for the round (round > 0).
    pub round_changes: Vec<Signed<RoundChangePayload>>,
    /// The prepares of the highest prepared certificate among them, if any.
    pub prepares: Vec<Signed<Prepare>>,
}

/// A ROUND-CHANGE, with the prepared block and its prepares when the sender prepared one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundChange {
    /// The signed round change.
    pub signed: Signed<RoundChangePayload>,
    /// The block of its prepared certificate.
    pub prepared_block: Option<Block>,
    /// The prepares of its prepared certificate.
    pub prepares: Vec<Signed<Prepare>>,
}

/// Any QBFT message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// 0x12 (boxed: it carries a block).
    Proposal(Box<Proposal>),
    /// 0x13.
    Prepare(Signed<Prepare>),
    /// 0x14.
    Commit(Signed<Commit>),
    /// 0x15 (boxed: it may carry a block).
    RoundChange(Box<RoundChange>),
}

impl Message {
    /// Its wire code.
    pub fn code(&self) -> u8 {
        match self {
            Self::Proposal(_) => code::PROPOSAL,
            Self::Prepare(_) => code::PREPARE,
            Self::Commit(_) => code::COMMIT,
            Self::RoundChange(_) => code::ROUND_CHANGE,
        }
    }

    /// The height and round it is about.
    pub fn view(&self) -> (u64, u32) {
        match self {
            Self::Proposal(p) => (p.signed.payload.sequence, p.signed.payload.round),
            Self::Prepare(p) => (p.payload.sequence, p.payload.round),
            Self::Commit(c) => (c.payload.sequence, c.payload.round),
            Self::RoundChange(rc) => (rc.signed.payload.sequence, rc.signed.payload.round),
        }
    }

    /// The address that signed it.
    pub fn signer(&self) -> Result<Address, MessageError> {
        match self {
            Self::Proposal(p) => p.signed.signer(),
            Self::Prepare(p) => p.signer(),
            Self::Commit(c) => c.signer(),
            Self::RoundChange(rc) => rc.signed.signer(),
        }
    }

    /// The message's RLP (what travels with its code).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Self::Prepare(p) => p.encode(&mut out),
            Self::Commit(c) => c.encode(&mut out),
            Self::Proposal(p) => {
                let mut body = Vec::new();
                p.signed.encode(&mut body);
                let mut justification = Vec::new();
                encode_all(&p.round_changes, &mut justification);
                encode_all(&p.prepares, &mut justification);
                list(&justification, &mut body);
                list(&body, &mut out);
            }
            Self::RoundChange(rc) => {
                let mut body = Vec::new();
                rc.signed.encode(&mut body);
                match &rc.prepared_block {
                    Some(block) => block.encode(&mut body),
                    None => list(&[], &mut body),
                }
                encode_all(&rc.prepares, &mut body);
                list(&body, &mut out);
            }
        }
        out
    }

    /// Reads a message of `code` from its RLP.
    pub fn decode(code: u8, bytes: &[u8]) -> Result<Self, MessageError> {
        let mut buf = bytes;
        let message = match code {
            code::PREPARE => Self::Prepare(Signed::decode(&mut buf)?),
            code::COMMIT => Self::Commit(Signed::decode(&mut buf)?),
            code::PROPOSAL => {
                let mut body = list_body(&mut buf)?;
                let signed = Signed::decode(&mut body)?;
                let mut justification = list_body(&mut body)?;
                let round_changes = decode_all(&mut justification)?;
                let prepares = decode_all(&mut justification)?;
                if !body.is_empty() || !justification.is_empty() {
                    return Err(MessageError::Rlp("extra items in the proposal".into()));
                }
                Self::Proposal(Box::new(Proposal { signed, round_changes, prepares }))
            }
            code::ROUND_CHANGE => {
                let mut body = list_body(&mut buf)?;
                let signed = Signed::decode(&mut body)?;
                let block_item = item(&mut body)?;
                let prepared_block = if is_empty_item(block_item) {
                    None
                } else {
                    Some(Block::decode(&mut &block_item[..])?)
                };
                let mut rest = item(&mut body)?;
                if !body.is_empty() {
                    // Besu ≥ 26.1: [signed, block, blockAccessList, prepares].
                    rest = item(&mut body)?;
                }
                let prepares =
                    if is_empty_item(rest) { Vec::new() } else { decode_all(&mut &rest[..])? };
                if !body.is_empty() {
                    return Err(MessageError::Rlp("extra items in the round change".into()));
                }
                Self::RoundChange(Box::new(RoundChange { signed, prepared_block, prepares }))
            }
            other => return Err(MessageError::UnknownCode(other)),
        };
        if !buf.is_empty() {
            return Err(MessageError::Rlp("bytes after the message".into()));
        }
        Ok(message)
    }
}

/// `keccak(rlp([code, payload]))`.
fn signing_hash(code: u8, raw_payload: &[u8]) -> B256 {
    let mut body = Vec::with_capacity(raw_payload.len() + 2);
    code.encode(&mut body);
    body.extend_from_slice(raw_payload);
    let mut out = Vec::with_capacity(body.len() + 4);
    list(&body, &mut out);
    keccak256(out)
}

/// Appends `body` as one RLP list.
fn list(body: &[u8], out: &mut Vec<u8>) {
    alloy_rlp::Header { list: true, payload_length: body.len() }.encode(out);
    out.extend_from_slice(body);
}

/// Reads a list's header and answers its body, advancing `buf` past it.
fn list_body<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8], MessageError> {
    let header = alloy_rlp::Header::decode(buf)?;
    if !header.list {
        return Err(MessageError::Rlp("a list expected".into()));
    }
    let body = buf.get(..header.payload_length).ok_or(alloy_rlp::Error::InputTooShort)?;
    *buf = &buf[header.payload_length..];
    Ok(body)
}

/// Answers the next item's whole encoding (header and payload), advancing `buf` past it.
fn item<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8], MessageError> {
    let start = *buf;
    let header = alloy_rlp::Header::decode(buf)?;
    if buf.len() < header.payload_length {
        return Err(alloy_rlp::Error::InputTooShort.into());
    }
    *buf = &buf[header.payload_length..];
    Ok(&start[..start.len() - buf.len()])
}

/// GoQuorum reads either empty item (`0x80` or `0xc0`) as "none".
fn is_empty_item(item: &[u8]) -> bool {
    item == [alloy_rlp::EMPTY_STRING_CODE] || item == [alloy_rlp::EMPTY_LIST_CODE]
}

fn encode_all<P: Payload>(items: &[Signed<P>], out: &mut Vec<u8>) {
    let mut body = Vec::new();
    for signed in items {
        signed.encode(&mut body);
    }
    list(&body, out);
}

fn decode_all<P: Payload>(buf: &mut &[u8]) -> Result<Vec<Signed<P>>, MessageError> {
    let mut body = list_body(buf)?;
    let mut items = Vec::new();
    while !body.is_empty() {
        items.push(Signed::decode(&mut body)?);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> secp256k1::SecretKey {
        secp256k1::SecretKey::from_slice(&[byte; 32]).unwrap()
    }

    #[test]
    fn a_signed_message_names_its_signer_and_survives_the_wire() {
        let prepare =
            Signed::sign(Prepare { sequence: 9, round: 2, digest: B256::repeat_byte(3) }, &key(1));
        let message = Message::Prepare(prepare);
        let decoded = Message::decode(code::PREPARE, &message.encode()).unwrap();
        assert_eq!(decoded, message);
        assert_eq!(decoded.signer().unwrap(), veil_primitives::address_of(&key(1)));
        assert_eq!(decoded.view(), (9, 2));
        // The same bytes under another code are another message: the signer changes.
        let commit_code = Message::decode(code::COMMIT, &message.encode());
        assert!(commit_code.is_err(), "a prepare's payload is not a commit's");
    }

    #[test]
    fn a_round_change_carries_its_prepared_certificate_or_empty_items() {
        let rc = |prepared| {
            Signed::sign(RoundChangePayload { sequence: 4, round: 1, prepared }, &key(2))
        };
        let bare = Message::RoundChange(Box::new(RoundChange {
            signed: rc(None),
            prepared_block: None,
            prepares: vec![],
        }));
        let encoded = bare.encode();
        assert_eq!(Message::decode(code::ROUND_CHANGE, &encoded).unwrap(), bare);
        assert_eq!(&encoded[encoded.len() - 2..], [0xc0, 0xc0], "no block, no prepares: 0xc0 0xc0");
        let prepared = rc(Some((0, B256::repeat_byte(5))));
        assert_eq!(prepared.payload.prepared, Some((0, B256::repeat_byte(5))));
        assert_eq!(prepared.signer().unwrap(), veil_primitives::address_of(&key(2)));
    }

    #[test]
    fn garbage_and_unknown_codes_are_errors_not_panics() {
        assert_eq!(Message::decode(0x11, &[0xc0]), Err(MessageError::UnknownCode(0x11)));
        for code in [code::PROPOSAL, code::PREPARE, code::COMMIT, code::ROUND_CHANGE] {
            for bytes in [&[][..], &[0xc0], &[0xf8, 0xff], &[0x80], &[0xc3, 0xc1, 0xc0, 0x80]] {
                assert!(Message::decode(code, bytes).is_err(), "{code:#x} {bytes:?}");
            }
        }
    }

    proptest::proptest! {
        /// Whatever a peer sends, decoding answers a message or an error.
        #[test]
        fn arbitrary_bytes_never_panic(code in 0x10u8..0x17, bytes in proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..512)) {
            if let Ok(message) = Message::decode(code, &bytes) {
                let _ = message.signer();
            }
        }
    }
}
