//! [`PeerClient`]: signed HTTP(S) calls to other TMs' P2P APIs, whose answers must be signed
//! by the TM expected to answer. One connection pool per peer, so that in TLS mode each
//! peer's certificate is checked against what is known of that peer.

use crate::{
    auth::{
        session::{Opening, SessionKey, Welcome, MAC_HEADER, SESSION_HEADER, SESSION_LIFETIME},
        signed::{now_ms, verify_response, AnswerTo, RequestSignature},
        Identity, IdentityKey,
    },
    tls::ClientTls,
};
use parking_lot::Mutex;
use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Arc,
    time::{Duration, Instant},
};
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
    sessions: Mutex<HashMap<String, HeldSession>>,
}

const JSON: &str = "application/json";
const OCTETS: &str = "application/octet-stream";

/// One request to a peer.
struct Call<'a> {
    path: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    /// Signed by our identity (else it carries only a nonce).
    signed: bool,
    /// Who must answer.
    expected: Option<IdentityKey>,
    /// The session whose MAC may answer it.
    session: Option<&'a SessionKey>,
}

impl Call<'_> {
    fn signed(
        path: &'static str,
        content_type: &'static str,
        body: Vec<u8>,
        expected: Option<IdentityKey>,
    ) -> Self {
        Self { path, content_type, body, signed: true, expected, session: None }
    }
}

/// A session this TM opened with a peer.
struct HeldSession {
    key: SessionKey,
    peer: IdentityKey,
    opened: Instant,
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
        Self { identity, local_address, tls, clients: Mutex::default(), sessions: Mutex::default() }
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

    /// Posts `call`; a success must be signed by the answering TM (by `call.expected`, when
    /// given), or MAC'd in the call's session.
    async fn post(&self, url: &str, call: Call<'_>) -> Result<Answer, String> {
        let Call { path, content_type, body, signed, expected, session } = call;
        let mut request =
            self.client(url)?.post(format!("{url}{path}")).header("content-type", content_type);
        if let Some(session) = session {
            request = request.header(SESSION_HEADER, session.header());
        }
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
        let mac = headers.get(MAC_HEADER).and_then(|v| v.to_str().ok());
        let identity = match (session, expected, mac) {
            (Some(session), Some(peer), Some(mac)) => {
                session
                    .verify(&answer_to, status.as_u16(), &body, mac)
                    .map_err(|e| format!("{url} answered {status} with a bad MAC: {e}"))?;
                peer
            }
            _ => {
                if session.is_some() {
                    // The peer no longer keeps our session: open a new one next time.
                    self.sessions.lock().remove(url);
                }
                verify_response(&headers, &answer_to, status.as_u16(), &body, expected).map_err(
                    |e| format!("{url} answered {status} without a valid signature: {e}"),
                )?
            }
        };
        Ok(Answer { identity, signed_ms, body })
    }

    /// `POST /push`: stores a copy of a payload at the peer, which must answer as `owner`.
    pub async fn push(
        &self,
        url: &str,
        encoded: Vec<u8>,
        owner: IdentityKey,
    ) -> Result<(), String> {
        let started = std::time::Instant::now();
        let session = self.session(url, owner).await;
        let call = Call {
            path: "/push",
            content_type: "application/octet-stream",
            body: encoded,
            signed: false,
            expected: Some(owner),
            session: session.as_ref(),
        };
        let result = self.post(url, call).await.map(drop);
        let outcome = if result.is_ok() { "ok" } else { "failed" };
        // Peers are the configured TMs (and those they name), so the label set stays small.
        metrics::histogram!("veil_tm_push_seconds", "peer" => url.to_owned(), "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
        result
    }

    /// Our session with the TM `peer` at `url`: the one held, or a new one (`None` if it
    /// cannot be opened; the answer is then signed instead).
    async fn session(&self, url: &str, peer: IdentityKey) -> Option<SessionKey> {
        if let Some(held) = self.sessions.lock().get(url) {
            if held.peer == peer && held.opened.elapsed() < SESSION_LIFETIME {
                return Some(held.key.clone());
            }
        }
        let (opening, hello) = Opening::new();
        let body = serde_json::to_vec(&hello).ok()?;
        let answer = match self.post(url, Call::signed("/session", JSON, body, Some(peer))).await {
            Ok(answer) => answer,
            Err(why) => {
                tracing::debug!(%url, %why, "no session; answers will be signed");
                return None;
            }
        };
        let welcome: Welcome = serde_json::from_slice(&answer.body).ok()?;
        let key = opening.finish(&self.identity.public(), &peer, &welcome).ok()?;
        tracing::debug!(%url, %peer, "opened a session");
        let held = HeldSession { key: key.clone(), peer, opened: Instant::now() };
        self.sessions.lock().insert(url.to_string(), held);
        Some(key)
    }

    /// `POST /partyinfo`: tells the peer what we know; answers who it is, when we asked, and
    /// what it knows.
    pub async fn party_info(
        &self,
        url: &str,
        ours: &PartyInfo,
    ) -> Result<(IdentityKey, u64, PartyInfo), String> {
        let body = serde_json::to_vec(ours).map_err(|e| e.to_string())?;
        let answer = self.post(url, Call::signed("/partyinfo", JSON, body, None)).await?;
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
        let call = Call::signed("/partyinfo/validate", OCTETS, challenge, Some(claimant));
        let answer = self.post(url, call).await?;
        Ok((answer.body.to_vec(), answer.signed_ms))
    }

    /// `POST /resend`.
    pub async fn resend(
        &self,
        url: &str,
        request: &ResendRequest,
    ) -> Result<ResendResponse, String> {
        let body = serde_json::to_vec(request).map_err(|e| e.to_string())?;
        let answer = self.post(url, Call::signed("/resend", JSON, body, None)).await?;
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
