//! The import rule for a QBFT block from any source (a commit here, a peer's sync answer):
//! its committed seals come from at least a quorum of distinct validators of its parent.

use alloy_consensus::Header;
use alloy_primitives::Address;
use std::collections::BTreeSet;
use veil_primitives::istanbul::{seal_hash, seal_signer, QbftExtra};

/// The validators whose seals `header` carries, when they are at least `quorum` distinct
/// members of `validators`; otherwise why not.
pub fn check_committed_seals(
    header: &Header,
    validators: &[Address],
    quorum: usize,
) -> Result<Vec<Address>, String> {
    let extra = QbftExtra::decode(&header.extra_data).map_err(|e| e.to_string())?;
    let hash = seal_hash(header, &extra, extra.round);
    let mut signers = BTreeSet::new();
    for seal in &extra.committed_seals {
        let signer = seal_signer(seal, hash).map_err(|e| format!("a committed seal: {e}"))?;
        if validators.binary_search(&signer).is_err() {
            return Err(format!("a committed seal by {signer}, not a validator"));
        }
        if !signers.insert(signer) {
            return Err(format!("two committed seals by {signer}"));
        }
    }
    if signers.len() < quorum {
        return Err(format!("{} committed seals, the quorum is {quorum}", signers.len()));
    }
    Ok(signers.into_iter().collect())
}
