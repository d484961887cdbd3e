//! [`TransactionManager`]: send, store-raw, receive, push and resend, over the enclave, the
//! store and the peers.

use crate::{
    auth::IdentityKey,
    enclave_handle::EnclaveHandle,
    error::TmError,
    party::{PartyStore, Route},
    peer_client::PeerClient,
    privacy::{self, PrivacyRequest},
    store::PayloadStore,
};
use futures::{stream, StreamExt};
use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};
use veil_enclave::{EncodedPayload, PayloadHash, TmPublicKey};
use veil_tm_api::{ResendRequest, ResendResponse, ResendType};
use zeroize::Zeroizing;

/// How many resend pushes run at once.
const RESEND_CONCURRENCY: usize = 16;
/// A send slower than this is logged with where the time went (the local store's fsync or the
/// slowest recipient TM), as etcd logs slow fsyncs.
const SLOW_SEND: Duration = Duration::from_secs(1);

/// Remote recipients grouped by (URL, owner identity).
type Routes = BTreeMap<(String, IdentityKey), Vec<TmPublicKey>>;

/// What a successful send or receive reports besides the payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parties {
    /// The sender.
    pub sender: TmPublicKey,
    /// The local keys that are parties.
    pub managed: Vec<TmPublicKey>,
}

/// A decrypted payload with its parties.
pub struct Received {
    /// The plaintext (wiped when dropped).
    pub plaintext: Zeroizing<Vec<u8>>,
    /// Who sent it and which local keys are parties.
    pub parties: Parties,
    /// Privacy enhancements' metadata (affected transactions confirmed here only).
    pub privacy: Option<veil_enclave::PrivacyMetadata>,
}

/// What a resend did.
#[derive(Debug)]
pub enum Resent {
    /// ALL: how many payloads were pushed back.
    All(ResendResponse),
    /// INDIVIDUAL: the encoded copy.
    Individual(Vec<u8>),
}

/// The transaction manager.
pub struct TransactionManager {
    enclave: EnclaveHandle,
    local_keys: Vec<TmPublicKey>,
    store: PayloadStore,
    parties: Arc<PartyStore>,
    peers: Arc<PeerClient>,
    always_send_to: Vec<TmPublicKey>,
    payload_limit: usize,
    privacy_enhancements: bool,
}

impl std::fmt::Debug for TransactionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionManager")
            .field("local_keys", &self.local_keys)
            .finish_non_exhaustive()
    }
}

impl TransactionManager {
    /// A manager over its parts.
    pub fn new(
        enclave: EnclaveHandle,
        store: PayloadStore,
        parties: Arc<PartyStore>,
        peers: Arc<PeerClient>,
        always_send_to: Vec<TmPublicKey>,
        payload_limit: usize,
    ) -> Self {
        let local_keys = enclave.public_keys();
        Self {
            enclave,
            local_keys,
            store,
            parties,
            peers,
            always_send_to,
            payload_limit,
            privacy_enhancements: false,
        }
    }

    /// With privacy enhancements on or off (`features.enablePrivacyEnhancements`; off by
    /// default).
    pub fn with_privacy_enhancements(mut self, enabled: bool) -> Self {
        self.privacy_enhancements = enabled;
        self
    }

    /// Whether privacy enhancements are on.
    pub fn privacy_enhancements(&self) -> bool {
        self.privacy_enhancements
    }

    /// The local keys, the default first.
    pub fn local_keys(&self) -> &[TmPublicKey] {
        &self.local_keys
    }

    /// The enclave.
    pub fn enclave(&self) -> &EnclaveHandle {
        &self.enclave
    }

    /// The party store.
    pub fn parties(&self) -> &Arc<PartyStore> {
        &self.parties
    }

    /// The peer client.
    pub fn peers(&self) -> &Arc<PeerClient> {
        &self.peers
    }

    /// The largest payload accepted.
    pub fn payload_limit(&self) -> usize {
        self.payload_limit
    }

    fn is_local(&self, key: &TmPublicKey) -> bool {
        self.local_keys.contains(key)
    }

    fn sender(&self, from: Option<TmPublicKey>) -> Result<TmPublicKey, TmError> {
        let sender = from.unwrap_or(self.local_keys[0]);
        if self.is_local(&sender) {
            Ok(sender)
        } else {
            Err(TmError::UnknownSender(sender))
        }
    }

