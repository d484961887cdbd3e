//! Validator sets in block-header mode: each block may carry its proposer's vote to add or
//! remove one address, and more than half the validators voting alike changes the set
//! (GoQuorum's `snapApplyHeader`). A [`Snapshot`] is the set after a block and the votes in
//! flight; [`Snapshot::apply`] moves it over the next header. Votes are cleared on epoch
//! blocks (the epoch block's own vote still counts, as in GoQuorum).

use alloy_consensus::Header;
use alloy_primitives::Address;
use alloy_rlp::{Decodable, Encodable, RlpDecodable, RlpEncodable};
use std::collections::BTreeMap;
use veil_primitives::istanbul::{QbftExtra, ValidatorVote};

/// One vote in flight.
#[derive(Clone, Debug, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct Vote {
    /// The validator that cast it (its block's proposer).
    pub voter: Address,
    /// The block that carried it.
    pub block: u64,
    /// The address voted on.
    pub candidate: Address,
    /// Add (`true`) or remove.
    pub add: bool,
}

/// The validators after a block, and the votes cast since the last epoch block. Its RLP
/// ([`Snapshot::encode`]) is what a node keeps on disk as a checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct Snapshot {
    /// The block this snapshot follows.
    pub number: u64,
    /// Byte-sorted.
    pub validators: Vec<Address>,
    /// Votes in flight, oldest first.
    pub votes: Vec<Vote>,
}

impl Snapshot {
    /// The set after block `number` is `validators` (genesis, or a transition's list).
    pub fn new(number: u64, mut validators: Vec<Address>) -> Self {
        validators.sort();
        validators.dedup();
        Self { number, validators, votes: Vec::new() }
    }

