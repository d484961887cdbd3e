//! [`EnclaveHandle`]: the TM's way to its keys, in process or in a remote enclave. Local calls
//! run inline (microseconds of CPU); remote calls block on the network, so they run on the
//! blocking pool.

use crate::remote_enclave::RemoteEnclave;
use std::sync::Arc;
use veil_enclave::{Enclave, EnclaveError, LocalEnclave};

/// The enclave a TM uses.
#[derive(Clone)]
pub enum EnclaveHandle {
    /// Keys in this process.
    Local(Arc<LocalEnclave>),
    /// Keys in a `veil-tm enclave` process.
    Remote(Arc<RemoteEnclave>),
}

impl EnclaveHandle {
    /// Runs `call` against the enclave.
    pub async fn run<T, F>(&self, call: F) -> Result<T, EnclaveError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Enclave) -> Result<T, EnclaveError> + Send + 'static,
    {
        match self {
            EnclaveHandle::Local(enclave) => call(enclave.as_ref()),
            EnclaveHandle::Remote(enclave) => {
                let enclave = enclave.clone();
                tokio::task::spawn_blocking(move || call(enclave.as_ref()))
                    .await
                    .map_err(|e| EnclaveError::Remote(format!("enclave call aborted: {e}")))?
            }
        }
    }

    /// The enclave's public keys, the default first.
    pub fn public_keys(&self) -> Vec<veil_enclave::TmPublicKey> {
        match self {
            EnclaveHandle::Local(enclave) => enclave.public_keys(),
            EnclaveHandle::Remote(enclave) => enclave.public_keys(),
        }
    }
}