    fn check_size(&self, size: usize) -> Result<(), TmError> {
        if size > self.payload_limit {
            return Err(TmError::TooLarge { size, limit: self.payload_limit });
        }
        Ok(())
    }

    /// `to` plus `alwaysSendTo`, without duplicates or the sender.
    fn recipients(&self, sender: &TmPublicKey, to: &[TmPublicKey]) -> Vec<TmPublicKey> {
        let mut all: Vec<TmPublicKey> = Vec::with_capacity(to.len() + self.always_send_to.len());
        for key in to.iter().chain(&self.always_send_to) {
            if key != sender && !all.contains(key) {
                all.push(*key);
            }
        }
        all
    }

    /// The remote recipients grouped by their owner's identity and URL. An unknown key is a
    /// 404; a key whose owner's whereabouts are in doubt a 502 naming it (never a guess).
    fn route(&self, recipients: &[TmPublicKey]) -> Result<Routes, TmError> {
        let mut routes: Routes = BTreeMap::new();
        let (mut unknown, mut in_doubt) = (Vec::new(), Vec::new());
        for key in recipients.iter().filter(|k| !self.is_local(k)) {
            match self.parties.route(key) {
                Route::To { url, owner } => routes.entry((url, owner)).or_default().push(*key),
                Route::Unknown => unknown.push(*key),
                Route::InDoubt(why) => in_doubt.push((*key, why)),
            }
        }
        if !unknown.is_empty() {
            Err(TmError::UnknownRecipients(unknown))
        } else if !in_doubt.is_empty() {
            Err(TmError::Unreachable(in_doubt))
        } else {
            Ok(routes)
        }
    }

    fn managed(&self, payload: &EncodedPayload) -> Vec<TmPublicKey> {
        self.local_keys
            .iter()
            .filter(|k| **k == payload.sender || payload.boxes.iter().any(|b| b.recipient == **k))
            .copied()
            .collect()
    }

    /// `POST /send`: encrypts for `to` (and `alwaysSendTo`), stores, and pushes each remote
    /// TM its copy. Succeeds only when every remote TM acknowledged; otherwise nothing stays
    /// stored here and the error names the recipients not reached.
    pub async fn send(
        &self,
        from: Option<TmPublicKey>,
        to: &[TmPublicKey],
        plaintext: Vec<u8>,
        privacy: PrivacyRequest,
    ) -> Result<(PayloadHash, Parties), TmError> {
        let plaintext = Zeroizing::new(plaintext);
        self.check_size(plaintext.len())?;
        privacy::check_enabled(&privacy, self.privacy_enhancements)?;
        let sender = self.sender(from)?;
        let recipients = self.recipients(&sender, to);
        let routes = self.route(&recipients)?;
        let for_recipients = recipients.clone();
        let payload =
            self.enclave.run(move |e| e.encrypt(&sender, &plaintext, &for_recipients)).await?;
        let payload = self.with_metadata(payload, recipients, privacy).await?;
        self.store_and_distribute(payload, routes).await
    }

    /// `payload` with the privacy metadata of `request`, checked against the affected
    /// payloads held here.
    async fn with_metadata(
        &self,
        payload: EncodedPayload,
        recipients: Vec<TmPublicKey>,
        request: PrivacyRequest,
    ) -> Result<EncodedPayload, TmError> {
        if !request.flag.is_enhanced() {
            return Ok(payload);
        }
        let store = self.store.clone();
        let (payload, metadata) = self
            .enclave
            .run(move |e| {
                let metadata =
                    privacy::metadata_for_send(e, &store, &payload, &recipients, request);
                Ok((payload, metadata))
            })
            .await?;
        let mut payload = payload;
        payload.privacy = metadata?;
        Ok(payload)
    }

    /// `POST /storeraw`: encrypts for the sender only and stores, sending nothing.
    pub async fn store_raw(
        &self,
        from: Option<TmPublicKey>,
        plaintext: Vec<u8>,
    ) -> Result<PayloadHash, TmError> {
        let plaintext = Zeroizing::new(plaintext);
        self.check_size(plaintext.len())?;
        let sender = self.sender(from)?;
        let payload = self.enclave.run(move |e| e.encrypt(&sender, &plaintext, &[])).await?;
        Ok(self.store.put(&payload).await?)
    }

