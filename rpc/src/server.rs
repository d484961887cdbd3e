//! The HTTP and WebSocket servers (jsonrpsee), each on its own port as in geth, with request,
//! response, batch, connection and subscription limits, CORS for HTTP (`--http.corsdomain`),
//! virtual-host checks (`--http.vhosts`) and WebSocket origin checks (`--ws.origins`).

use super::{batch_budget::BatchBudgetLayer, filters::new_id};
use futures::FutureExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use jsonrpsee::{
    core::{middleware::RpcServiceBuilder, BoxError},
    server::{
        stop_channel, BatchRequestConfig, HttpBody, HttpRequest, HttpResponse, IdProvider, Methods,
        Server, ServerConfig, ServerHandle, StopHandle,
    },
    types::SubscriptionId,
    RpcModule,
};
use std::{
    future::Future,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};
use tower::{Layer, Service};
use tower_http::cors::{AllowOrigin, CorsLayer};
pub use veil_http_bounds::Bounds;
use veil_http_bounds::{DeadlineBody, PerIp};

/// Limits every transport enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body in bytes (geth: 5 MiB).
    pub max_request_bytes: u32,
    /// Largest response body in bytes.
    pub max_response_bytes: u32,
    /// Most open connections per transport.
    pub max_connections: u32,
    /// Most calls in one batch (geth: 1000).
    pub max_batch_len: u32,
    /// Most subscriptions per connection.
    pub max_subscriptions: u32,
    /// Most polling filters installed on the node (`eth_newFilter` and friends), over all
    /// transports and clients.
    pub max_filters: u32,
    /// Header and body read timeouts and connections per IP (HTTP and WS).
    pub http: Bounds,
    /// Time the calls of one batch may take together (every transport).
    pub batch_time_budget: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_bytes: 5 * 1024 * 1024,
            max_response_bytes: 25 * 1024 * 1024,
            max_connections: 1000,
            max_batch_len: 1000,
            max_subscriptions: 1024,
            max_filters: 10_000,
            http: Bounds::default(),
            batch_time_budget: Duration::from_secs(5),
        }
    }
}

/// Subscription ids in geth's form (`0x` and 32 hex digits).
#[derive(Debug)]
struct GethIds;

impl IdProvider for GethIds {
    fn next_id(&self) -> SubscriptionId<'static> {
        SubscriptionId::Str(new_id().into())
    }
}

/// Which `Host` and `Origin` headers a server accepts.
#[derive(Clone, Debug, Default)]
pub struct Access {
    /// Accepted `Host` names (`*`: any). Requests to an IP address are always accepted, as in
    /// geth.
    pub vhosts: Vec<String>,
    /// Accepted browser origins for WebSocket upgrades (`*`: any; empty: localhost only).
    /// Clients that send no `Origin` (scripts, wallets' backends) are always accepted.
    pub ws_origins: Option<Vec<String>>,
}

fn host_allowed(vhosts: &[String], host: Option<&str>) -> bool {
    if vhosts.iter().any(|v| v == "*") {
        return true;
    }
    let Some(host) = host else { return false };
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.parse::<IpAddr>().is_ok() || vhosts.iter().any(|v| v.eq_ignore_ascii_case(name))
}

fn origin_allowed(origins: &[String], origin: &str) -> bool {
    if origins.iter().any(|o| o == "*") {
        return true;
    }
    let origin = origin.to_ascii_lowercase();
    if origins.is_empty() {
        return origin.starts_with("http://localhost") || origin.starts_with("http://127.0.0.1");
    }
    origins.iter().any(|o| {
        let o = o.to_ascii_lowercase();
        origin == o
            || origin.strip_prefix("http://").or(origin.strip_prefix("https://")) == Some(&o)
    })
}

fn forbidden(message: &'static str) -> HttpResponse {
    let mut response = HttpResponse::new(HttpBody::from(message));
    *response.status_mut() = http::StatusCode::FORBIDDEN;
    response
}

/// A request's method, URI and headers: a response to give instead of JSON-RPC's, or `None`
/// to pass the request on.
type Answer =
    Arc<dyn Fn(&http::Method, &http::Uri, &http::HeaderMap) -> Option<HttpResponse> + Send + Sync>;

/// Answers the requests its [`Answer`] takes (refused hosts and origins, `GET /health`) before
/// JSON-RPC sees them.
#[derive(Clone)]
struct AnswerFirst(Answer);

impl<S> Layer<S> for AnswerFirst {
    type Service = Answering<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Answering { inner, answer: self.0.clone() }
    }
}

#[derive(Clone)]
struct Answering<S> {
    inner: S,
    answer: Answer,
}

impl<S, B> Service<HttpRequest<B>> for Answering<S>
where
    S: Service<HttpRequest<B>, Response = HttpResponse>,
    S::Error: Into<BoxError> + 'static,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: HttpRequest<B>) -> Self::Future {
        match (self.answer)(request.method(), request.uri(), request.headers()) {
            Some(response) => async { Ok(response) }.boxed(),
            None => Box::pin(self.inner.call(request).map(|r| r.map_err(Into::into))),
        }
    }
}

/// 403 for a `Host` outside `--http.vhosts` or a browser `Origin` outside `--ws.origins`.
fn refused(access: &Access, uri: &http::Uri, headers: &http::HeaderMap) -> Option<HttpResponse> {
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(|a| a.to_string()));
    if !host_allowed(&access.vhosts, host.as_deref()) {
        return Some(forbidden("invalid host specified\n"));
    }
    match (&access.ws_origins, headers.get(http::header::ORIGIN)) {
        (Some(origins), Some(origin))
            if !origin.to_str().is_ok_and(|o| origin_allowed(origins, o)) =>
        {
            Some(forbidden("origin not allowed\n"))
        }
        _ => None,
    }
}

