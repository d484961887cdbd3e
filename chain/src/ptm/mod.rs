//! The node's link to its private transaction manager (GoQuorum's "PTM"), over
//! [`veil_tm_api::TmClient`].
//!
//! Configured by flags or GoQuorum's `PRIVATE_CONFIG` ([`PtmConfig`]). At start the TM must
//! answer `/upcheck` and `/version/api`. Every call has a timeout; payload fetches are retried
//! with backoff. A fetch that still fails is an outage, never "not a party": only a 404 means
//! that.

mod config;

pub use config::PtmConfig;

use crate::{payload_cache::PayloadCache, PrivatePayloads};
use alloy_primitives::{Bytes, B256};
use futures::future::join_all;
use std::time::Duration;
use veil_evm::PrivatePayload;
use veil_primitives::{PayloadHash, TmPublicKey, Transaction};
use veil_tm_api::{
    Base64Bytes, ClientError, SendRequest, SendSignedTxRequest, StoreRawRequest, TmClient,
    TmEndpoint, RECEIVE_BATCH_MAX,
};

/// Attempts of one payload fetch before the TM counts as unavailable.
const ATTEMPTS: u32 = 3;

/// What privacy enhancements add to a send (GoQuorum's fields on Tessera's `/send`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SendPrivacy {
    /// The flag.
    pub flag: veil_primitives::PrivacyFlag,
    /// The creation payloads of the contracts the transaction affects (ACOTHs).
    pub affected: Vec<PayloadHash>,
    /// The execution hash (private state validation).
    pub exec_hash: String,
    /// `mandatoryFor` (flag 2).
    pub mandatory: Vec<TmPublicKey>,
}

impl SendPrivacy {
    /// The API's fields.
    fn fields(self) -> veil_tm_api::PrivacyFields {
        veil_tm_api::PrivacyFields {
            privacy_flag: self.flag.number(),
            affected_contract_transactions: self.affected,
            exec_hash: self.exec_hash,
            mandatory_recipients: self.mandatory,
        }
    }
}

/// Why the TM could not help.
#[derive(Debug, thiserror::Error)]
pub enum PtmError {
    /// It did not answer in time.
    #[error("transaction manager did not answer within {0:?}")]
    Timeout(Duration),
    /// It answered with an error, or could not be reached.
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// A connected TM.
#[derive(Debug)]
pub struct Ptm {
    client: TmClient,
    timeout: Duration,
    endpoint: TmEndpoint,
    /// Payloads fetched ahead of building and import.
    cache: PayloadCache,
    /// Whether the TM serves Veil's `POST /receive/batch` (until it says it does not).
    batches: std::sync::atomic::AtomicBool,
}

impl Ptm {
    /// Connects and checks the TM is up (`/upcheck`) and speaks a Tessera API
    /// (`/version/api`).
    pub async fn connect(config: PtmConfig) -> eyre::Result<Self> {
        let ptm = Self {
            client: TmClient::new(config.endpoint.clone()),
            timeout: config.timeout,
            endpoint: config.endpoint,
            cache: PayloadCache::default(),
            batches: std::sync::atomic::AtomicBool::new(true),
        };
        let name = ptm.describe();
        let up = ptm
            .within(ptm.client.upcheck())
            .await
            .map_err(|e| eyre::eyre!("transaction manager at {name} is not reachable: {e}"))?;
        eyre::ensure!(up, "transaction manager at {name} did not answer /upcheck with \"I'm up!\"");
        let versions = ptm
            .within(ptm.client.request(http::Method::GET, "/version/api", &[], Default::default()))
            .await
            .map_err(|e| eyre::eyre!("transaction manager at {name}: /version/api: {e}"))?;
        let listed: Vec<String> = serde_json::from_slice(&versions.1).map_err(|_| {
            eyre::eyre!("transaction manager at {name}: /version/api is not a list of versions")
        })?;
        tracing::info!(target: "ptm", tm = %name, api = ?listed, "transaction manager connected");
        Ok(ptm)
    }

