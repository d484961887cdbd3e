//! The encoded payload and its versioned binary format (`docs/design/tm-payload.md`).
//!
//! ```text
//! offset   size    field
//! 0        4       magic "VEIL"
//! 4        1       format version (1: standard private; 2: with privacy metadata)
//! 5        32      sender public key
//! 37       24      payload nonce (XChaCha20-Poly1305)
//! 61       4       ciphertext length N, u32 big-endian
//! 65       N       ciphertext with its 16-byte tag; AAD = bytes 0..61 with version 1
//! 65+N     2       recipient box count M, u16 big-endian
//! 67+N     104×M   boxes: recipient key (32) | box nonce (24) | sealed master key (32 + 16 tag)
//! version 2 only, privacy metadata:
//!          1       privacy flag (1, 2 or 3)
//!          2+128×A affected contract transactions: count A (u16), then hash (64) | security hash (64)
//!          1+E     execution hash: length E (u8), bytes
//!          2+32×K  mandatory recipients: count K (u16), keys
//!          2+32×R  all recipients (private state validation): count R (u16), keys
//! ```
//! Nothing may follow. The metadata is outside the ciphertext's AAD, as in Tessera: a raw
//! payload is stored before its transaction's metadata is known, and its hash (the key) is
//! signed into the transaction by then.

use sha3::{Digest, Sha3_512};
use veil_primitives::{PayloadHash, PrivacyFlag, TmPublicKey};

/// The format version of a standard private payload (and of every payload's AAD).
pub const PAYLOAD_VERSION: u8 = 1;
/// The format version of a payload with privacy metadata.
pub const PRIVACY_PAYLOAD_VERSION: u8 = 2;
const MAGIC: &[u8; 4] = b"VEIL";
/// Length of the header that the payload ciphertext authenticates.
pub(crate) const HEADER_LEN: usize = 4 + 1 + 32 + 24;
const BOX_LEN: usize = 32 + 24 + 48;

/// The master key sealed for one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientBox {
    /// Whose box this is.
    pub recipient: TmPublicKey,
    /// The box's nonce.
    pub nonce: [u8; 24],
    /// The master key under the sender–recipient key, with its tag.
    pub sealed_key: [u8; 48],
}

/// An affected contract's creation payload (its ACOTH) and the proof that the sender could
/// open it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AffectedTransaction {
    /// The hash of the payload that created the contract.
    pub hash: PayloadHash,
    /// SHA3-512(this payload's ciphertext ‖ that payload's ciphertext ‖ its master key):
    /// only a party of that payload computes it.
    pub security_hash: [u8; 64],
}

/// What privacy enhancements add to a payload.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrivacyMetadata {
    /// Party protection, mandatory recipients or private state validation.
    pub flag: PrivacyFlag,
    /// The creation payloads of the contracts the transaction affects.
    pub affected: Vec<AffectedTransaction>,
    /// The sender's execution hash (private state validation), opaque to the TM.
    pub exec_hash: Vec<u8>,
    /// Keys every later transaction on the contract must include (mandatory recipients).
    pub mandatory: Vec<TmPublicKey>,
    /// Every party, the sender included (private state validation: each party checks later
    /// transactions against it).
    pub recipients: Vec<TmPublicKey>,
}

/// A private payload as stored and exchanged: ciphertext plus one box per recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedPayload {
    /// Who encrypted it.
    pub sender: TmPublicKey,
    /// Nonce of the payload ciphertext.
    pub nonce: [u8; 24],
    /// The payload under the master key, tag included.
    pub ciphertext: Vec<u8>,
    /// The recipients' boxes (a recipient's copy holds only its own).
    pub boxes: Vec<RecipientBox>,
    /// Privacy enhancements' metadata; `None` for standard private.
    pub privacy: Option<PrivacyMetadata>,
}

/// Why bytes are not an encoded payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadFormatError {
    /// Not a Veil payload.
    #[error("not a Veil payload (bad magic)")]
    Magic,
    /// A version this build does not read.
    #[error("unsupported payload format version {0}")]
    Version(u8),
    /// Too short, too long, or lengths that do not add up.
    #[error("malformed payload: {0}")]
    Length(&'static str),
}

fn take<'a>(
    bytes: &mut &'a [u8],
    n: usize,
    what: &'static str,
) -> Result<&'a [u8], PayloadFormatError> {
    if bytes.len() < n {
        return Err(PayloadFormatError::Length(what));
    }
    let (head, tail) = bytes.split_at(n);
    *bytes = tail;
    Ok(head)
}

fn array<const N: usize>(
    bytes: &mut &[u8],
    what: &'static str,
) -> Result<[u8; N], PayloadFormatError> {
    let mut out = [0u8; N];
    out.copy_from_slice(take(bytes, N, what)?);
    Ok(out)
}

impl EncodedPayload {
    /// The storage key: SHA3-512 of the ciphertext.
    pub fn hash(&self) -> PayloadHash {
        PayloadHash(Sha3_512::digest(&self.ciphertext).into())
    }

    /// The privacy flag: standard private without metadata.
    pub fn flag(&self) -> PrivacyFlag {
        self.privacy.as_ref().map_or(PrivacyFlag::StandardPrivate, |p| p.flag)
    }

    /// The header bytes the payload ciphertext authenticates (always with version 1).
    pub(crate) fn header(sender: &TmPublicKey, nonce: &[u8; 24]) -> [u8; HEADER_LEN] {
        let mut header = [0u8; HEADER_LEN];
        header[..4].copy_from_slice(MAGIC);
        header[4] = PAYLOAD_VERSION;
        header[5..37].copy_from_slice(sender.as_bytes());
        header[37..].copy_from_slice(nonce);
        header
    }

