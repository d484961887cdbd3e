//! Privacy enhancements on the TM (GoQuorum's party protection, mandatory recipients and
//! private state validation; Tessera's `features.enablePrivacyEnhancements`).
//!
//! Sending, [`TransactionManager`](crate::manager::TransactionManager) checks the request
//! against the creation payloads of the contracts it affects (their ACOTHs), which it must
//! hold: the same flag; for private state validation the same parties; for mandatory
//! recipients every mandatory key among the recipients. It then proves the sender holds each
//! of those payloads with a security hash (`Enclave::security_hash`) and sends them along.
//!
//! Receiving a push, the TM recomputes every security hash with its own copy of the affected
//! payload. An affected transaction it cannot confirm (unknown here, another flag, a wrong
//! hash) is dropped from the metadata for party protection — the node then refuses the
//! transaction, since an affected contract lacks its proof — and refuses the whole payload for
//! private state validation, as Tessera does.

use crate::{error::TmError, store::PayloadStore};
use veil_enclave::{
    AffectedTransaction, Enclave, EncodedPayload, PayloadHash, PrivacyFlag, PrivacyMetadata,
    TmPublicKey,
};

/// The privacy fields of a send (`/send`, `/sendsignedtx`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrivacyRequest {
    /// The flag.
    pub flag: PrivacyFlag,
    /// The creation payloads of the contracts the transaction affects.
    pub affected: Vec<PayloadHash>,
    /// The node's execution hash (private state validation).
    pub exec_hash: Vec<u8>,
    /// `mandatoryFor` (mandatory recipients).
    pub mandatory: Vec<TmPublicKey>,
}

impl PrivacyRequest {
    /// From the API's fields.
    pub fn from_api(fields: veil_tm_api::PrivacyFields) -> Result<Self, TmError> {
        let flag = PrivacyFlag::from_number(u64::from(fields.privacy_flag))
            .map_err(|e| TmError::BadRequest(e.to_string()))?;
        Ok(Self {
            flag,
            affected: fields.affected_contract_transactions,
            exec_hash: fields.exec_hash.into_bytes(),
            mandatory: fields.mandatory_recipients,
        })
    }
}

fn bad(message: String) -> TmError {
    TmError::BadRequest(message)
}

fn same_parties(a: &[TmPublicKey], b: &[TmPublicKey]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort();
    a.dedup();
    b.sort();
    b.dedup();
    a == b
}

/// Checks a request against the TM's switch; `None` for standard private.
pub(crate) fn check_enabled(request: &PrivacyRequest, enabled: bool) -> Result<(), TmError> {
    if !request.flag.is_enhanced() {
        if !request.affected.is_empty() || !request.mandatory.is_empty() {
            return Err(bad("affectedContractTransactions and mandatoryRecipients need a privacyFlag of 1, 2 or 3".into()));
        }
        return Ok(());
    }
    if !enabled {
        return Err(bad(format!(
            "privacyFlag {}: privacy enhancements are disabled on this transaction manager (features.enablePrivacyEnhancements)",
            request.flag
        )));
    }
    if request.exec_hash.len() > 255 {
        return Err(bad(format!("execHash: {} bytes, at most 255", request.exec_hash.len())));
    }
    match (request.flag, request.mandatory.is_empty()) {
        (PrivacyFlag::MandatoryRecipients, true) => {
            Err(bad("privacyFlag 2 (mandatory recipients) needs mandatoryRecipients".into()))
        }
        (PrivacyFlag::MandatoryRecipients, false) | (_, true) => Ok(()),
        (flag, false) => {
            Err(bad(format!("mandatoryRecipients are for privacyFlag 2 only, not {flag}")))
        }
    }
}