    /// The TM's `features` switches (Veil's `GET /features`); `None` from a TM without that
    /// endpoint (Tessera).
    pub async fn features(&self) -> Result<Option<veil_tm_api::Features>, PtmError> {
        let (status, body) = self
            .within(self.client.request(http::Method::GET, "/features", &[], Default::default()))
            .await?;
        if status == http::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| PtmError::Client(ClientError::Decode(format!("/features: {e}"))))
    }

    /// The endpoint, for messages.
    pub fn describe(&self) -> String {
        match &self.endpoint {
            TmEndpoint::Unix(path) => path.display().to_string(),
            TmEndpoint::Tcp(authority) => format!("http://{authority}"),
        }
    }

    async fn within<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, ClientError>>,
    ) -> Result<T, PtmError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| PtmError::Timeout(self.timeout))?
            .map_err(PtmError::from)
    }

    /// `/send`: encrypts `payload` for `to` (and the sender's own key) and returns its hash.
    pub async fn send(
        &self,
        payload: Vec<u8>,
        from: Option<TmPublicKey>,
        to: Vec<TmPublicKey>,
        privacy: SendPrivacy,
    ) -> Result<PayloadHash, PtmError> {
        let request =
            SendRequest { payload: Base64Bytes(payload), from, to, privacy: privacy.fields() };
        let key = self.within(self.client.send(&request)).await?.key;
        metrics::counter!(crate::metrics::PRIVATE_SENT).increment(1);
        Ok(key)
    }

    /// `/storeraw`: keeps `payload` encrypted for the sender only, for a transaction signed
    /// elsewhere; returns its hash.
    pub async fn store_raw(
        &self,
        payload: Vec<u8>,
        from: Option<TmPublicKey>,
    ) -> Result<PayloadHash, PtmError> {
        let request = StoreRawRequest { payload: Base64Bytes(payload), from };
        Ok(self.within(self.client.store_raw(&request)).await?.key)
    }

    /// `/sendsignedtx`: distributes a payload stored by `/storeraw` to `to`.
    pub async fn send_signed(
        &self,
        hash: PayloadHash,
        to: Vec<TmPublicKey>,
        privacy: SendPrivacy,
    ) -> Result<PayloadHash, PtmError> {
        let request = SendSignedTxRequest { hash, to, privacy: privacy.fields() };
        let key = self.within(self.client.send_signed_tx(&request)).await?.key;
        metrics::counter!(crate::metrics::PRIVATE_SENT).increment(1);
        Ok(key)
    }

    /// Tessera's `GET /transaction/{hash}/mandatory`: a payload's mandatory recipients.
    pub async fn mandatory(&self, hash: &PayloadHash) -> Result<Vec<TmPublicKey>, PtmError> {
        let path = format!("/transaction/{}/mandatory", urlencoding::encode(&hash.to_string()));
        let (status, body) = self
            .within(self.client.request(http::Method::GET, &path, &[], Default::default()))
            .await?;
        let text = String::from_utf8_lossy(&body);
        if !status.is_success() {
            return Err(PtmError::Client(ClientError::Decode(format!("{path}: {status} {text}"))));
        }
        text.split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| {
                k.parse().map_err(|e| PtmError::Client(ClientError::Decode(format!("{path}: {e}"))))
            })
            .collect()
    }

    /// The payload behind a hash: `Some` for a party, `None` when the TM says 404.
    pub async fn payload(&self, hash: &PayloadHash) -> Result<Option<Bytes>, PtmError> {
        Ok(self.fetch(hash).await?.data().cloned())
    }

    /// What the TM says of a payload hash: the payload (with what privacy enhancements add)
    /// for a party, [`PrivatePayload::NotParty`] on a 404. Retried with backoff.
    pub async fn fetch(&self, hash: &PayloadHash) -> Result<PrivatePayload, PtmError> {
        match self.retried(|| self.client.receive(hash, None)).await? {
            Some(answer) => party_payload(answer),
            None => Ok(PrivatePayload::NotParty),
        }
    }

    /// What the TM says of each of `keys`, in order, as [`Ptm::fetch`] says it: one
    /// `POST /receive/batch` per [`RECEIVE_BATCH_MAX`] keys (more when an answer stops at its
    /// size bound), or key by key, concurrently, from a TM without that path (Tessera).
    pub async fn fetch_many(&self, keys: &[PayloadHash]) -> Result<Vec<PrivatePayload>, PtmError> {
        use std::sync::atomic::Ordering::Relaxed;
        let mut found = Vec::with_capacity(keys.len());
        while found.len() < keys.len() {
            let rest = &keys[found.len()..];
            if rest.len() == 1 || !self.batches.load(Relaxed) {
                for payload in join_all(rest.iter().map(|key| self.fetch(key))).await {
                    found.push(payload?);
                }
                break;
            }
            let chunk = &rest[..rest.len().min(RECEIVE_BATCH_MAX)];
            match self.retried(|| self.client.receive_batch(chunk)).await? {
                Some(answers) => {
                    for answer in answers {
                        found.push(match answer {
                            Some(answer) => party_payload(answer)?,
                            None => PrivatePayload::NotParty,
                        });
                    }
                }
                None => {
                    self.batches.store(false, Relaxed);
                    tracing::info!(
                        target: "ptm",
                        tm = %self.describe(),
                        "the TM serves no /receive/batch (Tessera); payloads are fetched one by one"
                    );
                }
            }
        }
        Ok(found)
    }

    /// `call`, within the timeout, retried with backoff; [`ATTEMPTS`] failures make an
    /// outage. The fetch latency metric records each successful call.
    async fn retried<T, Call, Answer>(&self, mut call: Call) -> Result<T, PtmError>
    where
        Call: FnMut() -> Answer,
        Answer: std::future::Future<Output = Result<T, ClientError>>,
    {
        let mut delay = Duration::from_millis(100);
        let mut attempt = 1;
        let started = std::time::Instant::now();
        loop {
            match self.within(call()).await {
                Ok(answer) => {
                    metrics::histogram!(crate::metrics::TM_FETCH)
                        .record(started.elapsed().as_secs_f64());
                    return Ok(answer);
                }
                Err(e) if attempt >= ATTEMPTS => return Err(e),
                Err(e) => {
                    tracing::debug!(target: "ptm", %e, attempt, "payload fetch failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
            }
        }
    }

    /// The payloads of every private transaction among `transactions`: from the cache where
    /// it holds them, the rest fetched concurrently.
    pub async fn payloads(
        &self,
        transactions: &[&Transaction],
    ) -> Result<PrivatePayloads, PtmError> {
        let mut payloads = PrivatePayloads::new();
        let mut missing: Vec<(B256, PayloadHash)> = Vec::new();
        for tx in transactions.iter().filter(|tx| tx.is_private()) {
            match payload_hash(tx) {
                Some(key) => match self.cache.get(&key) {
                    Some(payload) => {
                        payloads.insert(tx.hash(), payload);
                    }
                    None => missing.push((tx.hash(), key)),
                },
                // A private transaction whose data is not a 64-byte hash has no payload
                // anywhere.
                None => {
                    payloads.insert(tx.hash(), PrivatePayload::NotParty);
                }
            }
        }
        let keys: Vec<PayloadHash> = missing.iter().map(|(_, key)| *key).collect();
        let fetched = self.fetch_many(&keys).await?;
        for ((tx_hash, _), found) in missing.into_iter().zip(fetched) {
            payloads.insert(tx_hash, found);
        }
        Ok(payloads)
    }

    /// Fetches the payloads of the private transactions among `transactions` that the cache
    /// lacks into it, in batches. A failed fetch is not kept: building or import asks again,
    /// and halts if the TM is still out.
    pub async fn prefetch(&self, transactions: &[Transaction]) {
        let keys: Vec<PayloadHash> = transactions
            .iter()
            .filter_map(payload_hash)
            .filter(|key| !self.cache.contains(key))
            .collect();
        if keys.is_empty() {
            return;
        }
        match self.fetch_many(&keys).await {
            Ok(found) => {
                let parties = found.iter().filter(|p| p.data().is_some()).count();
                for (key, payload) in keys.iter().zip(&found) {
                    self.cache.insert(*key, payload);
                }
                tracing::debug!(target: "ptm", payloads = keys.len(), parties, "payloads prefetched");
            }
            Err(e) => {
                tracing::debug!(target: "ptm", error = %e, payloads = keys.len(), "payload prefetch failed")
            }
        }
    }

    /// The payloads the cache holds for the private transactions among `transactions`, and
    /// the private transactions it lacks.
    pub fn cached_payloads<'a>(
        &self,
        transactions: impl IntoIterator<Item = &'a Transaction>,
    ) -> (PrivatePayloads, Vec<Transaction>) {
        let mut payloads = PrivatePayloads::new();
        let mut missing = Vec::new();
        for tx in transactions.into_iter().filter(|tx| tx.is_private()) {
            match payload_hash(tx) {
                Some(key) => match self.cache.get(&key) {
                    Some(payload) => {
                        payloads.insert(tx.hash(), payload);
                    }
                    None => missing.push(tx.clone()),
                },
                None => {
                    payloads.insert(tx.hash(), PrivatePayload::NotParty);
                }
            }
        }
        (payloads, missing)
    }

    /// Fetches the payloads of `transactions` into the cache, in batches; the first failure.
    pub async fn fetch_into_cache(&self, transactions: &[Transaction]) -> Result<(), PtmError> {
        let keys: Vec<PayloadHash> = transactions.iter().filter_map(payload_hash).collect();
        let fetched = self.fetch_many(&keys).await?;
        for (key, found) in keys.into_iter().zip(fetched) {
            self.cache.insert(key, &found);
        }
        Ok(())
    }

    /// Drops the cached payloads of `transactions` (they are in a block now).
    pub fn forget<'a>(&self, transactions: impl IntoIterator<Item = &'a Transaction>) {
        let keys: Vec<PayloadHash> = transactions.into_iter().filter_map(payload_hash).collect();
        self.cache.forget(&keys);
    }

    /// The cache, to inspect.
    pub fn cache(&self) -> &PayloadCache {
        &self.cache
    }
}

