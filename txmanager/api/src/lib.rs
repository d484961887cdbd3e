//! The contract between a node and its transaction manager, and between transaction managers.
//!
//! - [`types`]: the JSON bodies of Tessera's Q2T, ThirdParty and P2P APIs, with Tessera's field
//!   names (`payload`, `from`, `to`, `key`, `senderKey`, `managedParties`, …), so requests
//!   written for Tessera parse as they are.
//! - [`Base64Bytes`]: bytes carried as standard base64 in JSON.
//! - [`TmClient`]: a small HTTP/1.1 client of a TM's Q2T API over a unix socket or TCP, keeping
//!   its connections open between requests.
//!
//! ```
//! use veil_tm_api::{SendRequest, Base64Bytes};
//! let request: SendRequest = serde_json::from_str(
//!     r#"{"payload":"aGVsbG8=","to":["BULeR8JyUWhiuuCMU/HLA0Q5pzkYT+cHII3ZKBey3Bo="]}"#,
//! ).unwrap();
//! assert_eq!(request.payload, Base64Bytes(b"hello".to_vec()));
//! ```

mod client;
pub mod types;

pub use client::{ClientError, TmClient, TmEndpoint};
pub use types::*;
