//! QBFT, the Byzantine-fault-tolerant consensus of GoQuorum and Besu, sans IO.
//!
//! - [`message`]: the four signed messages in GoQuorum's wire layout.
//! - [`core`]: one validator's state machine ([`Core`]), driven by its engine through
//!   [`Action`]s.
//! - [`justify`]: prepared certificates and round-change justifications.
//! - [`rules`]: proposer rotation, round timeouts.
//! - [`seal`]: the committed-seal check every imported block passes.
//! - [`validators`]: the validator set after each block, changed by header votes.
//!
//! The header format (extraData, block and commit-seal hashes) lives in
//! [`veil_primitives::istanbul`], because the chain hashes every block with it.

pub mod core;
pub mod justify;
pub mod message;
pub mod rules;
pub mod seal;
pub mod validators;

pub use self::core::{Action, Core, HeightInfo};
pub use message::{
    Commit, Message, MessageError, Prepare, Proposal, ProposalPayload, RoundChange,
    RoundChangePayload, Signed,
};
pub use seal::check_committed_seals;
pub use validators::Snapshot;
