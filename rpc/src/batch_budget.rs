//! A time budget per JSON-RPC batch (`--rpc.batch-time-budget`): a batch's calls run one after
//! another, and once the calls run so far have taken the budget, the rest are not run but
//! answered with an error each, so one request cannot hold the node's CPU for long (a batch of
//! 1,000 `eth_call`s at the gas cap once took ~23 s). A single call stays bounded by its own
//! limits (`--rpc.gascap`). HTTP and WS batches get it through [`BatchBudgetLayer`], IPC
//! batches through [`over_budget`] in its own loop.

use jsonrpsee::{
    core::{
        middleware::{Batch, BatchEntry, Notification, RpcServiceT},
        server::{BatchResponseBuilder, MethodResponse},
    },
    types::{ErrorObjectOwned, Id, Request},
};
use std::{
    future::Future,
    time::{Duration, Instant},
};
use tower::Layer;

/// geth's code for a request that ran out of time.
const TIMEOUT_CODE: i32 = -32002;

/// The error a call left unrun by an exhausted batch gets.
pub(crate) fn over_budget(budget: Duration) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(
        TIMEOUT_CODE,
        format!(
            "batch time budget exhausted: the calls before this one took {} ms \
             (--rpc.batch-time-budget), so it was not run; send it again",
            budget.as_millis()
        ),
        None::<()>,
    )
}

/// Adds the budget to a jsonrpsee RPC service.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BatchBudgetLayer {
    /// Time the calls of one batch may take together.
    pub(crate) budget: Duration,
    /// Largest batch response in bytes.
    pub(crate) max_response_bytes: usize,
}

impl<S> Layer<S> for BatchBudgetLayer {
    type Service = BatchBudget<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BatchBudget { inner, limits: *self }
    }
}

/// The service with the budget.
#[derive(Clone, Debug)]
pub(crate) struct BatchBudget<S> {
    inner: S,
    limits: BatchBudgetLayer,
}

impl<S> RpcServiceT for BatchBudget<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            NotificationResponse = MethodResponse,
            BatchResponse = MethodResponse,
        > + Clone
        + Send
        + Sync
        + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.inner.call(request)
    }

    fn notification<'a>(
        &self,
        n: Notification<'a>,
    ) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.inner.notification(n)
    }

    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let (service, limits) = (self.inner.clone(), self.limits);
        async move {
            let started = Instant::now();
            let mut answers = BatchResponseBuilder::new_with_limit(limits.max_response_bytes);
            let mut got_notification = false;
            for entry in batch.into_iter() {
                let answer = match entry {
                    Ok(BatchEntry::Call(request)) if started.elapsed() >= limits.budget => {
                        MethodResponse::error(request.id, over_budget(limits.budget))
                    }
                    Ok(BatchEntry::Call(request)) => service.call(request).await,
                    Ok(BatchEntry::Notification(n)) => {
                        got_notification = true;
                        service.notification(n).await;
                        continue;
                    }
                    Err(error) => {
                        let (error, id): (_, Id<'_>) = error.into_parts();
                        MethodResponse::error(id, error)
                    }
                };
                if let Err(too_large) = answers.append(answer) {
                    return too_large;
                }
            }
            if answers.is_empty() && got_notification {
                MethodResponse::notification()
            } else {
                MethodResponse::from_batch(answers.finish())
            }
        }
    }
}