/// The payload hash a private transaction carries as its data.
fn payload_hash(tx: &Transaction) -> Option<PayloadHash> {
    if !tx.is_private() {
        return None;
    }
    <[u8; 64]>::try_from(tx.input().as_ref()).ok().map(PayloadHash)
}

/// Most payload batches the prefetcher has in flight at once.
const PREFETCH_CONCURRENCY: usize = 16;

/// How long the prefetcher gathers more accepted transactions after one arrives before it
/// asks the TM for their payloads in one request: under load a burst shares a request; it
/// is short against a block interval (50 ms by default under Raft).
const PREFETCH_GATHER: Duration = Duration::from_millis(5);

/// Prefetches the payload of every private transaction the pool accepts (from RPC or gossip),
/// until `shutdown` turns true, gathering what arrives within [`PREFETCH_GATHER`] into one
/// request. Announcements it falls behind on are only fetched later, at building or import.
pub async fn prefetch_pooled(
    ptm: std::sync::Arc<Ptm>,
    pool: std::sync::Arc<crate::TxPool>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::sync::broadcast::error::RecvError;
    let mut accepted = pool.subscribe();
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(PREFETCH_CONCURRENCY));
    let private = |hash: B256| pool.get(&hash).filter(|tx| tx.tx().is_private());
    loop {
        let first = tokio::select! {
            next = accepted.recv() => match next {
                Ok(hash) => hash,
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(target: "ptm", missed, "prefetch fell behind the pool");
                    continue;
                }
                Err(RecvError::Closed) => return,
            },
            _ = shutdown.changed() => return,
        };
        let Some(tx) = private(first) else { continue };
        let mut batch = vec![tx.tx().clone()];
        let gathered_until = tokio::time::Instant::now() + PREFETCH_GATHER;
        while batch.len() < RECEIVE_BATCH_MAX {
            match tokio::time::timeout_at(gathered_until, accepted.recv()).await {
                Ok(Ok(hash)) => batch.extend(private(hash).map(|tx| tx.tx().clone())),
                Ok(Err(RecvError::Lagged(missed))) => {
                    tracing::debug!(target: "ptm", missed, "prefetch fell behind the pool");
                }
                Ok(Err(RecvError::Closed)) | Err(_) => break,
            }
        }
        let Ok(permit) = permits.clone().acquire_owned().await else { return };
        let ptm = ptm.clone();
        tokio::spawn(async move {
            ptm.prefetch(&batch).await;
            drop(permit);
        });
    }
}