    /// The copy for some recipients: the same ciphertext with only their boxes (`None` when
    /// it has none of theirs).
    pub fn for_recipients(&self, recipients: &[TmPublicKey]) -> Option<EncodedPayload> {
        let boxes: Vec<RecipientBox> =
            self.boxes.iter().filter(|b| recipients.contains(&b.recipient)).cloned().collect();
        (!boxes.is_empty()).then(|| EncodedPayload { boxes, ..self.clone() })
    }

    /// This copy with the boxes of `other` (the same payload) it lacks.
    pub fn merge_boxes(&mut self, other: EncodedPayload) {
        for b in other.boxes {
            if !self.boxes.iter().any(|own| own.recipient == b.recipient) {
                self.boxes.push(b);
            }
        }
    }

    /// The recipients this copy has boxes for.
    pub fn recipients(&self) -> Vec<TmPublicKey> {
        self.boxes.iter().map(|b| b.recipient).collect()
    }

    /// The binary form.
    pub fn encode(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(HEADER_LEN + 6 + self.ciphertext.len() + BOX_LEN * self.boxes.len());
        let mut header = Self::header(&self.sender, &self.nonce);
        if self.privacy.is_some() {
            header[4] = PRIVACY_PAYLOAD_VERSION;
        }
        out.extend_from_slice(&header);
        // Lengths are bounded by the TM's payload limit and recipient count checks.
        out.extend_from_slice(&(self.ciphertext.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.ciphertext);
        out.extend_from_slice(&(self.boxes.len() as u16).to_be_bytes());
        for b in &self.boxes {
            out.extend_from_slice(b.recipient.as_bytes());
            out.extend_from_slice(&b.nonce);
            out.extend_from_slice(&b.sealed_key);
        }
        if let Some(privacy) = &self.privacy {
            privacy.encode(&mut out);
        }
        out
    }

    /// Parses the binary form; every length is checked, nothing may trail.
    pub fn decode(mut bytes: &[u8]) -> Result<Self, PayloadFormatError> {
        let input = &mut bytes;
        if take(input, 4, "magic")? != MAGIC {
            return Err(PayloadFormatError::Magic);
        }
        let version = take(input, 1, "version")?[0];
        if version != PAYLOAD_VERSION && version != PRIVACY_PAYLOAD_VERSION {
            return Err(PayloadFormatError::Version(version));
        }
        let sender = TmPublicKey(array(input, "sender key")?);
        let nonce = array(input, "payload nonce")?;
        let len = u32::from_be_bytes(array(input, "ciphertext length")?) as usize;
        let ciphertext = take(input, len, "ciphertext")?.to_vec();
        let count = u16::from_be_bytes(array(input, "box count")?) as usize;
        if input.len() < count * BOX_LEN
            || (version == PAYLOAD_VERSION && input.len() != count * BOX_LEN)
        {
            return Err(PayloadFormatError::Length("box section length"));
        }
        let mut boxes = Vec::with_capacity(count);
        for _ in 0..count {
            boxes.push(RecipientBox {
                recipient: TmPublicKey(array(input, "box recipient")?),
                nonce: array(input, "box nonce")?,
                sealed_key: array(input, "sealed key")?,
            });
        }
        let privacy = match version {
            PRIVACY_PAYLOAD_VERSION => Some(PrivacyMetadata::decode(input)?),
            _ => None,
        };
        if !input.is_empty() {
            return Err(PayloadFormatError::Length("bytes after the last field"));
        }
        Ok(Self { sender, nonce, ciphertext, boxes, privacy })
    }
}

fn keys(input: &mut &[u8], what: &'static str) -> Result<Vec<TmPublicKey>, PayloadFormatError> {
    let count = u16::from_be_bytes(array(input, what)?) as usize;
    if input.len() < count * 32 {
        return Err(PayloadFormatError::Length(what));
    }
    (0..count).map(|_| array(input, what).map(TmPublicKey)).collect()
}

fn put_keys(out: &mut Vec<u8>, keys: &[TmPublicKey]) {
    out.extend_from_slice(&(keys.len() as u16).to_be_bytes());
    for key in keys {
        out.extend_from_slice(key.as_bytes());
    }
}

impl PrivacyMetadata {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.flag.number());
        out.extend_from_slice(&(self.affected.len() as u16).to_be_bytes());
        for a in &self.affected {
            out.extend_from_slice(a.hash.as_bytes());
            out.extend_from_slice(&a.security_hash);
        }
        // The TM refuses execution hashes over 255 bytes before building metadata.
        out.push(self.exec_hash.len() as u8);
        out.extend_from_slice(&self.exec_hash);
        put_keys(out, &self.mandatory);
        put_keys(out, &self.recipients);
    }

    fn decode(input: &mut &[u8]) -> Result<Self, PayloadFormatError> {
        let flag = PrivacyFlag::from_number(u64::from(take(input, 1, "privacy flag")?[0]))
            .ok()
            .filter(|flag| flag.is_enhanced())
            .ok_or(PayloadFormatError::Length("privacy flag"))?;
        let count = u16::from_be_bytes(array(input, "affected count")?) as usize;
        if input.len() < count * 128 {
            return Err(PayloadFormatError::Length("affected transactions"));
        }
        let affected = (0..count)
            .map(|_| {
                Ok(AffectedTransaction {
                    hash: PayloadHash(array(input, "affected hash")?),
                    security_hash: array(input, "security hash")?,
                })
            })
            .collect::<Result<_, PayloadFormatError>>()?;
        let len = take(input, 1, "execution hash length")?[0] as usize;
        let exec_hash = take(input, len, "execution hash")?.to_vec();
        let mandatory = keys(input, "mandatory recipients")?;
        let recipients = keys(input, "recipients")?;
        Ok(Self { flag, affected, exec_hash, mandatory, recipients })
    }
}
