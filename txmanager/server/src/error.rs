//! [`TmError`]: every way a TM request fails, with its HTTP status and a message that says
//! what to fix.

use crate::store::StoreError;
use axum::{http::StatusCode, response::IntoResponse};
use veil_enclave::{EnclaveError, PayloadHash, TmPublicKey};

/// Why a TM request failed.
#[derive(Debug, thiserror::Error)]
pub enum TmError {
    /// Malformed input (400).
    #[error("{0}")]
    BadRequest(String),
    /// No such payload for these keys (404): unknown, or this TM is not a party.
    #[error("no payload {0} for the keys of this transaction manager")]
    NotFound(PayloadHash),
    /// Recipients whose TM is unknown (404, as Tessera).
    #[error("Recipient not found for key: {}", keys(.0))]
    UnknownRecipients(Vec<TmPublicKey>),
    /// The sender is not a key of this TM (400).
    #[error("sender key {0} is not a key of this transaction manager")]
    UnknownSender(TmPublicKey),
    /// A payload above the configured limit (413).
    #[error("payload of {size} bytes is above the limit of {limit} bytes (payloadSizeLimit)")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Recipients whose TM did not acknowledge a push (502); nothing was stored.
    #[error("not sent: no acknowledgement from the transaction managers of {}", unreachable(.0))]
    Unreachable(Vec<(TmPublicKey, String)>),
    /// The request is not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// The enclave refused or failed.
    #[error(transparent)]
    Enclave(#[from] EnclaveError),
    /// The store failed (500).
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn keys(keys: &[TmPublicKey]) -> String {
    keys.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

fn unreachable(failures: &[(TmPublicKey, String)]) -> String {
    failures.iter().map(|(key, why)| format!("{key} ({why})")).collect::<Vec<_>>().join(", ")
}

impl TmError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            TmError::BadRequest(_) | TmError::UnknownSender(_) => StatusCode::BAD_REQUEST,
            TmError::NotFound(_) | TmError::UnknownRecipients(_) => StatusCode::NOT_FOUND,
            TmError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            TmError::Unreachable(_) => StatusCode::BAD_GATEWAY,
            TmError::Forbidden(_) => StatusCode::FORBIDDEN,
            TmError::Enclave(EnclaveError::UnknownKey(_)) => StatusCode::BAD_REQUEST,
            TmError::Enclave(EnclaveError::NotARecipient(_)) => StatusCode::NOT_FOUND,
            TmError::Enclave(EnclaveError::Authentication(_) | EnclaveError::NotTheSender(_)) => {
                StatusCode::BAD_REQUEST
            }
            TmError::Enclave(EnclaveError::Remote(_)) => StatusCode::BAD_GATEWAY,
            TmError::Enclave(EnclaveError::Encryption) | TmError::Store(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl IntoResponse for TmError {
    fn into_response(self) -> axum::response::Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, "request failed");
        }
        (status, self.to_string()).into_response()
    }
}