/// A party's answer as the executor takes it: standard private, or with what privacy
/// enhancements add. A flag the node does not know is an error (the import halts), never a
/// guess.
fn party_payload(answer: veil_tm_api::ReceiveResponse) -> Result<PrivatePayload, PtmError> {
    let data = Bytes::from(answer.payload.0);
    let flag = veil_primitives::PrivacyFlag::from_number(u64::from(answer.privacy_flag))
        .map_err(|e| PtmError::Client(ClientError::Decode(e.to_string())))?;
    if !flag.is_enhanced() {
        return Ok(PrivatePayload::Party(data));
    }
    let privacy = veil_evm::PayloadPrivacy {
        flag,
        affected: answer.affected_contract_transactions,
        exec_hash: Bytes::from(answer.exec_hash.into_bytes()),
    };
    Ok(PrivatePayload::Protected(data, privacy))
}

#[cfg(test)]
mod tests {
    use super::{config::DEFAULT_TIMEOUT, *};
    use std::path::Path;

    /// A Tessera-like TM on a unix socket: `/upcheck`, `/version/api` and
    /// `GET /transaction/{key}` for the keys of `held`, and no `/receive/batch`.
    async fn tessera_like(socket: &Path, held: Vec<(PayloadHash, &'static [u8])>) {
        use axum::{extract::Path as Key, http::StatusCode, routing::get, Json, Router};
        let held = std::sync::Arc::new(held);
        let app = Router::new()
            .route("/upcheck", get(|| async { "I'm up!" }))
            .route("/version/api", get(|| async { Json(["1.0", "2.1"]) }))
            .route(
                "/transaction/{key}",
                get(move |Key(key): Key<String>| async move {
                    let key: PayloadHash = key.parse().unwrap();
                    match held.iter().find(|(k, _)| *k == key) {
                        Some((_, payload)) => Ok(Json(veil_tm_api::ReceiveResponse {
                            payload: Base64Bytes(payload.to_vec()),
                            privacy_flag: 0,
                            affected_contract_transactions: vec![],
                            exec_hash: String::new(),
                            managed_parties: vec![],
                            sender_key: TmPublicKey([1; 32]),
                        })),
                        None => Err(StatusCode::NOT_FOUND),
                    }
                }),
            );
        let listener = tokio::net::UnixListener::bind(socket).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
    }

    #[tokio::test]
    async fn a_tm_without_batches_is_asked_key_by_key_with_the_same_answers() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("tm.ipc");
        let (a, b, stranger) = (PayloadHash([1; 64]), PayloadHash([2; 64]), PayloadHash([3; 64]));
        tessera_like(&socket, vec![(a, b"for a"), (b, b"for b")]).await;
        let ptm = Ptm::connect(PtmConfig {
            endpoint: TmEndpoint::Unix(socket),
            timeout: DEFAULT_TIMEOUT,
        })
        .await
        .unwrap();
        let found = ptm.fetch_many(&[a, stranger, b]).await.unwrap();
        let data: Vec<Option<&[u8]>> = found.iter().map(|p| p.data().map(|d| d.as_ref())).collect();
        assert_eq!(data, [Some(&b"for a"[..]), None, Some(&b"for b"[..])]);
        assert!(
            !ptm.batches.load(std::sync::atomic::Ordering::Relaxed),
            "told once, not asked again"
        );
        assert_eq!(ptm.fetch_many(&[b, a]).await.unwrap().len(), 2);
    }
}
