//! The TM's HTTP APIs, in Tessera's shapes: [`q2t`] (the node's private API), [`third_party`]
//! (external applications) and [`p2p`] (other TMs).

pub mod p2p;
pub mod q2t;
pub mod third_party;

use crate::{error::TmError, manager::TransactionManager};
use axum::{
    extract::{rejection::JsonRejection, DefaultBodyLimit, FromRequest, Request},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use std::{net::IpAddr, sync::Arc};
use veil_enclave::TmPublicKey;
use veil_tm_api::{API_VERSIONS, TM_VERSION, UPCHECK};

/// The state every handler gets.
pub type Manager = Arc<TransactionManager>;

/// The peer's IP address, set on each request by the server loop (`None` on a unix socket).
#[derive(Clone, Copy, Debug)]
pub struct RemoteIp(pub Option<IpAddr>);

/// Routes every API has: `/upcheck`, `/version`, `/version/distribution`, `/version/api`,
/// and a body limit that fits the largest payload in base64 JSON.
fn common(router: Router<Manager>, manager: &Manager) -> Router<Manager> {
    router
        .route("/upcheck", get(|| async { UPCHECK }))
        .route("/version", get(|| async { TM_VERSION }))
        .route("/version/distribution", get(|| async { TM_VERSION }))
        .route("/version/api", get(|| async { Json(API_VERSIONS) }))
        .route("/metrics", get(metrics_exposition))
        .layer(axum::middleware::from_fn(count_request))
        .layer(DefaultBodyLimit::max(body_limit(manager)))
}

/// `/metrics`: every counter and timer of this TM in Prometheus' text format.
async fn metrics_exposition() -> Response {
    match veil_metrics::Exporter::global() {
        Ok(exporter) => veil_metrics::exposition(&exporter).into_response(),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, why).into_response(),
    }
}

/// Counts and times each request by its route (`/transaction/{key}`, not the key) and status.
async fn count_request(request: Request, next: axum::middleware::Next) -> Response {
    let endpoint = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!("veil_tm_request_seconds", "endpoint" => endpoint.clone(), "method" => method.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("veil_tm_requests_total", "endpoint" => endpoint, "method" => method, "status" => status)
        .increment(1);
    response
}

/// The largest request body read: the largest payload in base64 JSON.
pub fn body_limit(manager: &Manager) -> usize {
    manager.payload_limit() / 3 * 4 + 64 * 1024
}

/// A JSON body like axum's `Json`, but JSON that does not fit the request type is a 400 (as
/// Tessera answers), not axum's 422. A wrong content type stays 415, an oversized body 413.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(JsonRejection::JsonDataError(e)) => {
                Err((StatusCode::BAD_REQUEST, e.body_text()).into_response())
            }
            Err(other) => Err(other.into_response()),
        }
    }
}

/// A base64 key or hash from a path, query or header, or a 400 naming where it came from.
fn parse<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, TmError>
where
    T::Err: std::fmt::Display,
{
    text.trim().parse().map_err(|e| TmError::BadRequest(format!("{what}: {e}")))
}

/// A header's text, if present.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, TmError> {
    headers
        .get(name)
        .map(|v| v.to_str().map_err(|_| TmError::BadRequest(format!("header {name} is not text"))))
        .transpose()
}

/// A comma-separated key list header (`c11n-to`).
fn key_list(headers: &HeaderMap, name: &str) -> Result<Vec<TmPublicKey>, TmError> {
    match header(headers, name)? {
        None => Ok(Vec::new()),
        Some(text) => text
            .split(',')
            .filter(|k| !k.trim().is_empty())
            .map(|k| parse(k, &format!("header {name}")))
            .collect(),
    }
}
