//! Request and response bodies, Tessera's shapes.

use base64::{engine::general_purpose::STANDARD, Engine};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use veil_primitives::{PayloadHash, TmPublicKey};

/// The distribution version `GET /version` reports.
pub const TM_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The API versions `GET /version/api` lists (Tessera's numbering).
pub const API_VERSIONS: [&str; 3] = ["1.0", "2.0", "2.1"];
/// What `GET /upcheck` answers.
pub const UPCHECK: &str = "I'm up!";

/// Bytes as standard base64 in JSON.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Base64Bytes(pub Vec<u8>);

impl std::fmt::Debug for Base64Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Payload bytes may be plaintext: never print them.
        write!(f, "Base64Bytes(<{} bytes>)", self.0.len())
    }
}

impl Serialize for Base64Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Base64Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map(Base64Bytes)
            .map_err(|e| serde::de::Error::custom(format!("payload is not base64: {e}")))
    }
}

/// `POST /send`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendRequest {
    /// The plaintext.
    pub payload: Base64Bytes,
    /// The sender key (default: the TM's first key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<TmPublicKey>,
    /// The recipients.
    #[serde(default)]
    pub to: Vec<TmPublicKey>,
    /// Privacy enhancements' fields.
    #[serde(flatten)]
    pub privacy: PrivacyFields,
}

/// The privacy-enhancement fields of `/send` and `/sendsignedtx` (GoQuorum's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivacyFields {
    /// GoQuorum's privacy flag: 0 standard private, 1 party protection, 2 mandatory
    /// recipients, 3 private state validation (1–3 need privacy enhancements).
    #[serde(default)]
    pub privacy_flag: u8,
    /// The creation payloads (ACOTHs) of the contracts the transaction affects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected_contract_transactions: Vec<PayloadHash>,
    /// The node's execution hash (private state validation).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub exec_hash: String,
    /// Keys every later transaction on the contract must include (flag 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mandatory_recipients: Vec<TmPublicKey>,
}

/// The answer to `POST /send` and `POST /sendsignedtx`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendResponse {
    /// The payload's key.
    pub key: PayloadHash,
    /// The local keys that are parties.
    #[serde(default)]
    pub managed_parties: Vec<TmPublicKey>,
    /// The sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_key: Option<TmPublicKey>,
}

/// `POST /storeraw`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreRawRequest {
    /// The plaintext.
    pub payload: Base64Bytes,
    /// The sender key (default: the TM's first key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<TmPublicKey>,
}

/// The answer to `POST /storeraw`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreRawResponse {
    /// The payload's key.
    pub key: PayloadHash,
}

/// `POST /sendsignedtx` (JSON form).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendSignedTxRequest {
    /// The key `storeraw` returned.
    pub hash: PayloadHash,
    /// The recipients.
    #[serde(default)]
    pub to: Vec<TmPublicKey>,
    /// Privacy enhancements' fields.
    #[serde(flatten)]
    pub privacy: PrivacyFields,
}

/// The answer to `GET /transaction/{key}` and `GET /receive`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiveResponse {
    /// The plaintext.
    pub payload: Base64Bytes,
    /// The privacy flag it was sent with.
    pub privacy_flag: u8,
    /// The affected contracts' creation payloads that this TM confirmed.
    pub affected_contract_transactions: Vec<PayloadHash>,
    /// The sender's execution hash (private state validation), else empty.
    pub exec_hash: String,
    /// The local keys that are parties.
    pub managed_parties: Vec<TmPublicKey>,
    /// Who sent it.
    pub sender_key: TmPublicKey,
}

/// Veil's `GET /features` on the Q2T API: the TM's `features` switches, by Tessera's names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Features {
    /// Privacy enhancements (privacy flags 1–3).
    pub enable_privacy_enhancements: bool,
    /// Multiple private states (not supported: always false).
    pub enable_multiple_private_states: bool,
}

/// Veil's `POST /receive/batch` (Tessera has none): several payloads in one request, each
/// read as this TM's first managed party key, as `GET /transaction/{key}` reads it. A node
/// asks for every private transaction it sees; one request for many saves a request's
/// overhead per payload on both sides.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiveBatchRequest {
    /// The payloads' keys, at most [`RECEIVE_BATCH_MAX`].
    pub keys: Vec<PayloadHash>,
}

/// The answer to [`ReceiveBatchRequest`]: for each key, in order, the payload, or `null`
/// where this TM is not a party (what a 404 says for one key). Once the plaintexts reach
/// [`RECEIVE_BATCH_BYTES`] the TM stops: the answer covers the first keys (at least one),
/// and the client asks again for the rest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiveBatchResponse {
    /// One entry per key asked.
    pub payloads: Vec<Option<ReceiveResponse>>,
}

/// Most keys one `POST /receive/batch` may ask for (more: 400).
pub const RECEIVE_BATCH_MAX: usize = 256;

/// The plaintext bytes after which a batch answer stops (payloads may be 16 MiB each).
pub const RECEIVE_BATCH_BYTES: usize = 4 << 20;

/// The legacy `GET /receive` body.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiveRequest {
    /// The payload's key.
    pub key: PayloadHash,
    /// Which local key to read it as.
    #[serde(default)]
    pub to: Option<TmPublicKey>,
}

/// `POST /resend`'s type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ResendType {
    /// Push every payload `publicKey` is party to back to its TM.
    All,
    /// Return one payload's copy for `publicKey`.
    Individual,
}

/// `POST /resend`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResendRequest {
    /// ALL or INDIVIDUAL.
    #[serde(rename = "type")]
    pub kind: ResendType,
    /// Whose payloads.
    pub public_key: TmPublicKey,
    /// Which payload (INDIVIDUAL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PayloadHash>,
}

/// The answer to `POST /resend` with type ALL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResendResponse {
    /// How many payloads were pushed back.
    pub total: u64,
}

/// A peer URL in party info.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PeerUrl {
    /// The peer's P2P URL.
    pub url: String,
}

/// A key and the URL of the TM that holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyUrl {
    /// The public key.
    pub key: TmPublicKey,
    /// Its TM's P2P URL.
    pub url: String,
}

/// What a TM knows of the network (`GET /partyinfo`, and the body of `POST /partyinfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyInfo {
    /// The TM's own P2P URL.
    pub url: String,
    /// The peers it knows.
    pub peers: Vec<PeerUrl>,
    /// Keys and their TMs.
    pub keys: Vec<KeyUrl>,
}

/// A key in `GET /keys` and `GET /partyinfo/keys`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEntry {
    /// The public key.
    pub key: TmPublicKey,
}

/// `GET /keys` and `GET /partyinfo/keys`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysResponse {
    /// The keys.
    pub keys: Vec<KeyEntry>,
}