    /// `POST /sendsignedtx`: seals a stored raw payload's key for `to` and distributes it.
    pub async fn send_signed(
        &self,
        hash: &PayloadHash,
        to: &[TmPublicKey],
        privacy: PrivacyRequest,
    ) -> Result<(PayloadHash, Parties), TmError> {
        privacy::check_enabled(&privacy, self.privacy_enhancements)?;
        let stored = self.store.get(hash)?.ok_or(TmError::NotFound(*hash))?;
        if !self.is_local(&stored.sender) {
            return Err(TmError::NotFound(*hash));
        }
        let recipients = self.recipients(&stored.sender, to);
        let routes = self.route(&recipients)?;
        let for_recipients = recipients.clone();
        let extended =
            self.enclave.run(move |e| e.add_recipients(&stored, &for_recipients)).await?;
        let extended = self.with_metadata(extended, recipients, privacy).await?;
        self.store_and_distribute(extended, routes).await
    }

    async fn store_and_distribute(
        &self,
        payload: EncodedPayload,
        routes: Routes,
    ) -> Result<(PayloadHash, Parties), TmError> {
        let started = Instant::now();
        let pushes = routes.iter().map(|((url, owner), keys)| {
            let copy = payload.for_recipients(keys).map(|c| c.encode()).unwrap_or_default();
            async move {
                let result = self.peers.push(url, copy, *owner).await;
                (keys, result, started.elapsed())
            }
        });
        let store = async { (self.store.put(&payload).await, started.elapsed()) };
        let ((stored, store_time), pushed) = tokio::join!(store, futures::future::join_all(pushes));
        let slowest_push = pushed.iter().map(|(_, _, took)| *took).max().unwrap_or_default();
        if started.elapsed() > SLOW_SEND {
            tracing::warn!(
                store_ms = store_time.as_millis() as u64,
                slowest_push_ms = slowest_push.as_millis() as u64,
                remote_tms = pushed.len(),
                "slow send: storing here or pushing to a recipient's TM took over 1 s"
            );
        }
        let hash = stored?;
        let failed: Vec<(TmPublicKey, String)> = pushed
            .into_iter()
            .filter_map(|(keys, result, _)| result.err().map(|why| (keys, why)))
            .flat_map(|(keys, why)| keys.iter().map(move |k| (*k, why.clone())))
            .collect();
        if !failed.is_empty() {
            self.store.delete(&hash).await?;
            return Err(TmError::Unreachable(failed));
        }
        let parties = Parties { sender: payload.sender, managed: self.managed(&payload) };
        Ok((hash, parties))
    }

    fn load(&self, hash: &PayloadHash) -> Result<EncodedPayload, TmError> {
        self.store.get(hash)?.ok_or(TmError::NotFound(*hash))
    }

    /// `GET /transaction/{key}`: the plaintext for `to` (default: the first local key that is a
    /// party). A TM with no party key answers 404, as for an unknown payload.
    pub async fn receive(
        &self,
        hash: &PayloadHash,
        to: Option<TmPublicKey>,
    ) -> Result<Received, TmError> {
        let payload = self.load(hash)?;
        let managed = self.managed(&payload);
        let key = match to {
            Some(key) if managed.contains(&key) => key,
            Some(_) => return Err(TmError::NotFound(*hash)),
            None => *managed.first().ok_or(TmError::NotFound(*hash))?,
        };
        let parties = Parties { sender: payload.sender, managed };
        let privacy = payload.privacy.clone();
        let plaintext = self.enclave.run(move |e| e.decrypt(&payload, &key)).await?;
        Ok(Received { plaintext, parties, privacy })
    }

    /// Whether a local key sent the payload.
    pub fn is_sender(&self, hash: &PayloadHash) -> Result<bool, TmError> {
        Ok(self.is_local(&self.load(hash)?.sender))
    }

    /// The payload's recipients as its sender knows them (empty on a recipient's TM).
    pub fn participants(&self, hash: &PayloadHash) -> Result<Vec<TmPublicKey>, TmError> {
        let payload = self.load(hash)?;
        Ok(if self.is_local(&payload.sender) { payload.recipients() } else { Vec::new() })
    }

