//! The remote enclave: `veil-tm enclave` serves an in-process [`LocalEnclave`] over HTTP (or a
//! unix socket), and the TM's [`RemoteEnclave`] implements [`Enclave`] by calling it, so the TM
//! process never holds a private key.
//!
//! | request | body | answer |
//! |---|---|---|
//! | `GET /upcheck` | — | `I'm up!` |
//! | `GET /public` | — | JSON array of base64 keys, the default first |
//! | `POST /encrypt` | JSON `{data, senderKey, recipientPublicKeys}` | encoded payload (octets) |
//! | `POST /unencrypt` | JSON `{data: encoded payload, providedKey}` | plaintext (octets) |
//! | `POST /addRecipient` | JSON `{data: encoded payload, recipientPublicKeys}` | encoded payload |
//! | `POST /securityHash` | JSON `{cipherText, affected: encoded payload, providedKey}` | 64 octets |
//!
//! Errors answer 400 (bad input), 404 (not a recipient) or 409 (an enclave refusal) with the
//! enclave's message; the client turns them back into [`EnclaveError`]s.
//!
//! Every `POST` must be signed by the identity of a TM the enclave's configuration lists
//! (`servedIdentities`; see `auth::signed`): an unsigned call is a 401, another TM's a 403.
//! Signatures authenticate the TM without a PKI, with the key it already has; they do not hide
//! the plaintext on the wire, so an enclave on another host is served over `https://` with an
//! `sslConfig` (Tessera's TLS settings) on both sides.

use crate::{
    auth::{require_signed, signed::RequestSignature, Authenticator, Identity, IdentityKey},
    tls::ClientTls,
};
use axum::middleware;
use axum::{
    body::Bytes,
    extract::State,
    http::StatusCode,
    response::IntoResponse,
    routing::{get, post},
    Json, Router,
};
use serde::{Deserialize, Serialize};
use std::{collections::HashSet, sync::Arc, time::Duration};
use veil_enclave::{Enclave, EnclaveError, EncodedPayload, LocalEnclave, TmPublicKey};
use veil_tm_api::{Base64Bytes, UPCHECK};
use zeroize::Zeroizing;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EncryptRequest {
    data: Base64Bytes,
    sender_key: TmPublicKey,
    recipient_public_keys: Vec<TmPublicKey>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UnencryptRequest {
    data: Base64Bytes,
    provided_key: TmPublicKey,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddRecipientRequest {
    data: Base64Bytes,
    recipient_public_keys: Vec<TmPublicKey>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecurityHashRequest {
    cipher_text: Base64Bytes,
    affected: Base64Bytes,
    provided_key: TmPublicKey,
}

struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> axum::response::Response {
        (self.0, self.1).into_response()
    }
}

impl From<EnclaveError> for Refusal {
    fn from(e: EnclaveError) -> Self {
        let status = match e {
            EnclaveError::NotARecipient(_) => StatusCode::NOT_FOUND,
            _ => StatusCode::CONFLICT,
        };
        Refusal(status, e.to_string())
    }
}

fn decode(data: &Base64Bytes) -> Result<EncodedPayload, Refusal> {
    EncodedPayload::decode(&data.0).map_err(|e| Refusal(StatusCode::BAD_REQUEST, e.to_string()))
}

/// The largest request body the enclave reads.
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// The enclave server's routes; its `POST`s serve only the `served` TMs.
pub fn router(enclave: Arc<LocalEnclave>, served: HashSet<IdentityKey>) -> Router {
    let authenticator = Authenticator::new(None, BODY_LIMIT, Some(served));
    let signed = Router::new()
        .route(
            "/encrypt",
            post(|State(e): State<Arc<LocalEnclave>>, Json(r): Json<EncryptRequest>| async move {
                let payload = e.encrypt(&r.sender_key, &r.data.0, &r.recipient_public_keys)?;
                Ok::<_, Refusal>(payload.encode())
            }),
        )
        .route(
            "/unencrypt",
            post(|State(e): State<Arc<LocalEnclave>>, Json(r): Json<UnencryptRequest>| async move {
                let plaintext = e.decrypt(&decode(&r.data)?, &r.provided_key)?;
                Ok::<_, Refusal>(Bytes::copy_from_slice(&plaintext))
            }),
        )
        .route(
            "/addRecipient",
            post(|State(e): State<Arc<LocalEnclave>>, Json(r): Json<AddRecipientRequest>| async move {
                let payload = e.add_recipients(&decode(&r.data)?, &r.recipient_public_keys)?;
                Ok::<_, Refusal>(payload.encode())
            }),
        )
        .route(
            "/securityHash",
            post(|State(e): State<Arc<LocalEnclave>>, Json(r): Json<SecurityHashRequest>| async move {
                let hash = e.security_hash(&r.cipher_text.0, &decode(&r.affected)?, &r.provided_key)?;
                Ok::<_, Refusal>(hash.to_vec())
            }),
        )
        .layer(middleware::from_fn_with_state(authenticator, require_signed))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT));
    Router::new()
        .route("/upcheck", get(|| async { UPCHECK }))
        .route(
            "/public",
            get(|State(e): State<Arc<LocalEnclave>>| async move { Json(e.public_keys()) }),
        )
        .merge(signed)
        .with_state(enclave)
}

