//! [`PeerClient`]: signed HTTP(S) calls to other TMs' P2P APIs, whose answers must be signed
//! by the TM expected to answer. One connection pool per peer, so that in TLS mode each
//! peer's certificate is checked against what is known of that peer.

use crate::{
    auth::{
        signed::{now_ms, verify_response, AnswerTo, RequestSignature},
        Identity, IdentityKey,
    },
    tls::ClientTls,
};
use parking_lot::Mutex;
use std::{collections::HashMap, net::IpAddr, sync::Arc, time::Duration};
use veil_tm_api::{PartyInfo, ResendRequest, ResendResponse};

/// How long a peer may take to answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle pooled connections are closed before a peer's server would close them (its
/// `HEADER_READ_TIMEOUT` also bounds idle keep-alive connections), so a request never starts
/// on a connection the server is closing.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(5);

/// Calls to peers.
pub struct PeerClient {
    identity: Arc<Identity>,
    local_address: Option<IpAddr>,
    tls: Option<Arc<ClientTls>>,
    clients: Mutex<HashMap<String, reqwest::Client>>,
}

impl std::fmt::Debug for PeerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerClient")
            .field("local_address", &self.local_address)
            .finish_non_exhaustive()
    }
}

/// A verified answer: who signed it, when our request was signed (unix ms), and the body.
#[derive(Debug)]
pub struct Answer {
    /// The answering TM's identity.
    pub identity: IdentityKey,
    /// When we sent the request (unix ms).
    pub signed_ms: u64,
    /// The body.
    pub body: bytes::Bytes,
}

impl PeerClient {
    /// A client signing as `identity`, whose connections leave from `local_address` (so
    /// whitelists see our own P2P address) and, with `tls`, speak TLS as configured.
    pub fn new(
        identity: Arc<Identity>,
        local_address: Option<IpAddr>,
        tls: Option<Arc<ClientTls>>,
    ) -> Self {
        Self { identity, local_address, tls, clients: Mutex::default() }
    }

    fn client(&self, url: &str) -> Result<reqwest::Client, String> {
        let authority = authority(url);
        if let Some(client) = self.clients.lock().get(&authority) {
            return Ok(client.clone());
        }
        let mut builder = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .tcp_nodelay(true)
            .local_address(self.local_address);
        if let Some(tls) = &self.tls {
            builder = builder.use_preconfigured_tls(tls.config_for(&authority)?);
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        self.clients.lock().insert(authority, client.clone());
        Ok(client)
    }

    /// Posts a request (signed by our identity when `signed`); a success must be signed by
    /// the answering TM (by `expected`, when given).
    async fn post(
        &self,
        url: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        signed: bool,
        expected: Option<IdentityKey>,
    ) -> Result<Answer, String> {
        let mut request =
            self.client(url)?.post(format!("{url}{path}")).header("content-type", content_type);
        let (answer_to, signed_ms) = if signed {
            let signature = RequestSignature::sign(&self.identity, "POST", path, &body);
            for (name, value) in signature.headers() {
                request = request.header(name, value);
            }
            (AnswerTo::new(signature.nonce, &body), signature.timestamp_ms)
        } else {
            let to = AnswerTo::new(rand::random(), &body);
            let (name, value) = to.header();
            request = request.header(name, value);
            (to, now_ms())
        };
        let response = request.body(body).send().await.map_err(|e| describe(&e))?;
        let (status, headers) = (response.status(), response.headers().clone());
        let body = response.bytes().await.map_err(|e| describe(&e))?;
        if !status.is_success() {
            return Err(format!("{status}: {}", String::from_utf8_lossy(&body)));
        }
        let identity = verify_response(&headers, &answer_to, status.as_u16(), &body, expected)
            .map_err(|e| format!("{url} answered {status} without a valid signature: {e}"))?;
        Ok(Answer { identity, signed_ms, body })
    }

    /// `POST /push`: stores a copy of a payload at the peer, which must answer as `owner`.
    pub async fn push(
        &self,
        url: &str,
        encoded: Vec<u8>,
        owner: IdentityKey,
    ) -> Result<(), String> {
        self.post(url, "/push", "application/octet-stream", encoded, false, Some(owner))
            .await
            .map(drop)
    }

    /// `POST /partyinfo`: tells the peer what we know; answers who it is, when we asked, and
    /// what it knows.
    pub async fn party_info(
        &self,
        url: &str,
        ours: &PartyInfo,
    ) -> Result<(IdentityKey, u64, PartyInfo), String> {
        let body = serde_json::to_vec(ours).map_err(|e| e.to_string())?;
        let answer = self.post(url, "/partyinfo", "application/json", body, true, None).await?;
        let info = serde_json::from_slice(&answer.body).map_err(|e| e.to_string())?;
        Ok((answer.identity, answer.signed_ms, info))
    }

    /// `POST /partyinfo/validate`: asks the peer, which must answer as `claimant`, to open a
    /// key-ownership challenge; answers the plaintext and when we asked.
    pub async fn validate(
        &self,
        url: &str,
        challenge: Vec<u8>,
        claimant: IdentityKey,
    ) -> Result<(Vec<u8>, u64), String> {
        let answer = self
            .post(
                url,
                "/partyinfo/validate",
                "application/octet-stream",
                challenge,
                true,
                Some(claimant),
            )
            .await?;
        Ok((answer.body.to_vec(), answer.signed_ms))
    }

    /// `POST /resend`.
    pub async fn resend(
        &self,
        url: &str,
        request: &ResendRequest,
    ) -> Result<ResendResponse, String> {
        let body = serde_json::to_vec(request).map_err(|e| e.to_string())?;
        let answer = self.post(url, "/resend", "application/json", body, true, None).await?;
        serde_json::from_slice(&answer.body).map_err(|e| e.to_string())
    }
}

/// `host:port` of a URL.
fn authority(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest).to_string()
}

/// reqwest's error with its causes (the TLS reason is in the chain).
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
