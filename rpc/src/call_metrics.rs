//! Counts and times JSON-RPC calls by method (`veil_rpc_requests_total`,
//! `veil_rpc_request_seconds`, `veil_rpc_errors_total`), for HTTP and WebSocket through
//! [`CallMetricsLayer`] and for IPC through [`record`]. Names no method serves are counted as
//! `unknown`, so a client cannot grow the label set.

use jsonrpsee::{
    core::{
        middleware::{Batch, Notification, RpcServiceT},
        server::MethodResponse,
    },
    types::Request,
};
use std::{future::Future, time::Instant};
use tower::Layer;

/// Calls answered, by method.
pub const REQUESTS: &str = "veil_rpc_requests_total";
/// Time to answer a call, by method, in seconds.
pub const SECONDS: &str = "veil_rpc_request_seconds";
/// Calls answered with an error, by method.
pub const ERRORS: &str = "veil_rpc_errors_total";
/// JSON-RPC's "method not found".
const METHOD_NOT_FOUND: i32 = -32601;

/// Records one answered call of `method` (`known`: a method this server has) that started
/// at `started`.
pub(crate) fn record(method: &str, known: bool, started: Instant, error: bool) {
    let method = if known { method.to_owned() } else { "unknown".to_owned() };
    metrics::histogram!(SECONDS, "method" => method.clone())
        .record(started.elapsed().as_secs_f64());
    if error {
        metrics::counter!(ERRORS, "method" => method.clone()).increment(1);
    }
    metrics::counter!(REQUESTS, "method" => method).increment(1);
}

/// Adds the call metrics to a jsonrpsee RPC service.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CallMetricsLayer;

impl<S> Layer<S> for CallMetricsLayer {
    type Service = CallMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallMetrics { inner }
    }
}

/// The service with the metrics.
#[derive(Clone, Debug)]
pub(crate) struct CallMetrics<S> {
    inner: S,
}

impl<S> RpcServiceT for CallMetrics<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            NotificationResponse = MethodResponse,
            BatchResponse = MethodResponse,
        > + Send
        + Sync,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let method = request.method_name().to_owned();
        let answer = self.inner.call(request);
        async move {
            let started = Instant::now();
            let response = answer.await;
            let code = response.as_error_code();
            record(&method, code != Some(METHOD_NOT_FOUND), started, code.is_some());
            response
        }
    }

    fn notification<'a>(
        &self,
        n: Notification<'a>,
    ) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.inner.notification(n)
    }

    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.inner.batch(batch)
    }
}
