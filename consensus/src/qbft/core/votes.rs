//! Prepares and commits: a validator prepares the proposal it accepted, commits once a quorum
//! prepared it (its certificate on disk first), and seals the block once a quorum committed
//! with valid seals.

use super::{Action, Certificate, Core};
use crate::qbft::message::{Commit, Message, Prepare, Signed};
use alloy_primitives::{Address, B256};
use veil_primitives::{
    istanbul::{seal_hash, seal_signer, CommittedSeal, QbftExtra},
    sign_hash, Block,
};

impl Core {
    pub(super) fn accept(&mut self, block: Block, digest: B256, actions: &mut Vec<Action>) {
        let Some(height) = self.info.as_ref().map(|i| i.height) else { return };
        self.round.accepted = Some((block, digest));
        if !self.is_validator() {
            // A follower waits for the validators' commits.
            self.try_seal(actions);
            return;
        }
        // The round is on disk before the prepare leaves: after a crash this validator
        // resumes in the next round and never prepares another block in this one.
        actions.push(self.persist());
        let prepare =
            Signed::sign(Prepare { sequence: height, round: self.round.round, digest }, &self.key);
        actions.push(Action::Broadcast(Message::Prepare(prepare.clone())));
        self.round.prepares.insert(self.me, prepare);
        self.try_commit(actions);
    }

    pub(super) fn on_prepare(&mut self, prepare: Signed<Prepare>, actions: &mut Vec<Action>) {
        let Some(view) = self.view() else { return };
        let Ok(author) = view.validator_of(&prepare) else { return };
        if let Some(earlier) = self.round.prepares.get(&author) {
            if earlier.payload.digest != prepare.payload.digest {
                tracing::warn!(target: "qbft", %author, "two prepares for different blocks in one round");
            }
            return;
        }
        self.round.prepares.insert(author, prepare);
        self.try_commit(actions);
    }

    /// A quorum of prepares for the accepted block: the certificate, then the commit.
    pub(super) fn try_commit(&mut self, actions: &mut Vec<Action>) {
        let Some(info) = self.info.as_ref() else { return };
        let (height, quorum) = (info.height, info.quorum);
        let Some((block, digest)) = self.round.accepted.clone() else { return };
        if self.round.sent_commit || !self.is_validator() {
            return;
        }
        let prepares: Vec<Signed<Prepare>> =
            self.round.prepares.values().filter(|p| p.payload.digest == digest).cloned().collect();
        if prepares.len() < quorum {
            return;
        }
        let Ok(extra) = QbftExtra::decode(&block.header.extra_data) else { return };
        let round = self.round.round;
        self.certificate = Some(Certificate { round, digest, block: block.clone(), prepares });
        self.round.sent_commit = true;
        let seal = sign_hash(seal_hash(&block.header, &extra, round), &self.key).as_bytes();
        let commit = Signed::sign(
            Commit { sequence: height, round, digest, seal: CommittedSeal::from(seal) },
            &self.key,
        );
        // The certificate is on disk before the commit leaves.
        actions.push(self.persist());
        actions.push(Action::Broadcast(Message::Commit(commit.clone())));
        self.round.commits.insert(self.me, commit);
        self.try_seal(actions);
    }

    pub(super) fn on_commit(&mut self, commit: Signed<Commit>, actions: &mut Vec<Action>) {
        let Some(view) = self.view() else { return };
        let Ok(author) = view.validator_of(&commit) else { return };
        if self.round.commits.contains_key(&author) {
            return;
        }
        self.round.commits.insert(author, commit);
        self.try_seal(actions);
    }

    /// A quorum of commits with valid seals for the accepted block: seal and commit it.
    pub(super) fn try_seal(&mut self, actions: &mut Vec<Action>) {
        let Some(quorum) = self.info.as_ref().map(|i| i.quorum) else { return };
        let Some((block, digest)) = self.round.accepted.clone() else { return };
        if self.committed {
            return;
        }
        let matching = self.round.commits.values().filter(|c| c.payload.digest == digest).count();
        if matching < quorum {
            return;
        }
        let Ok(mut extra) = QbftExtra::decode(&block.header.extra_data) else { return };
        let round = self.round.round;
        let hash = seal_hash(&block.header, &extra, round);
        // Seals are checked once a quorum claims the block (Besu's CommitValidator).
        let invalid: Vec<Address> = self
            .round
            .commits
            .iter()
            .filter(|(_, c)| c.payload.digest == digest)
            .filter(|(author, c)| seal_signer(&c.payload.seal, hash).ok() != Some(**author))
            .map(|(author, _)| *author)
            .collect();
        for author in &invalid {
            tracing::warn!(target: "qbft", %author, "commit with a seal that is not its author's");
            self.round.commits.remove(author);
        }
        let seals: Vec<CommittedSeal> = self
            .round
            .commits
            .values()
            .filter(|c| c.payload.digest == digest)
            .map(|c| c.payload.seal)
            .collect();
        if seals.len() < quorum {
            return;
        }
        extra.round = round;
        extra.committed_seals = seals;
        let mut sealed = block;
        sealed.header.extra_data = extra.encode();
        self.committed = true;
        actions.push(Action::Commit(Box::new(sealed)));
    }
}
