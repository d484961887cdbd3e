//! The checks that make QBFT safe across rounds: a round change's prepared certificate, and
//! the justification a proposal for round > 0 must carry (the spec's
//! `isProposalJustification`, as Besu checks it — stricter than GoQuorum, which checks neither
//! the distinctness of authors nor the prepares' signatures).

use super::message::{Prepare, Proposal, RoundChange, RoundChangePayload, Signed};
use alloy_primitives::{Address, B256};
use std::collections::BTreeSet;
use veil_primitives::istanbul::block_hash;

/// The height being decided and who decides it.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    /// The height.
    pub height: u64,
    /// Its validators, byte-sorted.
    pub validators: &'a [Address],
    /// How many make a quorum.
    pub quorum: usize,
}

impl View<'_> {
    /// The signer of `signed`, if it is a validator of this height.
    pub fn validator_of<P: super::message::Payload>(
        &self,
        signed: &Signed<P>,
    ) -> Result<Address, String> {
        let author = signed.signer().map_err(|e| e.to_string())?;
        if self.validators.binary_search(&author).is_err() {
            return Err(format!("{author} is not a validator of block {}", self.height));
        }
        Ok(author)
    }

    /// At least a quorum of prepares for (height, `round`, `digest`) from distinct validators.
    pub fn check_certificate(
        &self,
        prepares: &[Signed<Prepare>],
        round: u32,
        digest: B256,
    ) -> Result<(), String> {
        let mut authors = BTreeSet::new();
        for prepare in prepares {
            let p = &prepare.payload;
            if (p.sequence, p.round, p.digest) != (self.height, round, digest) {
                return Err("a prepare of the certificate is for another block or round".into());
            }
            if !authors.insert(self.validator_of(prepare)?) {
                return Err("two prepares of the certificate have one author".into());
            }
        }
        if authors.len() < self.quorum {
            return Err(format!(
                "a prepared certificate needs {} prepares, it has {}",
                self.quorum,
                authors.len()
            ));
        }
        Ok(())
    }

    /// A signed round change's payload rules: this height, a round ≥ 1, a prepared round
    /// below it. Answers its author.
    fn check_round_change_payload(
        &self,
        signed: &Signed<RoundChangePayload>,
    ) -> Result<Address, String> {
        let p = &signed.payload;
        if p.sequence != self.height {
            return Err(format!("a round change for block {}, not {}", p.sequence, self.height));
        }
        if p.round == 0 {
            return Err("a round change to round 0".into());
        }
        if p.prepared.is_some_and(|(prepared, _)| prepared >= p.round) {
            return Err("a round change prepared in its own round or later".into());
        }
        self.validator_of(signed)
    }

    /// A whole ROUND-CHANGE: its payload rules, and when it claims a prepared block, the block
    /// with that digest and its certificate. Answers its author.
    pub fn check_round_change(&self, rc: &RoundChange) -> Result<Address, String> {
        let author = self.check_round_change_payload(&rc.signed)?;
        match (rc.signed.payload.prepared, &rc.prepared_block) {
            (None, _) => {}
            (Some(_), None) => return Err("a prepared round change without its block".into()),
            (Some((round, digest)), Some(block)) => {
                if block_hash(&block.header) != digest {
                    return Err("the prepared block does not have the prepared digest".into());
                }
                self.check_certificate(&rc.prepares, round, digest)?;
            }
        }
        Ok(author)
    }

    /// The justification of `proposal` for a round above 0, by `author`: a quorum of round
    /// changes for its round from distinct validators; and, when any of them prepared, the
    /// block is the highest prepared one with a quorum of prepares. A new block must be the
    /// author's own (its coinbase).
    pub fn check_justification(&self, proposal: &Proposal, author: Address) -> Result<(), String> {
        let round = proposal.signed.payload.round;
        let mut authors = BTreeSet::new();
        let mut highest: Option<(u32, B256)> = None;
        for rc in &proposal.round_changes {
            let rc_author = self.check_round_change_payload(rc)?;
            if rc.payload.round != round {
                return Err("a justifying round change is for another round".into());
            }
            if !authors.insert(rc_author) {
                return Err("two justifying round changes have one author".into());
            }
            if let Some(prepared) = rc.payload.prepared {
                if highest.is_none_or(|(r, _)| prepared.0 > r) {
                    highest = Some(prepared);
                }
            }
        }
        if authors.len() < self.quorum {
            return Err(format!(
                "a round {round} proposal needs {} round changes, it has {}",
                self.quorum,
                authors.len()
            ));
        }
        let block = &proposal.signed.payload.block;
        match highest {
            None => {
                if block.header.beneficiary != author {
                    return Err("a new block in a later round must be its proposer's own".into());
                }
                if !proposal.prepares.is_empty() {
                    return Err("prepares justify no unprepared round change".into());
                }
                Ok(())
            }
            Some((prepared_round, digest)) => {
                if block_hash(&block.header) != digest {
                    return Err("the proposal is not the highest prepared block".into());
                }
                self.check_certificate(&proposal.prepares, prepared_round, digest)
            }
        }
    }
}
