//! Privacy enhancements on a party's node: what a private run must satisfy before its changes
//! reach private state (GoQuorum's `pmh.verify`).
//!
//! Every contract created by a transaction with an enhanced privacy flag keeps its
//! [`ContractPrivacy`]: the flag and the hash of its creation payload (its ACOTH). A later run
//! is *affected* by a private contract when it calls it (the transaction's target) or changes
//! its storage. Its changes are kept only if, for every affected contract:
//!
//! - its flag equals the transaction's (a contract without metadata is standard private, 0);
//! - for an enhanced flag, its creation payload is among the ones this node's TM confirmed the
//!   sender holds ([`PayloadPrivacy::affected`]);
//!
//! and, for private state validation, the run's [`exec_hash`] equals the sender's. Otherwise
//! the run fails (status 0), with no private change, the same way on every party.

use alloy_primitives::{keccak256, Address, Bytes, B256};
use revm::state::EvmState;
use std::collections::BTreeMap;
use veil_primitives::{PayloadHash, PrivacyFlag};

/// What privacy enhancements add to a party's payload, from its TM.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PayloadPrivacy {
    /// The flag it was sent with.
    pub flag: PrivacyFlag,
    /// The affected contracts' creation payloads that the TM confirmed the sender holds.
    pub affected: Vec<PayloadHash>,
    /// The sender's execution hash (private state validation).
    pub exec_hash: Bytes,
}

/// A private contract's protection, kept from its creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContractPrivacy {
    /// The flag of its creation.
    pub flag: PrivacyFlag,
    /// Its creation payload's hash (its ACOTH).
    pub creation: PayloadHash,
}

impl ContractPrivacy {
    /// 1 flag byte, then the 64-byte hash.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(65);
        out.push(self.flag.number());
        out.extend_from_slice(self.creation.as_bytes());
        out
    }

    /// Reads [`ContractPrivacy::encode`]'s form.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let (&flag, hash) = bytes.split_first()?;
        Some(Self {
            flag: PrivacyFlag::from_number(u64::from(flag)).ok()?,
            creation: PayloadHash(hash.try_into().ok()?),
        })
    }
}

/// Where a node keeps its contracts' [`ContractPrivacy`].
pub trait ContractPrivacyReader: Send + Sync {
    /// The protection of a private contract; `None` for one created standard private.
    fn contract_privacy(
        &self,
        address: &Address,
    ) -> Result<Option<ContractPrivacy>, veil_storage::StorageError>;
}

/// A node without any protected contract.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoContractPrivacy;

impl ContractPrivacyReader for NoContractPrivacy {
    fn contract_privacy(
        &self,
        _: &Address,
    ) -> Result<Option<ContractPrivacy>, veil_storage::StorageError> {
        Ok(None)
    }
}

/// The private contracts a run affects: its target when private, and every private account
/// whose storage it changed, apart from `created`. `is_private` tells private accounts from
/// the public ones private frames read.
pub fn affected_contracts(
    changes: &EvmState,
    target: Option<Address>,
    created: Option<Address>,
    is_private: impl Fn(&Address) -> bool,
) -> Vec<Address> {
    let mut affected: Vec<Address> = changes
        .iter()
        .filter(|(address, account)| {
            Some(**address) != created
                && is_private(address)
                && (Some(**address) == target
                    || account.is_selfdestructed()
                    || account.storage.values().any(|slot| slot.is_changed()))
                && !account.info.is_empty_code_hash()
        })
        .map(|(address, _)| *address)
        .collect();
    affected.sort();
    affected
}

/// A run's execution hash: keccak256 over the affected contracts, in address order, of
/// address ‖ nonce ‖ code hash ‖ every storage slot the run read or wrote, in slot order, with
/// its value after the run. Parties with the same state before the run get the same hash.
pub fn exec_hash(changes: &EvmState, affected: &[Address]) -> B256 {
    let mut bytes = Vec::new();
    for address in affected {
        let Some(account) = changes.get(address) else { continue };
        bytes.extend_from_slice(address.as_slice());
        bytes.extend_from_slice(&account.info.nonce.to_be_bytes());
        bytes.extend_from_slice(account.info.code_hash.as_slice());
        let slots: BTreeMap<_, _> =
            account.storage.iter().map(|(slot, value)| (*slot, value.present_value)).collect();
        for (slot, value) in slots {
            bytes.extend_from_slice(&slot.to_be_bytes::<32>());
            bytes.extend_from_slice(&value.to_be_bytes::<32>());
        }
    }
    keccak256(bytes)
}

