//! [`PeerClient`]: HTTP(S) calls to other TMs' P2P APIs. One connection pool per peer, so that
//! in TLS mode each peer's certificate is checked against what is known of that peer.

use crate::tls::ClientTls;
use parking_lot::Mutex;
use std::{collections::HashMap, net::IpAddr, sync::Arc, time::Duration};
use veil_tm_api::{PartyInfo, ResendRequest, ResendResponse};

/// How long a peer may take to answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Calls to peers.
pub struct PeerClient {
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

impl PeerClient {
    /// A client whose connections leave from `local_address` (so whitelists see our own P2P
    /// address) and, with `tls`, speak TLS as configured.
    pub fn new(local_address: Option<IpAddr>, tls: Option<Arc<ClientTls>>) -> Self {
        Self { local_address, tls, clients: Mutex::default() }
    }

    fn client(&self, url: &str) -> Result<reqwest::Client, String> {
        let authority = authority(url);
        if let Some(client) = self.clients.lock().get(&authority) {
            return Ok(client.clone());
        }
        let mut builder = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .local_address(self.local_address);
        if let Some(tls) = &self.tls {
            builder = builder.use_preconfigured_tls(tls.config_for(&authority)?);
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        self.clients.lock().insert(authority, client.clone());
        Ok(client)
    }

    async fn post(
        &self,
        url: &str,
        path: &str,
        build: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, String> {
        let response = build(self.client(url)?.post(format!("{url}{path}")))
            .send()
            .await
            .map_err(|e| describe(&e))?;
        if response.status().is_success() {
            Ok(response)
        } else {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            Err(format!("{status}: {text}"))
        }
    }

    /// `POST /push`: stores a copy of a payload at the peer.
    pub async fn push(&self, url: &str, encoded: Vec<u8>) -> Result<(), String> {
        self.post(url, "/push", |r| {
            r.header("content-type", "application/octet-stream").body(encoded)
        })
        .await
        .map(drop)
    }

    /// `POST /partyinfo`: tells the peer what we know; answers what it knows.
    pub async fn party_info(&self, url: &str, ours: &PartyInfo) -> Result<PartyInfo, String> {
        self.post(url, "/partyinfo", |r| r.json(ours))
            .await?
            .json()
            .await
            .map_err(|e| e.to_string())
    }

    /// `POST /partyinfo/validate`: asks the peer to open a key-ownership challenge.
    pub async fn validate(&self, url: &str, challenge: Vec<u8>) -> Result<Vec<u8>, String> {
        let response = self
            .post(url, "/partyinfo/validate", |r| {
                r.header("content-type", "application/octet-stream").body(challenge)
            })
            .await?;
        response.bytes().await.map(|b| b.to_vec()).map_err(|e| e.to_string())
    }

    /// `POST /resend`.
    pub async fn resend(
        &self,
        url: &str,
        request: &ResendRequest,
    ) -> Result<ResendResponse, String> {
        self.post(url, "/resend", |r| r.json(request))
            .await?
            .json()
            .await
            .map_err(|e| e.to_string())
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
