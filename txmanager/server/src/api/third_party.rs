//! The ThirdParty API: `storeraw` and key listings for external applications, with CORS.

use super::{common, JsonBody, Manager};
use crate::error::TmError;
use axum::{
    extract::State,
    http::{HeaderName, HeaderValue, Method},
    routing::{get, post},
    Json, Router,
};
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, Any, CorsLayer};
use veil_config::CorsConfig;
use veil_tm_api::{KeyEntry, KeysResponse, StoreRawRequest, StoreRawResponse};

/// The ThirdParty routes, with `cors` applied when configured.
pub fn router(manager: Manager, cors: Option<&CorsConfig>) -> Router {
    let routes = Router::new()
        .route("/storeraw", post(store_raw))
        .route("/keys", get(keys))
        .route("/partyinfo/keys", get(party_keys));
    let router = common(routes, &manager).with_state(manager);
    match cors {
        Some(cors) => router.layer(cors_layer(cors)),
        None => router,
    }
}

fn cors_layer(cors: &CorsConfig) -> CorsLayer {
    fn values<T: for<'a> TryFrom<&'a str>>(list: &[String]) -> Vec<T> {
        list.iter().filter_map(|v| T::try_from(v.as_str()).ok()).collect()
    }
    let mut layer = CorsLayer::new().allow_credentials(cors.allow_credentials);
    layer = if cors.allowed_methods.is_empty() {
        layer.allow_methods(Any)
    } else {
        layer.allow_methods(AllowMethods::list(values::<Method>(&cors.allowed_methods)))
    };
    layer = if cors.allowed_headers.is_empty() {
        layer.allow_headers(Any)
    } else {
        layer.allow_headers(AllowHeaders::list(values::<HeaderName>(&cors.allowed_headers)))
    };
    if cors.allowed_origins.iter().any(|o| o == "*") {
        layer.allow_origin(Any)
    } else {
        layer.allow_origin(AllowOrigin::list(values::<HeaderValue>(&cors.allowed_origins)))
    }
}

async fn store_raw(
    State(m): State<Manager>,
    JsonBody(r): JsonBody<StoreRawRequest>,
) -> Result<Json<StoreRawResponse>, TmError> {
    Ok(Json(StoreRawResponse { key: m.store_raw(r.from, r.payload.0).await? }))
}

fn listing(keys: impl IntoIterator<Item = veil_enclave::TmPublicKey>) -> Json<KeysResponse> {
    Json(KeysResponse { keys: keys.into_iter().map(|key| KeyEntry { key }).collect() })
}

async fn keys(State(m): State<Manager>) -> Json<KeysResponse> {
    listing(m.local_keys().to_vec())
}

async fn party_keys(State(m): State<Manager>) -> Json<KeysResponse> {
    listing(m.parties().all_keys())
}
