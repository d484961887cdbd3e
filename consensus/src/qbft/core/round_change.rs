//! Round changes: stored per round and author, F+1 of them for later rounds pull a validator
//! forward, and a quorum for a round lets its proposer propose — the highest prepared block
//! they carry, or a new one.

use super::{Action, Certificate, Core, ROUNDS_AHEAD};
use crate::qbft::message::{RoundChange, RoundChangePayload, Signed};

impl Core {
    pub(super) fn on_round_change(
        &mut self,
        rc: RoundChange,
        now_ms: u64,
        actions: &mut Vec<Action>,
    ) {
        let Some(view) = self.view() else { return };
        let round = rc.signed.payload.round;
        let current = self.round.round;
        if round < current || round > current.saturating_add(ROUNDS_AHEAD) {
            return;
        }
        let author = match view.check_round_change(&rc) {
            Ok(author) => author,
            Err(why) => {
                tracing::debug!(target: "qbft", %why, "round change refused");
                return;
            }
        };
        let faulty_plus_one = self
            .info
            .as_ref()
            .map_or(1, |i| veil_config::QbftParams::faulty(i.validators.len()) + 1);
        let slot = self.round_changes.entry(round).or_default();
        if slot.contains_key(&author) {
            return;
        }
        slot.insert(author, rc);
        let highest = self.highest_round.entry(author).or_insert(round);
        *highest = (*highest).max(round);
        // F+1 validators in later rounds: one of them is honest, follow to the lowest.
        let later: Vec<u32> =
            self.highest_round.values().copied().filter(|r| *r > current).collect();
        if later.len() >= faulty_plus_one {
            if let Some(target) = later.iter().min() {
                self.enter_round(*target, now_ms, actions);
                return;
            }
        }
        if round == current {
            self.try_propose_justified(actions);
        }
    }
    /// The round changes justifying a proposal in the current round, with the highest
    /// prepared certificate among them, once a quorum asked for the round.
    pub(super) fn justification(
        &self,
    ) -> Option<(Option<Certificate>, Vec<Signed<RoundChangePayload>>)> {
        let quorum = self.info.as_ref()?.quorum;
        let rcs = self.round_changes.get(&self.round.round)?;
        if rcs.len() < quorum {
            return None;
        }
        let highest = rcs
            .values()
            .filter_map(|rc| Some((rc.signed.payload.prepared?, rc)))
            .max_by_key(|((round, _), _)| *round)
            .and_then(|((round, digest), rc)| {
                Some(Certificate {
                    round,
                    digest,
                    block: rc.prepared_block.clone()?,
                    prepares: rc.prepares.clone(),
                })
            });
        Some((highest, rcs.values().map(|rc| rc.signed.clone()).collect()))
    }

    /// In a round above 0, once a quorum asked for it, its proposer re-proposes the highest
    /// prepared block, or builds a new one.
    pub(super) fn try_propose_justified(&mut self, actions: &mut Vec<Action>) {
        let round = self.round.round;
        if round == 0
            || self.round.proposed
            || self.round.building
            || self.proposer_of(round) != Some(self.me)
        {
            return;
        }
        let Some((prepared, rcs)) = self.justification() else { return };
        match prepared {
            Some(certificate) => {
                self.propose(certificate.block, rcs, certificate.prepares, actions)
            }
            None => {
                self.round.building = true;
                let height = self.info.as_ref().map_or(0, |i| i.height);
                actions.push(Action::Build { height, round });
            }
        }
    }
}