/// Why the node is unhealthy, if it is (block import halted): asked on every `GET /health`.
pub type Health = Arc<dyn Fn() -> Option<String> + Send + Sync>;

/// `GET /health`: 200 `{"status":"ok"}`, or 503 `{"status":"halted","reason":…}` while block
/// import is halted.
fn health_report(health: &Health, method: &http::Method, uri: &http::Uri) -> Option<HttpResponse> {
    if method != http::Method::GET || uri.path() != "/health" {
        return None;
    }
    let (status, body) = match health() {
        None => (http::StatusCode::OK, serde_json::json!({ "status": "ok" })),
        Some(reason) => (
            http::StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({ "status": "halted", "reason": reason }),
        ),
    };
    let mut response = HttpResponse::new(HttpBody::from(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    Some(response)
}

fn cors(domains: &[String]) -> CorsLayer {
    let base = CorsLayer::new()
        .allow_methods([http::Method::POST, http::Method::GET, http::Method::OPTIONS])
        .allow_headers([http::header::CONTENT_TYPE]);
    if domains.iter().any(|d| d == "*") {
        base.allow_origin(AllowOrigin::any())
    } else {
        base.allow_origin(AllowOrigin::list(domains.iter().filter_map(|d| d.parse().ok())))
    }
}

/// Which kind of server to start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// JSON-RPC over HTTP POST.
    Http,
    /// JSON-RPC over WebSocket, with subscriptions.
    Ws,
}

/// Starts an HTTP or WS server on `addr` serving `module`; returns the bound address and the
/// handle that stops it.
///
/// jsonrpsee serves each connection as a tower service; the accept loop is ours so that every
/// connection runs within [`Limits::http`]: hyper's header read timeout (which also closes
/// keep-alive connections idle that long), a deadline on each request body, and a cap on the
/// connections one IP address holds.
pub async fn start(
    transport: Transport,
    addr: SocketAddr,
    module: RpcModule<()>,
    limits: Limits,
    access: Access,
    cors_domains: &[String],
    health: Health,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let config = ServerConfig::builder()
        .max_request_body_size(limits.max_request_bytes)
        .max_response_body_size(limits.max_response_bytes)
        .max_connections(limits.max_connections)
        .max_subscriptions_per_connection(limits.max_subscriptions)
        .set_batch_request_config(BatchRequestConfig::Limit(limits.max_batch_len))
        .set_id_provider(GethIds);
    let config = match transport {
        Transport::Http => config.http_only(),
        Transport::Ws => config.ws_only(),
    }
    .build();
    let middleware = tower::ServiceBuilder::new()
        .layer(AnswerFirst(Arc::new(move |method, uri, headers| {
            refused(&access, uri, headers).or_else(|| health_report(&health, method, uri))
        })))
        .layer(cors(cors_domains));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let budget = BatchBudgetLayer {
        budget: limits.batch_time_budget,
        max_response_bytes: limits.max_response_bytes as usize,
    };
    let builder = Server::builder()
        .set_config(config)
        .set_http_middleware(middleware)
        .set_rpc_middleware(
            RpcServiceBuilder::new().layer(budget).layer(crate::call_metrics::CallMetricsLayer),
        )
        .to_service_builder()
        .max_connections(limits.max_connections);
    let methods: Methods = module.into();
    let (stop, handle) = stop_channel();
    let make = {
        let stop = stop.clone();
        move || builder.clone().build(methods.clone(), stop.clone())
    };
    tokio::spawn(accept(listener, make, stop, limits.http));
    Ok((bound, handle))
}

/// Accepts connections until stopped, each within `bounds`, each served by a fresh service.
async fn accept<S>(
    listener: tokio::net::TcpListener,
    make: impl Fn() -> S + Send + 'static,
    stop: StopHandle,
    bounds: Bounds,
) where
    S: Service<
            HttpRequest<DeadlineBody<Incoming>>,
            Response = HttpResponse<HttpBody>,
            Error = BoxError,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let per_ip = Arc::new(PerIp::default());
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(target: "rpc", %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.clone().shutdown() => return,
        };
        let Some(counted) = per_ip.admit(peer.ip(), bounds.max_connections_per_ip) else {
            tracing::warn!(
                target: "rpc",
                ip = %peer.ip(),
                max = bounds.max_connections_per_ip,
                "refused a connection: this IP holds the most allowed (--rpc.max-connections-per-ip)"
            );
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = make();
        let stop = stop.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: HttpRequest<Incoming>| {
                let request = request.map(|body| bounds.deadline(body, "--rpc.read-body-timeout"));
                service.clone().call(request)
            });
            let connection =
                bounds.http1().serve_connection(TokioIo::new(stream), service).with_upgrades();
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stop.shutdown() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(counted);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_follow_geths_rules() {
        let localhost = vec!["localhost".to_string()];
        assert!(host_allowed(&localhost, Some("localhost:8545")));
        assert!(host_allowed(&localhost, Some("127.0.0.1:8545")));
        assert!(host_allowed(&localhost, Some("[::1]:8545")));
        assert!(!host_allowed(&localhost, Some("evil.example:8545")));
        assert!(!host_allowed(&localhost, None));
        assert!(host_allowed(&["*".to_string()], Some("evil.example")));
    }

    #[test]
    fn origins_follow_geths_rules() {
        assert!(origin_allowed(&[], "http://localhost:3000"));
        assert!(!origin_allowed(&[], "https://evil.example"));
        let listed = vec!["wallet.example".to_string()];
        assert!(origin_allowed(&listed, "https://wallet.example"));
        assert!(!origin_allowed(&listed, "https://evil.example"));
        assert!(origin_allowed(&["*".to_string()], "https://any.example"));
    }
}
