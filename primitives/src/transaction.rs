//! The signed transaction Veil carries: an Ethereum envelope or a GoQuorum private transaction.

use alloy_consensus::{
    transaction::{from_eip155_value, RlpEcdsaDecodableTx, RlpEcdsaEncodableTx},
    SignableTransaction, Signed, TxEnvelope, TxLegacy,
};
use alloy_eips::eip2718::{Decodable2718, Eip2718Error, Encodable2718};
use alloy_primitives::{keccak256, Address, Bytes, Signature, TxKind, B256, U256};
use alloy_rlp::{Decodable, Encodable, Header};

/// `V` of a private transaction whose signature has y-parity 0.
pub const PRIVATE_V_EVEN: u64 = 37;
/// `V` of a private transaction whose signature has y-parity 1.
pub const PRIVATE_V_ODD: u64 = 38;

/// A signed transaction.
///
/// GoQuorum adds no transaction type for privacy: a legacy transaction is private when its `V`
/// is 37 or 38. Such a transaction is signed over the homestead signing hash (no chain id), and
/// its data is the 64-byte hash under which the transaction managers hold the real payload.
/// EIP-155 values that happen to be 0x37/0x38 (chain id 10) are ordinary public transactions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transaction {
    /// An ordinary Ethereum transaction.
    Public(TxEnvelope),
    /// A GoQuorum private transaction (legacy fields, `chain_id` always `None`).
    Private(Signed<TxLegacy>),
}

/// Why bytes could not be decoded into a [`Transaction`].
#[derive(Debug, thiserror::Error)]
pub enum TxDecodeError {
    /// The bytes are not valid RLP for a transaction.
    #[error("invalid transaction RLP: {0}")]
    Rlp(#[from] alloy_rlp::Error),
    /// The typed-envelope decoder refused the bytes.
    #[error("invalid transaction envelope: {0}")]
    Envelope(#[from] Eip2718Error),
    /// Bytes were left after the transaction.
    #[error("{0} trailing bytes after the transaction")]
    TrailingBytes(usize),
    /// The input was empty.
    #[error("empty transaction bytes")]
    Empty,
}

impl Transaction {
    /// Decodes the EIP-2718 form (what `eth_sendRawTransaction` takes), requiring that every
    /// byte is used.
    pub fn decode_2718_exact(bytes: &[u8]) -> Result<Self, TxDecodeError> {
        let mut buf = bytes;
        let first = *buf.first().ok_or(TxDecodeError::Empty)?;
        let tx = if first >= alloy_rlp::EMPTY_LIST_CODE {
            decode_legacy(&mut buf)?
        } else {
            Self::Public(TxEnvelope::decode_2718(&mut buf)?)
        };
        if !buf.is_empty() {
            return Err(TxDecodeError::TrailingBytes(buf.len()));
        }
        Ok(tx)
    }

    /// The EIP-2718 encoding (what `eth_sendRawTransaction` takes).
    pub fn encoded_2718(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encode_2718_len());
        self.encode_2718(&mut out);
        out
    }

    /// The transaction hash.
    pub fn hash(&self) -> B256 {
        match self {
            Self::Public(envelope) => *envelope.tx_hash(),
            Self::Private(signed) => *signed.hash(),
        }
    }

    /// Whether this is a GoQuorum private transaction (V = 37/38).
    pub fn is_private(&self) -> bool {
        matches!(self, Self::Private(_))
    }

    /// The hash the sender signed.
    pub fn signature_hash(&self) -> B256 {
        match self {
            Self::Public(envelope) => envelope.signature_hash(),
            Self::Private(signed) => signed.tx().signature_hash(),
        }
    }

    /// The signature.
    pub fn signature(&self) -> &Signature {
        match self {
            Self::Public(envelope) => envelope.signature(),
            Self::Private(signed) => signed.signature(),
        }
    }

    /// The `V` value as it appears on the wire for legacy transactions, or the y-parity (0/1)
    /// for typed ones.
    pub fn v(&self) -> u128 {
        match self {
            Self::Public(TxEnvelope::Legacy(signed)) => {
                alloy_consensus::transaction::to_eip155_value(
                    signed.signature().v(),
                    signed.tx().chain_id,
                )
            }
            Self::Public(envelope) => u128::from(envelope.signature().v()),
            Self::Private(signed) => u128::from(private_v(signed.signature())),
        }
    }

    /// The transaction's fields, through alloy's common accessor trait.
    pub fn fields(&self) -> &dyn alloy_consensus::Transaction {
        match self {
            Self::Public(envelope) => envelope,
            Self::Private(signed) => signed.tx(),
        }
    }

    /// The EIP-2718 type byte (0 for legacy and private transactions).
    pub fn tx_type(&self) -> u8 {
        match self {
            Self::Public(envelope) => envelope.tx_type() as u8,
            Self::Private(_) => 0,
        }
    }

    /// Nonce.
    pub fn nonce(&self) -> u64 {
        self.fields().nonce()
    }

    /// Gas limit.
    pub fn gas_limit(&self) -> u64 {
        self.fields().gas_limit()
    }

    /// Recipient, or create.
    pub fn kind(&self) -> TxKind {
        self.fields().kind()
    }

    /// The called address, `None` for contract creation.
    pub fn to(&self) -> Option<Address> {
        self.kind().to().copied()
    }

    /// Value transferred.
    pub fn value(&self) -> U256 {
        self.fields().value()
    }

    /// Call data or init code (for a private transaction: the 64-byte payload hash).
    pub fn input(&self) -> &Bytes {
        self.fields().input()
    }

    /// Chain id the signature commits to, if any.
    pub fn chain_id(&self) -> Option<u64> {
        self.fields().chain_id()
    }

    /// The most the sender pays per gas (gas price, or max fee for EIP-1559).
    pub fn max_fee_per_gas(&self) -> u128 {
        self.fields().max_fee_per_gas()
    }

    /// Size of the EIP-2718 encoding in bytes.
    pub fn encode_2718_len(&self) -> usize {
        match self {
            Self::Public(envelope) => envelope.encode_2718_len(),
            Self::Private(signed) => private_header(signed).length_with_payload(),
        }
    }

    /// Writes the EIP-2718 encoding.
    pub fn encode_2718(&self, out: &mut dyn alloy_rlp::BufMut) {
        match self {
            Self::Public(envelope) => envelope.encode_2718(out),
            Self::Private(signed) => encode_private(signed, out),
        }
    }
}

/// The network (block body) encoding: legacy and private transactions as RLP lists, typed ones
/// as an RLP string wrapping their EIP-2718 bytes.
impl Encodable for Transaction {
    fn encode(&self, out: &mut dyn alloy_rlp::BufMut) {
        match self {
            Self::Public(envelope) => envelope.encode(out),
            Self::Private(signed) => encode_private(signed, out),
        }
    }

