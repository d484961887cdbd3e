//! The encoded payload and its versioned binary format (`docs/design/tm-payload.md`).
//!
//! ```text
//! offset   size    field
//! 0        4       magic "VEIL"
//! 4        1       format version (1)
//! 5        32      sender public key
//! 37       24      payload nonce (XChaCha20-Poly1305)
//! 61       4       ciphertext length N, u32 big-endian
//! 65       N       ciphertext with its 16-byte tag; AAD = bytes 0..61
//! 65+N     2       recipient box count M, u16 big-endian
//! 67+N     104×M   boxes: recipient key (32) | box nonce (24) | sealed master key (32 + 16 tag)
//! ```
//! Nothing may follow the last box.

use sha3::{Digest, Sha3_512};
use veil_primitives::{PayloadHash, TmPublicKey};

/// The current format version.
pub const PAYLOAD_VERSION: u8 = 1;
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

    /// The header bytes the payload ciphertext authenticates.
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
        out.extend_from_slice(&Self::header(&self.sender, &self.nonce));
        // Lengths are bounded by the TM's payload limit and recipient count checks.
        out.extend_from_slice(&(self.ciphertext.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.ciphertext);
        out.extend_from_slice(&(self.boxes.len() as u16).to_be_bytes());
        for b in &self.boxes {
            out.extend_from_slice(b.recipient.as_bytes());
            out.extend_from_slice(&b.nonce);
            out.extend_from_slice(&b.sealed_key);
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
        if version != PAYLOAD_VERSION {
            return Err(PayloadFormatError::Version(version));
        }
        let sender = TmPublicKey(array(input, "sender key")?);
        let nonce = array(input, "payload nonce")?;
        let len = u32::from_be_bytes(array(input, "ciphertext length")?) as usize;
        let ciphertext = take(input, len, "ciphertext")?.to_vec();
        let count = u16::from_be_bytes(array(input, "box count")?) as usize;
        if input.len() != count * BOX_LEN {
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
        Ok(Self { sender, nonce, ciphertext, boxes })
    }
}
