//! GoQuorum's `eth_sendTransactionAsync`: `eth_sendTransaction`'s arguments plus an optional
//! `callbackUrl`. It answers at once with the zero hash; the send (the TM's round trip
//! included) continues in the background, and the callback URL, when given, receives a POST
//! of `{"txHash": "0x…"}` once the pool has the transaction, or `{"error": "…"}`. At most
//! [`IN_FLIGHT`] sends run at once: a caller beyond that waits for a free slot (back-pressure,
//! as GoQuorum's bounded queue), and nothing is dropped.

use crate::{private::SendTxArgs, MethodResult, RpcContext};
use alloy_primitives::B256;
use serde::Deserialize;
use std::{sync::Arc, time::Duration};
use tokio::sync::Semaphore;

/// Sends in the background at once, node-wide.
pub(crate) const IN_FLIGHT: usize = 256;
/// Longest wait for the callback's receiver.
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(10);

static SLOTS: Semaphore = Semaphore::const_new(IN_FLIGHT);

/// `eth_sendTransactionAsync`'s argument.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AsyncSendTxArgs {
    #[serde(flatten)]
    pub send: SendTxArgs,
    /// Where the outcome is posted.
    pub callback_url: Option<String>,
}

impl RpcContext {
    /// `eth_sendTransactionAsync`.
    pub(crate) async fn send_async(
        context: Arc<RpcContext>,
        args: AsyncSendTxArgs,
    ) -> MethodResult<B256> {
        if let Some(url) = &args.callback_url {
            reqwest::Url::parse(url)
                .map_err(|e| crate::error::invalid_params(format!("callbackUrl {url:?}: {e}")))?;
        }
        let slot = SLOTS.acquire().await.map_err(crate::error::internal_error)?;
        slot.forget();
        tokio::spawn(async move {
            let outcome = RpcContext::send_request(context, args.send, None).await;
            SLOTS.add_permits(1);
            let body = match &outcome {
                Ok(hash) => serde_json::json!({ "txHash": hash }),
                Err(error) => serde_json::json!({ "error": error.message() }),
            };
            match (&outcome, args.callback_url) {
                (_, Some(url)) => post(&url, body).await,
                (Err(error), None) => {
                    tracing::warn!(target: "rpc", error = %error.message(), "eth_sendTransactionAsync failed (no callbackUrl to tell)")
                }
                (Ok(_), None) => {}
            }
        });
        Ok(B256::ZERO)
    }
}

async fn post(url: &str, body: serde_json::Value) {
    let sent = reqwest::Client::builder()
        .timeout(CALLBACK_TIMEOUT)
        .build()
        .map(|client| client.post(url).json(&body).send());
    let answer = match sent {
        Ok(request) => request.await.map(|r| r.status()),
        Err(e) => Err(e),
    };
    match answer {
        Ok(status) if status.is_success() => {}
        Ok(status) => {
            tracing::warn!(target: "rpc", %url, %status, "eth_sendTransactionAsync's callback answered with an error")
        }
        Err(e) => {
            tracing::warn!(target: "rpc", %url, error = %e, "eth_sendTransactionAsync's callback was not reached")
        }
    }
}
