//! geth's JSON-RPC error codes and texts.

use alloy_primitives::Bytes;
use alloy_sol_types::{Panic, Revert, SolError};
use jsonrpsee::types::ErrorObjectOwned;

/// -32602: the parameters are wrong; the text says which and why.
pub(crate) fn invalid_params(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32602, message.into(), None::<()>)
}

/// -32000: the request is well-formed but cannot be served (geth's catch-all).
pub(crate) fn server_error(message: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32000, message.to_string(), None::<()>)
}

/// -32603: the node failed (storage); the request may work again.
pub(crate) fn internal_error(message: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32603, format!("internal error: {message}"), None::<()>)
}

/// The text geth gives a revert: `execution reverted`, plus the decoded `Error(string)` or
/// `Panic(uint256)` reason when there is one.
pub(crate) fn revert_message(output: &[u8]) -> String {
    if let Ok(revert) = Revert::abi_decode(output) {
        format!("execution reverted: {}", revert.reason())
    } else if let Ok(panic) = Panic::abi_decode(output) {
        format!("execution reverted: {panic}")
    } else {
        "execution reverted".to_string()
    }
}

/// Code 3 with geth's text and the raw revert data as hex in `data`.
pub(crate) fn reverted(output: &Bytes) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(3, revert_message(output), Some(output.clone()))
}
