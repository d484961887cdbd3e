//! Party discovery with proof of key ownership bound to the claimant's identity and URL.
//!
//! Every `partyInfoInterval` a TM posts what it knows (`PartyInfo`, signed) to each peer; the
//! peer's signed answer confirms that the TM at that URL is the identity that signed it. A key
//! is mapped to an identity only when that identity claims it for its own URL *and* the key's
//! holder confirms the claim: we encrypt to the key a challenge naming the claimant's identity
//! and URL and post it to `<url>/partyinfo/validate`; a TM opens only challenges naming its
//! own identity and URL, so a challenge relayed by an impostor is refused by the real holder.
//! A key held by one identity is never moved to another by a claim (see `party`).

use crate::{auth::IdentityKey, manager::TransactionManager, party::normalize};
use rand::RngCore;
use std::{sync::Arc, time::Duration};
use veil_enclave::{EncodedPayload, TmPublicKey};
use veil_tm_api::PartyInfo;

/// What every challenge plaintext starts with; `/partyinfo/validate` opens nothing else, so it
/// cannot be used to decrypt real payloads. It is followed by the claimant's identity (32
/// bytes), a random nonce (32 bytes) and the claimant's URL.
pub const CHALLENGE_PREFIX: &[u8] = b"veil-tm key ownership challenge v2\n";

fn challenge(identity: &IdentityKey, url: &str) -> Vec<u8> {
    let mut plaintext = CHALLENGE_PREFIX.to_vec();
    plaintext.extend_from_slice(&identity.0);
    let mut nonce = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    plaintext.extend_from_slice(&nonce);
    plaintext.extend_from_slice(normalize(url).as_bytes());
    plaintext
}

/// Merges the announcement of `identity`, whose signed request or answer says it is at
/// `info.url`: its claims on keys for its own URL are proven, and keys it no longer lists are
/// released.
pub async fn merge(manager: &TransactionManager, identity: IdentityKey, info: &PartyInfo) {
    let parties = manager.parties();
    let url = normalize(&info.url);
    let own: Vec<TmPublicKey> =
        info.keys.iter().filter(|k| normalize(&k.url) == url).map(|k| k.key).collect();
    parties.announced(&identity, &own);
    let claims = own.into_iter().filter(|key| {
        parties.owner_of(key) != Some(identity)
            && !manager.local_keys().contains(key)
            && parties.may_claim(key, &identity, &url)
    });
    for key in claims.collect::<Vec<_>>() {
        match prove(manager, identity, &url, &key).await {
            Ok(()) => parties.accept_key(key, identity),
            Err(why) => tracing::warn!(%key, %url, %identity, %why, "key claim refused"),
        }
    }
}

/// Asks the TM at `url` to prove that `key` is held there by `identity`.
async fn prove(
    manager: &TransactionManager,
    identity: IdentityKey,
    url: &str,
    key: &TmPublicKey,
) -> Result<(), String> {
    let plaintext = challenge(&identity, url);
    let sender = manager.local_keys()[0];
    let (recipient, sealed) = (*key, plaintext.clone());
    let payload = manager
        .enclave()
        .run(move |e| e.encrypt(&sender, &sealed, &[recipient]))
        .await
        .map_err(|e| e.to_string())?;
    let copy = payload.for_recipients(&[*key]).map(|c| c.encode()).unwrap_or_default();
    let (answer, signed_ms) = manager.peers().validate(url, copy, identity).await?;
    if answer != plaintext {
        return Err("the answer to the ownership challenge is wrong".into());
    }
    manager.parties().answered(url, identity, signed_ms);
    Ok(())
}

/// Opens a challenge addressed to one of our keys (`POST /partyinfo/validate`); refuses any
/// payload that is not a challenge naming this TM's identity and URL.
pub async fn answer_challenge(
    manager: &TransactionManager,
    bytes: &[u8],
) -> Result<Vec<u8>, String> {
    let payload = EncodedPayload::decode(bytes).map_err(|e| e.to_string())?;
    let key = payload
        .recipients()
        .into_iter()
        .find(|k| manager.local_keys().contains(k))
        .ok_or("the challenge is not addressed to a key of this transaction manager")?;
    let plaintext = manager
        .enclave()
        .run(move |e| e.decrypt(&payload, &key))
        .await
        .map_err(|e| e.to_string())?;
    let rest = plaintext.strip_prefix(CHALLENGE_PREFIX).ok_or("not a key ownership challenge")?;
    let parties = manager.parties();
    let (named, rest) = rest.split_at_checked(32).ok_or("a truncated challenge")?;
    let url = rest.get(32..).ok_or("a truncated challenge")?;
    if named != parties.own_identity().0 || url != parties.own_url().as_bytes() {
        tracing::warn!(
            %key,
            "refused an ownership challenge for another identity or URL (a relayed claim)"
        );
        return Err(format!(
            "the challenge names another identity or URL than this TM's ({} at {}): a relayed \
             claim",
            parties.own_identity(),
            parties.own_url()
        ));
    }
    Ok(plaintext.to_vec())
}

/// Exchanges party info with `url` once.
async fn exchange(manager: &TransactionManager, url: &str, ours: &PartyInfo) {
    match manager.peers().party_info(url, ours).await {
        Ok((identity, signed_ms, theirs)) if normalize(&theirs.url) == url => {
            manager.parties().answered(url, identity, signed_ms);
            for peer in &theirs.peers {
                manager.parties().learn_peer(&peer.url);
            }
            merge(manager, identity, &theirs).await;
        }
        Ok((identity, _, theirs)) => {
            tracing::warn!(%url, %identity, said = %theirs.url, "a peer answered for another URL");
            manager.parties().failed(url);
        }
        Err(why) => {
            tracing::debug!(%url, %why, "peer unreachable");
            manager.parties().failed(url);
        }
    }
}

/// Exchanges party info with every known peer each `interval`, forever.
pub async fn run(manager: Arc<TransactionManager>, interval: Duration) {
    loop {
        let ours = manager.parties().info();
        let peers = manager.parties().peers();
        futures::future::join_all(peers.iter().map(|url| exchange(&manager, url, &ours))).await;
        tokio::time::sleep(interval).await;
    }
}
