//! A fake TM for attack tests (used by the TM's tests and, by path, by `veil-sim`'s): it has
//! an identity of its own and signs its requests and answers as the real software does, claims
//! a key it does not hold, relays every ownership challenge to the key's real holder and counts
//! the payloads pushed to it; and a sink that records where a TM's requests land.

#![allow(dead_code, unreachable_pub)]

use axum::{
    body::Bytes,
    extract::State,
    http::{StatusCode, Uri},
    middleware,
    routing::post,
    Json, Router,
};
use parking_lot::Mutex;
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};
use veil_enclave::TmPublicKey;
use veil_tm_api::{KeyUrl, PartyInfo, PeerUrl};
use veil_txmanager::auth::{require_signed, Authenticator, Identity};

/// A fake TM with its own identity (it signs its requests and answers as the real software
/// does) that claims a key it does not hold, relays every ownership challenge to the key's
/// real holder, and counts what reaches it.
pub struct Fake {
    pub url: String,
    pub identity: Arc<Identity>,
    pub relays: Arc<Mutex<Vec<(u16, String)>>>,
    pub pushes: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct FakeState {
    url: String,
    identity: Arc<Identity>,
    claimed: TmPublicKey,
    holder: String,
    peers: Vec<String>,
    relays: Arc<Mutex<Vec<(u16, String)>>>,
    pushes: Arc<AtomicUsize>,
}

impl FakeState {
    fn info(&self) -> PartyInfo {
        PartyInfo {
            url: self.url.clone(),
            peers: self.peers.iter().map(|url| PeerUrl { url: url.clone() }).collect(),
            keys: vec![KeyUrl { key: self.claimed, url: self.url.clone() }],
        }
    }
}

async fn fake_party_info(State(fake): State<FakeState>) -> Json<PartyInfo> {
    Json(fake.info())
}

async fn fake_validate(State(fake): State<FakeState>, body: Bytes) -> (StatusCode, Vec<u8>) {
    let http = reqwest::Client::new();
    let octets = "application/octet-stream";
    let answer = signed_post(
        &http,
        &fake.identity,
        &fake.holder,
        "/partyinfo/validate",
        octets,
        body.to_vec(),
    )
    .await;
    let status = answer.status();
    let bytes = answer.bytes().await.unwrap_or_default().to_vec();
    fake.relays.lock().push((status.as_u16(), String::from_utf8_lossy(&bytes).into_owned()));
    (status, bytes)
}

async fn fake_push(State(fake): State<FakeState>) -> StatusCode {
    fake.pushes.fetch_add(1, Ordering::SeqCst);
    StatusCode::CREATED
}

/// Starts a fake TM claiming `claimed`, relaying challenges to `holder`'s P2P URL and
/// listing `peers` as its own.
pub async fn fake_tm(claimed: TmPublicKey, holder: &str, peers: Vec<String>) -> Fake {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let identity = Arc::new(Identity::generate());
    let state = FakeState {
        url: url.clone(),
        identity: identity.clone(),
        claimed,
        holder: holder.to_string(),
        peers,
        relays: Arc::default(),
        pushes: Arc::default(),
    };
    let fake = Fake {
        url,
        identity: identity.clone(),
        relays: state.relays.clone(),
        pushes: state.pushes.clone(),
    };
    let authenticator = Authenticator::new(Some(identity), 1 << 20, None);
    // Pushes are counted however they come, signed or not.
    let router = Router::new()
        .route("/partyinfo", post(fake_party_info))
        .route("/partyinfo/validate", post(fake_validate))
        .layer(middleware::from_fn_with_state(authenticator, require_signed))
        .route("/push", post(fake_push))
        .with_state(state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    fake
}

impl Fake {
    /// Announces to the TM at `url` that the fake holds its claimed key.
    pub async fn announce(&self, url: &str, claimed: TmPublicKey) -> reqwest::Response {
        let claim = PartyInfo {
            url: self.url.clone(),
            peers: vec![],
            keys: vec![KeyUrl { key: claimed, url: self.url.clone() }],
        };
        signed_post_json(&reqwest::Client::new(), &self.identity, url, "/partyinfo", &claim).await
    }
}

/// A server that records the path of every request and answers 404: where a TM's requests
/// to flooded or unproven URLs would land.
pub async fn sink() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = seen.clone();
    let router = Router::new().fallback(move |uri: Uri| {
        record.lock().push(uri.path().to_string());
        async { StatusCode::NOT_FOUND }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, seen)
}

/// POSTs `body` to `url` + `path`, signed by `identity` as a TM signs its P2P requests.
pub async fn signed_post(
    client: &reqwest::Client,
    identity: &veil_txmanager::auth::Identity,
    url: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    let signed =
        veil_txmanager::auth::signed::RequestSignature::sign(identity, "POST", path, &body);
    let mut request =
        client.post(format!("{url}{path}")).header("content-type", content_type).body(body);
    for (name, value) in signed.headers() {
        request = request.header(name, value);
    }
    request.send().await.expect("signed POST")
}

/// [`signed_post`] of a JSON body.
pub async fn signed_post_json(
    client: &reqwest::Client,
    identity: &veil_txmanager::auth::Identity,
    url: &str,
    path: &str,
    body: &impl serde::Serialize,
) -> reqwest::Response {
    let body = serde_json::to_vec(body).unwrap();
    signed_post(client, identity, url, path, "application/json", body).await
}
