//! `veil-tm`, Veil's transaction manager: it keeps private payloads encrypted, hands them only
//! to their parties, and speaks Tessera's API shapes.
//!
//! - [`store`]: encoded payloads in RocksDB, group-committed (one fsync per group of writes).
//! - [`manager`]: send, store-raw, send-signed, receive, push and resend.
//! - [`auth`]: each TM's ed25519 identity; signed TM-to-TM requests and answers.
//! - [`party`] and [`discovery`]: peers and which identity holds each key, accepted only after
//!   the peer proves it holds the key for its own identity and URL.
//! - [`api`]: the Q2T, ThirdParty and P2P HTTP APIs; [`serve`] runs them on unix sockets, TCP
//!   or TLS ([`tls`]).
//! - [`remote_enclave`]: the `veil-tm enclave` server and the TM's client of it, so the TM
//!   process can run without any private key.
//! - [`run`]: assembly from a Tessera-shaped configuration; [`cli`]: the `veil-tm` commands.

pub mod api;
pub mod auth;
pub mod cli;
pub mod discovery;
pub mod enclave_handle;
pub mod error;
pub mod manager;
pub mod party;
pub mod peer_client;
pub mod privacy;
pub mod remote_enclave;
pub mod run;
pub mod serve;
pub mod store;
pub mod tls;