/// The metadata of a new payload from `sender` to `recipients` (the sender excluded), checked
/// against the affected payloads this TM holds; `None` for standard private.
pub(crate) fn metadata_for_send(
    enclave: &dyn Enclave,
    store: &PayloadStore,
    payload: &EncodedPayload,
    recipients: &[TmPublicKey],
    request: PrivacyRequest,
) -> Result<Option<PrivacyMetadata>, TmError> {
    if !request.flag.is_enhanced() {
        return Ok(None);
    }
    let sender = payload.sender;
    let mut parties = vec![sender];
    parties.extend(recipients.iter().filter(|k| **k != sender));
    let mut mandatory = request.mandatory.clone();
    let mut affected = Vec::with_capacity(request.affected.len());
    for hash in &request.affected {
        let original = store.get(hash)?.ok_or_else(|| {
            bad(format!(
                "affected contract transaction {hash} is not known to this transaction manager"
            ))
        })?;
        if original.flag() != request.flag {
            return Err(bad(format!(
                "privacyFlag {} does not match the affected contract transaction {hash}, sent with privacyFlag {}",
                request.flag,
                original.flag()
            )));
        }
        let original_privacy = original.privacy.as_ref();
        if request.flag == PrivacyFlag::StateValidation {
            let contract_parties = original_privacy.map(|p| p.recipients.as_slice()).unwrap_or(&[]);
            if !same_parties(contract_parties, &parties) {
                return Err(bad(format!(
                    "private state validation: the recipients must be exactly the parties of the affected contract transaction {hash}"
                )));
            }
        }
        for key in original_privacy.map(|p| p.mandatory.as_slice()).unwrap_or(&[]) {
            if !mandatory.contains(key) {
                mandatory.push(*key);
            }
        }
        let security_hash =
            enclave.security_hash(&payload.ciphertext, &original, &sender).map_err(|e| {
                bad(format!("the sender cannot open the affected contract transaction {hash}: {e}"))
            })?;
        affected.push(AffectedTransaction { hash: *hash, security_hash });
    }
    let missing: Vec<String> =
        mandatory.iter().filter(|k| !parties.contains(k)).map(ToString::to_string).collect();
    if !missing.is_empty() {
        return Err(bad(format!(
            "Privacy metadata invalid. Mandatory recipients not found: {}",
            missing.join(", ")
        )));
    }
    let all_parties =
        if request.flag == PrivacyFlag::StateValidation { parties } else { Vec::new() };
    Ok(Some(PrivacyMetadata {
        flag: request.flag,
        affected,
        exec_hash: request.exec_hash,
        mandatory,
        recipients: all_parties,
    }))
}

/// Checks a pushed payload's metadata with this TM's copies of the affected payloads, opened
/// as `key` (a local party of the push). Party protection and mandatory recipients keep only
/// the affected transactions confirmed; private state validation refuses the payload unless
/// all are.
pub(crate) fn validate_push(
    enclave: &dyn Enclave,
    store: &PayloadStore,
    payload: &mut EncodedPayload,
    local_keys: &[TmPublicKey],
    enabled: bool,
) -> Result<(), TmError> {
    let Some(privacy) = payload.privacy.as_ref() else { return Ok(()) };
    if !enabled {
        return Err(TmError::Forbidden(format!(
            "privacyFlag {}: privacy enhancements are disabled on this transaction manager (features.enablePrivacyEnhancements)",
            privacy.flag
        )));
    }
    let mut refused = Vec::new();
    let mut kept = Vec::new();
    for a in &privacy.affected {
        match confirm(enclave, store, payload, privacy, a, local_keys)? {
            Ok(()) => kept.push(a.clone()),
            Err(why) => refused.push(format!("{}: {why}", a.hash)),
        }
    }
    if refused.is_empty() {
        return Ok(());
    }
    if privacy.flag == PrivacyFlag::StateValidation {
        tracing::warn!(payload = %payload.hash(), refused = ?refused, "refused a private state validation payload");
        return Err(TmError::Forbidden(format!(
            "private state validation: affected contract transactions not confirmed here: {}",
            refused.join("; ")
        )));
    }
    tracing::warn!(payload = %payload.hash(), refused = ?refused, "affected contract transactions dropped from a pushed payload");
    if let Some(privacy) = payload.privacy.as_mut() {
        privacy.affected = kept;
    }
    Ok(())
}