    /// The snapshot's RLP: `[number, [validators…], [[voter, block, candidate, add]…]]`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        Encodable::encode(self, &mut out);
        out
    }

    /// Reads [`Snapshot::encode`]'s bytes back; an error for anything else.
    pub fn decode(mut bytes: &[u8]) -> Result<Self, String> {
        let snapshot = <Self as Decodable>::decode(&mut bytes).map_err(|e| e.to_string())?;
        if !bytes.is_empty() {
            return Err("bytes after the snapshot".into());
        }
        Ok(snapshot)
    }

    /// Whether `address` is a validator.
    pub fn contains(&self, address: &Address) -> bool {
        self.validators.binary_search(address).is_ok()
    }

    /// The votes for and against each candidate: (adds, removes).
    pub fn tally(&self) -> BTreeMap<Address, (usize, usize)> {
        let mut tally: BTreeMap<Address, (usize, usize)> = BTreeMap::new();
        for vote in &self.votes {
            let entry = tally.entry(vote.candidate).or_default();
            if vote.add {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
        tally
    }

    /// Whether a vote would change the set: add a non-member, remove a member.
    pub fn is_meaningful(&self, vote: &ValidatorVote) -> bool {
        vote.add != self.contains(&vote.recipient)
    }

    /// The snapshot after `header`, whose parent this one follows; `epoch` is the epoch
    /// length. Refuses a header by a non-validator.
    pub fn apply(&self, header: &Header, epoch: u64) -> Result<Self, String> {
        if header.number != self.number + 1 {
            return Err(format!("block {} does not follow {}", header.number, self.number));
        }
        let author = header.beneficiary;
        if !self.contains(&author) {
            return Err(format!("block {} by {author}, not a validator", header.number));
        }
        let extra = QbftExtra::decode(&header.extra_data).map_err(|e| e.to_string())?;
        let mut next = self.clone();
        next.number = header.number;
        if epoch > 0 && header.number.is_multiple_of(epoch) {
            next.votes.clear();
        }
        let Some(vote) = extra.vote else { return Ok(next) };
        // A new vote replaces the author's earlier one on the same candidate.
        next.votes.retain(|v| !(v.voter == author && v.candidate == vote.recipient));
        if !next.is_meaningful(&vote) {
            return Ok(next);
        }
        next.votes.push(Vote {
            voter: author,
            block: header.number,
            candidate: vote.recipient,
            add: vote.add,
        });
        let agreeing = next
            .votes
            .iter()
            .filter(|v| v.candidate == vote.recipient && v.add == vote.add)
            .count();
        if agreeing > next.validators.len() / 2 {
            if vote.add {
                next.validators.push(vote.recipient);
                next.validators.sort();
            } else if next.validators.len() > 1 {
                next.validators.retain(|v| *v != vote.recipient);
                // A removed validator's votes go with it.
                next.votes.retain(|v| v.voter != vote.recipient);
            }
            next.votes.retain(|v| v.candidate != vote.recipient);
        }
        Ok(next)
    }

    /// The vote a proposer `me` puts in its block at `number`, from its pending proposals
    /// (`qbft_proposeValidatorVote`): one that would change the set and that `me` has not
    /// cast already, taken in turn by block number.
    pub fn pick_vote(
        &self,
        proposals: &BTreeMap<Address, bool>,
        me: Address,
        number: u64,
    ) -> Option<ValidatorVote> {
        let valid: Vec<ValidatorVote> = proposals
            .iter()
            .map(|(recipient, add)| ValidatorVote { recipient: *recipient, add: *add })
            .filter(|vote| self.is_meaningful(vote))
            .filter(|vote| {
                !self
                    .votes
                    .iter()
                    .any(|v| v.voter == me && v.candidate == vote.recipient && v.add == vote.add)
            })
            .collect();
        (!valid.is_empty()).then(|| valid[number as usize % valid.len()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_reads_back_from_its_bytes_and_garbage_is_an_error() {
        let snapshot = Snapshot {
            number: 1024,
            validators: vec![address(1), address(2)],
            votes: vec![Vote { voter: address(1), block: 1000, candidate: address(9), add: true }],
        };
        assert_eq!(Snapshot::decode(&snapshot.encode()), Ok(snapshot.clone()));
        let mut longer = snapshot.encode();
        longer.push(0);
        assert!(Snapshot::decode(&longer).is_err());
        assert!(Snapshot::decode(&[0xc1, 0xff]).is_err());
        assert!(Snapshot::decode(&[]).is_err());
    }
    use alloy_primitives::Bytes;

    fn address(byte: u8) -> Address {
        Address::with_last_byte(byte)
    }

    fn header(number: u64, author: u8, vote: Option<(u8, bool)>) -> Header {
        let extra = QbftExtra {
            vanity: Bytes::from(vec![0; 32]),
            vote: vote.map(|(to, add)| ValidatorVote { recipient: address(to), add }),
            ..Default::default()
        };
        Header {
            number,
            beneficiary: address(author),
            extra_data: extra.encode(),
            ..Default::default()
        }
    }

    /// Applies `(author, vote)` blocks one after another from `start`.
    fn run(start: Snapshot, blocks: &[(u8, Option<(u8, bool)>)], epoch: u64) -> Snapshot {
        blocks.iter().fold(start, |snapshot, (author, vote)| {
            snapshot.apply(&header(snapshot.number + 1, *author, *vote), epoch).unwrap()
        })
    }

    #[test]
    fn more_than_half_adding_a_candidate_adds_it_and_clears_its_votes() {
        let four = Snapshot::new(0, (1..=4).map(address).collect());
        // Two of four is not more than half; the third vote is.
        let two = run(four.clone(), &[(1, Some((9, true))), (2, Some((9, true)))], 30_000);
        assert!(!two.contains(&address(9)));
        assert_eq!(two.tally()[&address(9)], (2, 0));
        let three = run(two, &[(3, Some((9, true)))], 30_000);
        assert!(three.contains(&address(9)));
        assert_eq!(three.validators.len(), 5);
        assert!(three.votes.is_empty());
    }

    #[test]
    fn a_removed_validators_votes_go_with_it_and_repeated_votes_count_once() {
        let four = Snapshot::new(0, (1..=4).map(address).collect());
        let s = run(
            four,
            &[
                (4, Some((8, true))),  // 4 votes to add 8
                (1, Some((4, false))), // three votes to remove 4 …
                (1, Some((4, false))), // … one repeated, which counts once
                (2, Some((4, false))),
            ],
            30_000,
        );
        assert!(s.contains(&address(4)), "two distinct voters of four");
        let s = run(s, &[(3, Some((4, false)))], 30_000);
        assert!(!s.contains(&address(4)));
        assert!(s.votes.iter().all(|v| v.voter != address(4)), "4's vote for 8 is gone");
    }

    #[test]
    fn meaningless_votes_are_ignored_and_epochs_clear_the_rest() {
        let four = Snapshot::new(0, (1..=4).map(address).collect());
        let s = run(four.clone(), &[(1, Some((2, true))), (2, Some((9, false)))], 30_000);
        assert!(s.votes.is_empty(), "adding a member, removing a stranger: nothing");
        let s = run(four, &[(1, Some((9, true))), (2, Some((9, true)))], 3);
        assert_eq!(s.votes.len(), 2);
        // Block 3 is an epoch block: votes cleared, and its own vote counts (GoQuorum).
        let s = run(s, &[(3, Some((9, true)))], 3);
        assert_eq!(s.votes.len(), 1);
        assert!(!s.contains(&address(9)));
    }

    #[test]
    fn a_block_by_a_stranger_is_refused_and_proposers_pick_votes_in_turn() {
        let four = Snapshot::new(0, (1..=4).map(address).collect());
        assert!(four.apply(&header(1, 9, None), 30_000).is_err());
        assert!(four.apply(&header(2, 1, None), 30_000).is_err(), "not the next block");
        let proposals: BTreeMap<Address, bool> =
            [(address(9), true), (address(2), false), (address(3), true)].into();
        // 3 is a member already: adding it is meaningless.
        let picks: Vec<_> = (0..4).map(|n| four.pick_vote(&proposals, address(1), n)).collect();
        assert_eq!(picks[0], Some(ValidatorVote { recipient: address(2), add: false }));
        assert_eq!(picks[1], Some(ValidatorVote { recipient: address(9), add: true }));
        assert_eq!(picks[2], picks[0]);
        let voted = run(four, &[(1, Some((9, true)))], 30_000);
        assert_eq!(
            voted.pick_vote(&proposals, address(1), 1),
            Some(ValidatorVote { recipient: address(2), add: false }),
            "a vote already cast is not cast again"
        );
    }
}