/// An [`Enclave`] in another process. Its calls block: run them off the async workers.
pub struct RemoteEnclave {
    url: String,
    identity: Arc<Identity>,
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
    keys: Vec<TmPublicKey>,
}

impl std::fmt::Debug for RemoteEnclave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteEnclave").field("url", &self.url).field("keys", &self.keys).finish()
    }
}

impl RemoteEnclave {
    /// Connects to the enclave at `url` (`http://host:port`, or `https://` with `tls`) as the
    /// TM `identity`, and reads its public keys.
    pub async fn connect(
        url: &str,
        identity: Arc<Identity>,
        tls: Option<&ClientTls>,
    ) -> Result<Self, EnclaveError> {
        let url = url.trim_end_matches('/').to_string();
        let mut builder = reqwest::Client::builder().pool_idle_timeout(Duration::from_secs(5));
        if let Some(tls) = tls {
            let authority = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
            builder = builder
                .use_preconfigured_tls(tls.config_for(authority).map_err(EnclaveError::Remote)?);
        }
        let client = builder.build().map_err(|e| EnclaveError::Remote(format!("{url}: {e}")))?;
        let keys: Vec<TmPublicKey> = client
            .get(format!("{url}/public"))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| EnclaveError::Remote(format!("{url}: {e}")))?
            .json()
            .await
            .map_err(|e| EnclaveError::Remote(format!("{url}/public: {e}")))?;
        if keys.is_empty() {
            return Err(EnclaveError::Remote(format!("{url} holds no keys")));
        }
        Ok(Self { url, identity, client, runtime: tokio::runtime::Handle::current(), keys })
    }

    fn call(&self, path: &str, body: &impl Serialize) -> Result<Vec<u8>, EnclaveError> {
        let body = Zeroizing::new(
            serde_json::to_vec(body).map_err(|e| EnclaveError::Remote(e.to_string()))?,
        );
        let signed = RequestSignature::sign(&self.identity, "POST", path, &body);
        let mut request = self
            .client
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body.to_vec());
        for (name, value) in signed.headers() {
            request = request.header(name, value);
        }
        self.runtime.block_on(async {
            let response = request
                .send()
                .await
                .map_err(|e| EnclaveError::Remote(format!("{}: {e}", self.url)))?;
            let status = response.status();
            let bytes = response
                .bytes()
                .await
                .map_err(|e| EnclaveError::Remote(format!("{}: {e}", self.url)))?;
            match status {
                s if s.is_success() => Ok(bytes.to_vec()),
                StatusCode::NOT_FOUND => Err(EnclaveError::NotARecipient(
                    String::from_utf8_lossy(&bytes)
                        .split_whitespace()
                        .next()
                        .and_then(|key| key.parse().ok())
                        .unwrap_or(TmPublicKey([0; 32])),
                )),
                _ => Err(EnclaveError::Remote(String::from_utf8_lossy(&bytes).into())),
            }
        })
    }

    fn payload(&self, path: &str, body: &impl Serialize) -> Result<EncodedPayload, EnclaveError> {
        let bytes = self.call(path, body)?;
        EncodedPayload::decode(&bytes).map_err(|e| EnclaveError::Remote(format!("{path}: {e}")))
    }
}

impl Enclave for RemoteEnclave {
    fn default_public_key(&self) -> TmPublicKey {
        self.keys[0]
    }

    fn public_keys(&self) -> Vec<TmPublicKey> {
        self.keys.clone()
    }

    fn encrypt(
        &self,
        sender: &TmPublicKey,
        plaintext: &[u8],
        recipients: &[TmPublicKey],
    ) -> Result<EncodedPayload, EnclaveError> {
        let request = EncryptRequest {
            data: Base64Bytes(plaintext.to_vec()),
            sender_key: *sender,
            recipient_public_keys: recipients.to_vec(),
        };
        let result = self.payload("/encrypt", &request);
        let mut plaintext_copy = request.data.0;
        zeroize::Zeroize::zeroize(&mut plaintext_copy);
        result
    }

    fn decrypt(
        &self,
        payload: &EncodedPayload,
        key: &TmPublicKey,
    ) -> Result<Zeroizing<Vec<u8>>, EnclaveError> {
        let request = UnencryptRequest { data: Base64Bytes(payload.encode()), provided_key: *key };
        self.call("/unencrypt", &request).map(Zeroizing::new)
    }

    fn add_recipients(
        &self,
        payload: &EncodedPayload,
        recipients: &[TmPublicKey],
    ) -> Result<EncodedPayload, EnclaveError> {
        let request = AddRecipientRequest {
            data: Base64Bytes(payload.encode()),
            recipient_public_keys: recipients.to_vec(),
        };
        self.payload("/addRecipient", &request)
    }

    fn security_hash(
        &self,
        ciphertext: &[u8],
        affected: &EncodedPayload,
        key: &TmPublicKey,
    ) -> Result<[u8; 64], EnclaveError> {
        let request = SecurityHashRequest {
            cipher_text: Base64Bytes(ciphertext.to_vec()),
            affected: Base64Bytes(affected.encode()),
            provided_key: *key,
        };
        let bytes = self.call("/securityHash", &request)?;
        <[u8; 64]>::try_from(bytes.as_slice()).map_err(|_| {
            EnclaveError::Remote(format!("/securityHash: {} bytes, want 64", bytes.len()))
        })
    }
}
