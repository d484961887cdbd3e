//! Party discovery with proof of key ownership.
//!
//! Every `partyInfoInterval` a TM posts what it knows (`PartyInfo`) to each peer and merges
//! the answer; a TM receiving such a post merges the sender's view the same way. Peers' URLs
//! are learnt freely (with discovery on), but a key is mapped to a URL only when the TM at that
//! very URL claims it *and* proves it holds the private key: we encrypt a random challenge to
//! the key and post it to `<url>/partyinfo/validate`; only the holder of the key can answer it.
//! A TM announcing someone else's key with its own URL is therefore never believed.

use crate::{manager::TransactionManager, party::normalize};
use rand::RngCore;
use std::{sync::Arc, time::Duration};
use veil_enclave::{EncodedPayload, TmPublicKey};
use veil_tm_api::PartyInfo;

/// What every challenge plaintext starts with; `/partyinfo/validate` opens nothing else, so it
/// cannot be used to decrypt real payloads.
pub const CHALLENGE_PREFIX: &[u8] = b"veil-tm key ownership challenge v1\n";

/// Merges a peer's party info: its peers, and the keys it claims for its own URL once proven.
pub async fn merge(manager: &TransactionManager, peer_url: &str, info: &PartyInfo) {
    let parties = manager.parties();
    let peer_url = normalize(peer_url);
    for peer in &info.peers {
        parties.learn_peer(&peer.url);
    }
    let claims: Vec<TmPublicKey> = info
        .keys
        .iter()
        .filter(|k| normalize(&k.url) == peer_url && !parties.is_proven(&k.key, &peer_url))
        .filter(|k| !manager.local_keys().contains(&k.key))
        .map(|k| k.key)
        .collect();
    for key in claims {
        match prove(manager, &peer_url, &key).await {
            Ok(()) => parties.accept_key(key, &peer_url),
            Err(why) => tracing::warn!(%key, url = %peer_url, %why, "key claim refused"),
        }
    }
}

/// Asks the TM at `url` to prove it holds `key`.
async fn prove(manager: &TransactionManager, url: &str, key: &TmPublicKey) -> Result<(), String> {
    let mut plaintext = CHALLENGE_PREFIX.to_vec();
    let mut nonce = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    plaintext.extend_from_slice(&nonce);
    let sender = manager.local_keys()[0];
    let (recipient, challenge) = (*key, plaintext.clone());
    let payload = manager
        .enclave()
        .run(move |e| e.encrypt(&sender, &challenge, &[recipient]))
        .await
        .map_err(|e| e.to_string())?;
    let copy = payload.for_recipients(&[*key]).map(|c| c.encode()).unwrap_or_default();
    let answer = manager.peers().validate(url, copy).await?;
    if answer == plaintext {
        Ok(())
    } else {
        Err("the answer to the ownership challenge is wrong".into())
    }
}

/// Opens a challenge addressed to one of our keys (`POST /partyinfo/validate`); refuses any
/// payload that is not a challenge.
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
    if plaintext.starts_with(CHALLENGE_PREFIX) {
        Ok(plaintext.to_vec())
    } else {
        Err("not a key ownership challenge".into())
    }
}

/// Exchanges party info with every known peer each `interval`, forever.
pub async fn run(manager: Arc<TransactionManager>, interval: Duration) {
    loop {
        let ours = manager.parties().info();
        let rounds = manager.parties().peers().into_iter().map(|url| {
            let (manager, ours) = (manager.clone(), ours.clone());
            async move {
                match manager.peers().party_info(&url, &ours).await {
                    Ok(theirs) => merge(&manager, &url, &theirs).await,
                    Err(why) => tracing::debug!(%url, %why, "peer unreachable"),
                }
            }
        });
        futures::future::join_all(rounds).await;
        tokio::time::sleep(interval).await;
    }
}
