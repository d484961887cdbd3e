//! QBFT, the Byzantine-fault-tolerant consensus of GoQuorum and Besu, sans IO.
//!
//! - [`message`]: the four signed messages in GoQuorum's wire layout.
//!
//! The header format (extraData, block and commit-seal hashes) lives in
//! [`veil_primitives::istanbul`], because the chain hashes every block with it.

pub mod message;

pub use message::{
    Commit, Message, MessageError, Prepare, Proposal, ProposalPayload, RoundChange,
    RoundChangePayload, Signed,
};