/// Whether this TM confirms one affected transaction of a pushed payload: `Ok(Err(why))`
/// when it does not.
fn confirm(
    enclave: &dyn Enclave,
    store: &PayloadStore,
    payload: &EncodedPayload,
    privacy: &PrivacyMetadata,
    affected: &AffectedTransaction,
    local_keys: &[TmPublicKey],
) -> Result<Result<(), String>, TmError> {
    let Some(original) = store.get(&affected.hash)? else {
        return Ok(Err("not known here".into()));
    };
    if original.flag() != privacy.flag {
        return Ok(Err(format!("sent with privacyFlag {}", original.flag())));
    }
    if privacy.flag == PrivacyFlag::StateValidation {
        let contract_parties =
            original.privacy.as_ref().map(|p| p.recipients.as_slice()).unwrap_or(&[]);
        if !same_parties(contract_parties, &privacy.recipients) {
            return Ok(Err("its parties are not this payload's recipients".into()));
        }
    }
    let opener = local_keys
        .iter()
        .find(|k| **k == original.sender || original.boxes.iter().any(|b| b.recipient == **k));
    let Some(key) = opener else { return Ok(Err("no key here opens it".into())) };
    match enclave.security_hash(&payload.ciphertext, &original, key) {
        Ok(hash) if hash == affected.security_hash => Ok(Ok(())),
        Ok(_) => Ok(Err("wrong security hash".into())),
        Err(e) => Ok(Err(format!("does not open: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use veil_enclave::{KeyPair, LocalEnclave};

    /// Three parties' enclaves and stores (A, B, C), as three TMs would hold them.
    struct Parties {
        enclaves: Vec<LocalEnclave>,
        stores: Vec<PayloadStore>,
        keys: Vec<TmPublicKey>,
    }

    fn parties() -> Parties {
        let pairs: Vec<KeyPair> = (0..3).map(|_| KeyPair::generate()).collect();
        let keys = pairs.iter().map(KeyPair::public).collect();
        let enclaves = pairs.into_iter().map(|pair| LocalEnclave::new(vec![pair])).collect();
        let stores =
            (0..3).map(|_| PayloadStore::new(Arc::new(veil_storage::InMemoryKv::new()))).collect();
        Parties { enclaves, stores, keys }
    }

    impl Parties {
        /// `from` sends `request` to `to` as its TM does: encrypt, metadata, store; then each
        /// recipient's TM validates the push and stores what it keeps. The sender's payload.
        async fn send(
            &self,
            from: usize,
            to: &[usize],
            request: PrivacyRequest,
        ) -> Result<EncodedPayload, TmError> {
            let recipients: Vec<TmPublicKey> = to.iter().map(|i| self.keys[*i]).collect();
            let mut payload =
                self.enclaves[from].encrypt(&self.keys[from], b"call", &recipients).unwrap();
            payload.privacy = metadata_for_send(
                &self.enclaves[from],
                &self.stores[from],
                &payload,
                &recipients,
                request,
            )?;
            self.stores[from].put(&payload).await.unwrap();
            for i in to {
                self.push(*i, payload.for_recipients(&[self.keys[*i]]).unwrap()).await?;
            }
            Ok(payload)
        }

        async fn push(&self, to: usize, mut copy: EncodedPayload) -> Result<(), TmError> {
            validate_push(&self.enclaves[to], &self.stores[to], &mut copy, &[self.keys[to]], true)?;
            self.stores[to].merge(copy).await.unwrap();
            Ok(())
        }

        fn stored(&self, at: usize, hash: &PayloadHash) -> Option<EncodedPayload> {
            self.stores[at].get(hash).unwrap()
        }
    }

    fn request(flag: PrivacyFlag, affected: &[PayloadHash]) -> PrivacyRequest {
        PrivacyRequest { flag, affected: affected.to_vec(), ..Default::default() }
    }

    #[tokio::test]
    async fn a_party_of_a_protected_contract_proves_it_and_the_proof_is_confirmed() {
        let p = parties();
        let creation = p.send(0, &[1], request(PrivacyFlag::PartyProtection, &[])).await.unwrap();
        let call = p
            .send(1, &[0], request(PrivacyFlag::PartyProtection, &[creation.hash()]))
            .await
            .unwrap();
        let at_a = p.stored(0, &call.hash()).unwrap().privacy.unwrap();
        assert_eq!(at_a.affected.len(), 1, "A confirmed B's proof");
        assert_eq!(at_a.affected[0].hash, creation.hash());
    }

    #[tokio::test]
    async fn flags_must_match_and_a_non_party_cannot_name_the_contract() {
        let p = parties();
        let creation = p.send(0, &[1], request(PrivacyFlag::PartyProtection, &[])).await.unwrap();
        let lower =
            p.send(1, &[0], request(PrivacyFlag::StateValidation, &[creation.hash()])).await;
        assert!(lower.unwrap_err().to_string().contains("does not match"));
        let outsider =
            p.send(2, &[0, 1], request(PrivacyFlag::PartyProtection, &[creation.hash()])).await;
        assert!(outsider
            .unwrap_err()
            .to_string()
            .contains("not known to this transaction manager"));
    }

    /// A non-party that copied the creation payload's hash and forged a security hash: party
    /// protection drops the unconfirmed ACOTH (the node then refuses the transaction); private
    /// state validation refuses the payload.
    #[tokio::test]
    async fn a_forged_proof_is_dropped_for_party_protection_and_refused_for_validation() {
        let p = parties();
        for flag in [PrivacyFlag::PartyProtection, PrivacyFlag::StateValidation] {
            let creation = p.send(0, &[1], request(flag, &[])).await.unwrap();
            let mut forged = p.enclaves[2].encrypt(&p.keys[2], b"steal", &[p.keys[0]]).unwrap();
            forged.privacy = Some(PrivacyMetadata {
                flag,
                affected: vec![AffectedTransaction {
                    hash: creation.hash(),
                    security_hash: [7; 64],
                }],
                recipients: vec![p.keys[2], p.keys[0], p.keys[1]],
                ..Default::default()
            });
            let pushed = p.push(0, forged.clone()).await;
            match flag {
                PrivacyFlag::StateValidation => {
                    assert!(pushed.unwrap_err().to_string().contains("not confirmed here"));
                    assert!(p.stored(0, &forged.hash()).is_none(), "refused payloads are not kept");
                }
                _ => {
                    pushed.unwrap();
                    let kept = p.stored(0, &forged.hash()).unwrap().privacy.unwrap();
                    assert!(kept.affected.is_empty(), "the forged ACOTH was dropped");
                }
            }
        }
    }

    #[tokio::test]
    async fn state_validation_needs_exactly_the_contracts_parties() {
        let p = parties();
        let creation =
            p.send(0, &[1, 2], request(PrivacyFlag::StateValidation, &[])).await.unwrap();
        let subset =
            p.send(0, &[1], request(PrivacyFlag::StateValidation, &[creation.hash()])).await;
        assert!(subset.unwrap_err().to_string().contains("exactly the parties"));
        let all =
            p.send(1, &[0, 2], request(PrivacyFlag::StateValidation, &[creation.hash()])).await;
        assert_eq!(all.unwrap().privacy.unwrap().affected.len(), 1);
    }

    #[tokio::test]
    async fn mandatory_recipients_must_be_included_in_every_later_transaction() {
        let p = parties();
        let mut create = request(PrivacyFlag::MandatoryRecipients, &[]);
        create.mandatory = vec![p.keys[2]];
        let creation = p.send(0, &[1, 2], create).await.unwrap();
        let mut later = request(PrivacyFlag::MandatoryRecipients, &[creation.hash()]);
        later.mandatory = vec![p.keys[1]];
        let left_out = p.send(0, &[1], later.clone()).await.unwrap_err().to_string();
        assert!(
            left_out.contains("Mandatory recipients not found")
                && left_out.contains(&p.keys[2].to_string()),
            "{left_out}"
        );
        let included = p.send(0, &[1, 2], later).await.unwrap().privacy.unwrap();
        assert!(included.mandatory.contains(&p.keys[1]) && included.mandatory.contains(&p.keys[2]));
    }

    #[test]
    fn switches_and_fields_are_checked_before_anything_is_encrypted() {
        let pp = request(PrivacyFlag::PartyProtection, &[]);
        assert!(check_enabled(&pp, false).unwrap_err().to_string().contains("disabled"));
        assert!(check_enabled(&pp, true).is_ok());
        let mpp = request(PrivacyFlag::MandatoryRecipients, &[]);
        assert!(check_enabled(&mpp, true)
            .unwrap_err()
            .to_string()
            .contains("needs mandatoryRecipients"));
        let standard = request(PrivacyFlag::StandardPrivate, &[PayloadHash([1; 64])]);
        assert!(check_enabled(&standard, false).is_err());
    }
}