    /// The payload's mandatory recipients (none unless sent with privacy flag 2).
    pub fn mandatory(&self, hash: &PayloadHash) -> Result<Vec<TmPublicKey>, TmError> {
        let payload = self.load(hash)?;
        if self.managed(&payload).is_empty() {
            return Err(TmError::NotFound(*hash));
        }
        Ok(payload.privacy.map(|p| p.mandatory).unwrap_or_default())
    }

    /// `DELETE /transaction/{key}`.
    pub async fn delete(&self, hash: &PayloadHash) -> Result<(), TmError> {
        self.load(hash)?;
        Ok(self.store.delete(hash).await?)
    }

    /// `POST /push`: stores a copy another TM sent us, merged with any copy we hold. Only
    /// copies with a box for one of our keys, or sent by one of our keys, are accepted.
    pub async fn accept_push(&self, bytes: &[u8]) -> Result<PayloadHash, TmError> {
        let payload = EncodedPayload::decode(bytes)
            .map_err(|e| TmError::BadRequest(format!("push body: {e}")))?;
        let managed = self.managed(&payload);
        if managed.is_empty() {
            return Err(TmError::Forbidden(
                "the pushed payload has no box for a key of this transaction manager".into(),
            ));
        }
        let payload = if payload.privacy.is_some() {
            let (store, enabled) = (self.store.clone(), self.privacy_enhancements);
            let (payload, checked) = self
                .enclave
                .run(move |e| {
                    let mut payload = payload;
                    let checked =
                        privacy::validate_push(e, &store, &mut payload, &managed, enabled);
                    Ok((payload, checked))
                })
                .await?;
            checked?;
            payload
        } else {
            payload
        };
        Ok(self.store.merge(payload).await?)
    }

    /// The copy of `payload` that belongs to `key`'s TM: its box when we sent it, our boxes
    /// when it sent it (its sender key opens them).
    fn copy_for(&self, payload: &EncodedPayload, key: &TmPublicKey) -> Option<EncodedPayload> {
        if self.is_local(&payload.sender) {
            payload.for_recipients(&[*key])
        } else if payload.sender == *key {
            payload.for_recipients(&self.local_keys)
        } else {
            None
        }
    }

    /// `POST /resend` from the TM `caller`, which must be the proven owner of `publicKey`:
    /// ALL pushes every payload the key is party to back to the owner's URL (whose answers
    /// must be signed by the owner); INDIVIDUAL answers one payload's copy for it.
    pub async fn resend(
        &self,
        request: &ResendRequest,
        caller: IdentityKey,
    ) -> Result<Resent, TmError> {
        let key = request.public_key;
        if self.parties.owner_of(&key) != Some(caller) {
            tracing::warn!(%key, %caller, "refused a resend for a key the asker has not proven");
            return Err(TmError::Forbidden(format!(
                "resend for {key}: the asking TM (identity {caller}) has not proven it holds \
                 this key; a resend answers only for the asker's own proven keys"
            )));
        }
        match request.kind {
            ResendType::Individual => {
                let hash = request
                    .key
                    .ok_or_else(|| TmError::BadRequest("INDIVIDUAL resend needs \"key\"".into()))?;
                let copy =
                    self.copy_for(&self.load(&hash)?, &key).ok_or(TmError::NotFound(hash))?;
                Ok(Resent::Individual(copy.encode()))
            }
            ResendType::All => {
                let url = match self.parties.route(&key) {
                    Route::To { url, .. } => url,
                    Route::Unknown => return Err(TmError::UnknownRecipients(vec![key])),
                    Route::InDoubt(why) => return Err(TmError::Unreachable(vec![(key, why)])),
                };
                let copies: Vec<Vec<u8>> = self
                    .store
                    .all()?
                    .iter()
                    .filter_map(|payload| self.copy_for(payload, &key))
                    .map(|copy| copy.encode())
                    .collect();
                let total = copies.len() as u64;
                let failures: Vec<String> = stream::iter(copies)
                    .map(|copy| self.peers.push(&url, copy, caller))
                    .buffer_unordered(RESEND_CONCURRENCY)
                    .filter_map(|r| async move { r.err() })
                    .collect()
                    .await;
                if let Some(why) = failures.first() {
                    return Err(TmError::Unreachable(vec![(
                        key,
                        format!("{} of {total} pushes failed: {why}", failures.len()),
                    )]));
                }
                Ok(Resent::All(ResendResponse { total }))
            }
        }
    }
}