    fn length(&self) -> usize {
        match self {
            Self::Public(envelope) => envelope.length(),
            Self::Private(signed) => private_header(signed).length_with_payload(),
        }
    }
}

impl Decodable for Transaction {
    /// Accepts only the canonical network form: a legacy or private transaction as a list, a
    /// typed one as an RLP string holding exactly its EIP-2718 bytes.
    fn decode(buf: &mut &[u8]) -> alloy_rlp::Result<Self> {
        let first = *buf.first().ok_or(alloy_rlp::Error::InputTooShort)?;
        if first >= alloy_rlp::EMPTY_LIST_CODE {
            return decode_legacy(buf);
        }
        let header = Header::decode(buf)?;
        if header.list {
            return Err(alloy_rlp::Error::UnexpectedList);
        }
        if buf.len() < header.payload_length {
            return Err(alloy_rlp::Error::InputTooShort);
        }
        let (mut payload, rest) = buf.split_at(header.payload_length);
        if payload.first().is_none_or(|b| *b >= alloy_rlp::EMPTY_LIST_CODE) {
            return Err(alloy_rlp::Error::Custom("typed transaction expected inside the string"));
        }
        let envelope = TxEnvelope::decode_2718(&mut payload)
            .map_err(|_| alloy_rlp::Error::Custom("invalid typed transaction"))?;
        if !payload.is_empty() {
            return Err(alloy_rlp::Error::Custom("trailing bytes inside a typed transaction"));
        }
        *buf = rest;
        Ok(Self::Public(envelope))
    }
}

impl From<TxEnvelope> for Transaction {
    fn from(envelope: TxEnvelope) -> Self {
        Self::Public(envelope)
    }
}

fn private_v(signature: &Signature) -> u64 {
    if signature.v() {
        PRIVATE_V_ODD
    } else {
        PRIVATE_V_EVEN
    }
}

fn private_header(signed: &Signed<TxLegacy>) -> Header {
    let signature = signed.signature();
    let payload_length = signed.tx().rlp_encoded_fields_length()
        + signature.rlp_rs_len()
        + private_v(signature).length();
    Header { list: true, payload_length }
}

fn encode_private(signed: &Signed<TxLegacy>, out: &mut dyn alloy_rlp::BufMut) {
    private_header(signed).encode(out);
    signed.tx().rlp_encode_fields(out);
    signed.signature().write_rlp_vrs(out, private_v(signed.signature()));
}

/// Decodes a legacy RLP list, telling private (V = 37/38) from public transactions.
fn decode_legacy(buf: &mut &[u8]) -> alloy_rlp::Result<Transaction> {
    let original = *buf;
    let header = Header::decode(buf)?;
    if !header.list {
        return Err(alloy_rlp::Error::UnexpectedString);
    }
    let remaining = buf.len();
    let mut tx = TxLegacy::rlp_decode_fields(buf)?;
    let v: u128 = Decodable::decode(buf)?;
    let r: U256 = Decodable::decode(buf)?;
    let s: U256 = Decodable::decode(buf)?;
    if remaining - buf.len() != header.payload_length {
        return Err(alloy_rlp::Error::ListLengthMismatch {
            expected: header.payload_length,
            got: remaining - buf.len(),
        });
    }
    let consumed = &original[..original.len() - buf.len()];
    let hash = keccak256(consumed);
    if v == u128::from(PRIVATE_V_EVEN) || v == u128::from(PRIVATE_V_ODD) {
        let signature = Signature::new(r, s, v == u128::from(PRIVATE_V_ODD));
        return Ok(Transaction::Private(Signed::new_unchecked(tx, signature, hash)));
    }
    let (parity, chain_id) =
        from_eip155_value(v).ok_or(alloy_rlp::Error::Custom("invalid legacy V value"))?;
    tx.chain_id = chain_id;
    let signature = Signature::new(r, s, parity);
    Ok(Transaction::Public(TxEnvelope::Legacy(Signed::new_unchecked(tx, signature, hash))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{address_of, sign_private_transaction, sign_transaction, RecoveredTx};
    use alloy_consensus::{TxEip1559, TxEip2930};
    use proptest::prelude::*;

    fn key() -> secp256k1::SecretKey {
        secp256k1::SecretKey::from_slice(&[0x11; 32]).unwrap()
    }

    fn legacy(chain_id: Option<u64>, input: Vec<u8>) -> TxLegacy {
        TxLegacy {
            chain_id,
            nonce: 3,
            gas_price: 0,
            gas_limit: 90_000,
            to: TxKind::Call(Address::repeat_byte(0x42)),
            value: U256::ZERO,
            input: input.into(),
        }
    }

    /// The last three RLP items of a legacy tx are V, R, S; R and S are 32-byte strings, so V
    /// sits right before the 0xa0-prefixed R.
    fn wire_v(raw: &[u8]) -> u8 {
        raw[raw.len() - 67]
    }

    #[test]
    fn private_transaction_carries_v_37_or_38_and_signs_without_chain_id() {
        let tx = sign_private_transaction(legacy(Some(10), vec![0xab; 64]), &key());
        let raw = tx.encoded_2718();
        assert!(matches!(wire_v(&raw), 0x25 | 0x26), "V on the wire was {:#x}", wire_v(&raw));
        let decoded = Transaction::decode_2718_exact(&raw).unwrap();
        assert!(decoded.is_private());
        assert_eq!(decoded.chain_id(), None);
        assert_eq!(decoded.hash(), keccak256(&raw));
        assert_eq!(decoded.input().len(), 64);
        // Homestead signing hash: RLP of the six fields, no chain id.
        let mut unsigned = Vec::new();
        let fields = legacy(None, vec![0xab; 64]);
        Header { list: true, payload_length: fields.rlp_encoded_fields_length() }
            .encode(&mut unsigned);
        fields.rlp_encode_fields(&mut unsigned);
        assert_eq!(decoded.signature_hash(), keccak256(&unsigned));
        assert_eq!(RecoveredTx::try_new(decoded).unwrap().sender(), address_of(&key()));
    }

    #[test]
    fn chain_10_eip155_v_0x37_0x38_is_public() {
        let tx = sign_transaction(legacy(Some(10), vec![]).into(), &key());
        let raw = tx.encoded_2718();
        assert!(matches!(wire_v(&raw), 0x37 | 0x38));
        let decoded = Transaction::decode_2718_exact(&raw).unwrap();
        assert!(!decoded.is_private());
        assert_eq!(decoded.chain_id(), Some(10));
        assert_eq!(RecoveredTx::try_new(decoded).unwrap().sender(), address_of(&key()));
    }

    #[test]
    fn pre_eip155_legacy_decodes_with_v_27_28() {
        let tx = sign_transaction(legacy(None, vec![1, 2, 3]).into(), &key());
        let raw = tx.encoded_2718();
        assert!(matches!(wire_v(&raw), 27 | 28));
        let decoded = Transaction::decode_2718_exact(&raw).unwrap();
        assert!(!decoded.is_private());
        assert_eq!(decoded.chain_id(), None);
    }

    #[test]
    fn typed_transactions_round_trip_in_2718_and_network_form() {
        let txs = [
            sign_transaction(
                TxEip2930 {
                    chain_id: 10,
                    nonce: 1,
                    gas_price: 0,
                    gas_limit: 50_000,
                    to: TxKind::Create,
                    value: U256::from(5),
                    access_list: Default::default(),
                    input: vec![0x60, 0x00].into(),
                }
                .into(),
                &key(),
            ),
            sign_transaction(
                TxEip1559 {
                    chain_id: 10,
                    nonce: 2,
                    gas_limit: 21_000,
                    max_fee_per_gas: 7,
                    max_priority_fee_per_gas: 1,
                    to: TxKind::Call(Address::repeat_byte(1)),
                    value: U256::from(9),
                    access_list: Default::default(),
                    input: Default::default(),
                }
                .into(),
                &key(),
            ),
            sign_private_transaction(legacy(None, vec![7; 64]), &key()),
        ];
        for tx in txs {
            let raw = tx.encoded_2718();
            assert_eq!(Transaction::decode_2718_exact(&raw).unwrap(), tx);
            let network = alloy_rlp::encode(&tx);
            assert_eq!(network.len(), tx.length());
            assert_eq!(Transaction::decode(&mut network.as_slice()).unwrap(), tx);
        }
    }

    #[test]
    fn malformed_bytes_are_errors_not_panics() {
        assert!(matches!(Transaction::decode_2718_exact(&[]), Err(TxDecodeError::Empty)));
        assert!(Transaction::decode_2718_exact(&[0xc0]).is_err());
        assert!(Transaction::decode_2718_exact(&[0x02, 0xc0]).is_err());
        let mut raw = sign_transaction(legacy(Some(1), vec![]).into(), &key()).encoded_2718();
        raw.push(0);
        assert!(matches!(
            Transaction::decode_2718_exact(&raw),
            Err(TxDecodeError::TrailingBytes(1))
        ));
    }

    /// Found by the `decode_transaction` fuzz target: a bare type-4 payload without the RLP
    /// string header was accepted in the network form and re-encoded differently.
    #[test]
    fn network_form_requires_the_string_header() {
        let bare = alloy_primitives::hex!(
            "04e1016f2f6f2f94044a2b2300325b8724403f3185323f80010001003300c0c0801757"
        );
        assert!(Transaction::decode(&mut bare.as_slice()).is_err());
    }

    proptest! {
        #[test]
        fn legacy_codec_round_trips(nonce in any::<u64>(), gas_price in any::<u64>(),
                                    gas in 21_000u64..30_000_000, value in any::<u128>(),
                                    input in proptest::collection::vec(any::<u8>(), 0..200),
                                    chain_id in proptest::option::of(1u64..100_000),
                                    private in any::<bool>()) {
            let tx = TxLegacy { chain_id, nonce, gas_price: gas_price.into(), gas_limit: gas,
                to: TxKind::Call(Address::repeat_byte(9)), value: U256::from(value),
                input: input.into() };
            let signed = if private { sign_private_transaction(tx, &key()) }
                else { sign_transaction(tx.into(), &key()) };
            let raw = signed.encoded_2718();
            let decoded = Transaction::decode_2718_exact(&raw).unwrap();
            prop_assert_eq!(decoded.is_private(), private);
            prop_assert_eq!(decoded.hash(), keccak256(&raw));
            prop_assert_eq!(decoded.encoded_2718(), raw);
            prop_assert_eq!(RecoveredTx::try_new(decoded).unwrap().sender(), address_of(&key()));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Transaction::decode_2718_exact(&bytes);
            let _ = Transaction::decode(&mut bytes.as_slice());
        }
    }
}
