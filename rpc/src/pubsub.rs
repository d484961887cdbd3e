//! `eth_subscribe` / `eth_unsubscribe` on WebSocket and IPC: `newHeads`, `logs` (with a
//! filter) and `newPendingTransactions`, with geth's `eth_subscription` notifications.

use super::{
    args::Args,
    convert::{block_logs, header},
    error::invalid_params,
    Module, RpcContext,
};
use alloy_rpc_types_eth::Filter;
use jsonrpsee::{
    core::{RegisterMethodError, SubscriptionResult},
    types::ErrorObjectOwned,
    PendingSubscriptionSink, SubscriptionMessage, SubscriptionSink,
};
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::broadcast::{error::RecvError, Receiver};

enum Topic {
    NewHeads,
    Logs(Box<Filter>),
    PendingTransactions,
}

fn topic(args: &Args) -> Result<Topic, ErrorObjectOwned> {
    let name: String = args.at_most(2)?.required(0)?;
    match name.as_str() {
        "newHeads" => Ok(Topic::NewHeads),
        "logs" => Ok(Topic::Logs(Box::new(args.optional(1)?.unwrap_or_default()))),
        "newPendingTransactions" => Ok(Topic::PendingTransactions),
        other => Err(invalid_params(format!("no \"{other}\" subscription in eth namespace"))),
    }
}

fn message(value: &impl Serialize) -> Option<SubscriptionMessage> {
    serde_json::value::to_raw_value(value).ok().map(SubscriptionMessage::from)
}

/// Forwards what `rx` yields, turned into notifications by `notify`, until the client goes.
async fn forward<T: Clone, M: Serialize>(
    sink: SubscriptionSink,
    mut rx: Receiver<T>,
    notify: impl Fn(T) -> Vec<M>,
) -> SubscriptionResult {
    loop {
        let item = tokio::select! {
            _ = sink.closed() => return Ok(()),
            item = rx.recv() => item,
        };
        match item {
            Ok(item) => {
                for note in notify(item) {
                    let Some(msg) = message(&note) else { continue };
                    if sink.send(msg).await.is_err() {
                        return Ok(());
                    }
                }
            }
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return Ok(()),
        }
    }
}

async fn subscribe(
    pending: PendingSubscriptionSink,
    context: Arc<RpcContext>,
    args: Args,
) -> SubscriptionResult {
    let topic = match topic(&args) {
        Ok(topic) => topic,
        Err(e) => {
            pending.reject(e).await;
            return Ok(());
        }
    };
    match topic {
        Topic::NewHeads => {
            let rx = context.chain.subscribe();
            let sink = pending.accept().await?;
            forward(sink, rx, |block| vec![header(block.hash, block.header.clone(), None)]).await
        }
        Topic::Logs(filter) => {
            let rx = context.chain.subscribe();
            let sink = pending.accept().await?;
            forward(sink, rx, move |block| {
                if !filter.matches_bloom(block.logs_bloom) {
                    return Vec::new();
                }
                block_logs(
                    block.hash,
                    block.header.number,
                    block.header.timestamp,
                    &block.transaction_hashes,
                    &block.receipts,
                )
                .into_iter()
                .flatten()
                .filter(|log| filter.matches(&log.inner))
                .collect()
            })
            .await
        }
        Topic::PendingTransactions => {
            let rx = context.pool.subscribe();
            let sink = pending.accept().await?;
            forward(sink, rx, |hash| vec![hash]).await
        }
    }
}

/// `eth_subscribe` and `eth_unsubscribe` where notifications cannot be delivered (HTTP).
pub(super) fn unsupported(context: Arc<RpcContext>) -> Result<Module, RegisterMethodError> {
    let mut m = Module::from_arc(context);
    for name in ["eth_subscribe", "eth_unsubscribe"] {
        m.register_method(name, |_, _, _| {
            Err::<(), _>(ErrorObjectOwned::owned(-32601, "notifications not supported", None::<()>))
        })?;
    }
    Ok(m)
}

/// `eth_subscribe` and `eth_unsubscribe`.
pub(super) fn module(context: Arc<RpcContext>) -> Result<Module, RegisterMethodError> {
    let mut m = Module::from_arc(context);
    m.register_subscription(
        "eth_subscribe",
        "eth_subscription",
        "eth_unsubscribe",
        |params, pending, context, _| async move {
            match Args::parse(&params) {
                Ok(args) => subscribe(pending, context, args).await,
                Err(e) => {
                    pending.reject(e).await;
                    Ok(())
                }
            }
        },
    )?;
    Ok(m)
}