/// Checks a run against its affected contracts' protection: `Err` says why it fails.
pub(crate) fn verify(
    flag: PrivacyFlag,
    privacy: Option<&PayloadPrivacy>,
    affected: &[(Address, Option<ContractPrivacy>)],
    exec_hash: impl FnOnce() -> B256,
) -> Result<(), String> {
    for (address, protection) in affected {
        let contract_flag = protection.map_or(PrivacyFlag::StandardPrivate, |p| p.flag);
        if contract_flag != flag {
            return Err(format!(
                "sent privacy flag {flag} doesn't match the flag {contract_flag} of affected contract {address}"
            ));
        }
        if let Some(protection) = protection {
            let confirmed = privacy.is_some_and(|p| p.affected.contains(&protection.creation));
            if !confirmed {
                return Err(format!(
                    "affected contract {address}: the sender did not prove it is a party (its creation payload is not among the confirmed ones)"
                ));
            }
        }
    }
    if flag == PrivacyFlag::StateValidation {
        let ours = exec_hash();
        let theirs = privacy.map(|p| p.exec_hash.as_ref()).unwrap_or_default();
        if theirs != ours.to_string().as_bytes() {
            return Err(format!(
                "private state validation: execution hash {ours} differs from the sender's"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protected(flag: PrivacyFlag, creation: u8) -> Option<ContractPrivacy> {
        Some(ContractPrivacy { flag, creation: PayloadHash([creation; 64]) })
    }

    #[test]
    fn the_flag_must_match_every_affected_contract_and_each_needs_its_proof() {
        let c = Address::repeat_byte(0xc);
        let pp = PrivacyFlag::PartyProtection;
        let proof =
            PayloadPrivacy { flag: pp, affected: vec![PayloadHash([1; 64])], ..Default::default() };
        let no_hash = || B256::ZERO;
        assert!(verify(pp, Some(&proof), &[(c, protected(pp, 1))], no_hash).is_ok());
        let without = PayloadPrivacy { flag: pp, ..Default::default() };
        assert!(verify(pp, Some(&without), &[(c, protected(pp, 1))], no_hash)
            .unwrap_err()
            .contains("did not prove"));
        let standard =
            verify(PrivacyFlag::StandardPrivate, None, &[(c, protected(pp, 1))], no_hash);
        assert!(standard.unwrap_err().contains("doesn't match"));
        assert!(verify(pp, Some(&proof), &[(c, None)], no_hash)
            .unwrap_err()
            .contains("doesn't match"));
        assert!(verify(PrivacyFlag::StandardPrivate, None, &[(c, None)], no_hash).is_ok());
    }

    #[test]
    fn state_validation_compares_execution_hashes() {
        let psv = PrivacyFlag::StateValidation;
        let ours = B256::repeat_byte(9);
        let same = PayloadPrivacy {
            flag: psv,
            exec_hash: ours.to_string().into_bytes().into(),
            ..Default::default()
        };
        assert!(verify(psv, Some(&same), &[], || ours).is_ok());
        let other = PayloadPrivacy {
            flag: psv,
            exec_hash: B256::ZERO.to_string().into_bytes().into(),
            ..Default::default()
        };
        assert!(verify(psv, Some(&other), &[], || ours).unwrap_err().contains("execution hash"));
    }

    #[test]
    fn contract_privacy_round_trips_and_garbage_is_none() {
        let p = protected(PrivacyFlag::StateValidation, 4).unwrap();
        assert_eq!(ContractPrivacy::decode(&p.encode()), Some(p));
        assert_eq!(ContractPrivacy::decode(&[9; 65]), None);
        assert_eq!(ContractPrivacy::decode(&[1; 10]), None);
    }
}
