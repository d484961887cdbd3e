//! The P2P API between TMs: party info and its key challenges, push, resend, each signed by
//! the calling TM (`auth`). With `useWhiteList`, only the configured peers' addresses are
//! served.

use super::{common, JsonBody, Manager, RemoteIp};
use crate::{
    auth::{
        require_signed,
        session::{Hello, Welcome},
        sign_answers, Authenticator, Caller,
    },
    discovery,
    error::TmError,
    manager::Resent,
};
use axum::{
    body::Bytes,
    extract::{Request, State},
    http::StatusCode,
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Extension, Json, Router,
};
use std::{collections::HashSet, net::IpAddr, sync::Arc};
use veil_tm_api::{PartyInfo, ResendRequest};

/// The P2P routes; `whitelist`, when set, holds the only addresses served. Every POST but
/// `/push` must be signed by the calling TM's identity (a push's payload is authenticated
/// end to end, and a stranger's identity would prove nothing), and every answer to a POST is
/// signed by ours: a push counts only with its recipient's signed 201.
pub fn router(
    manager: Manager,
    authenticator: Arc<Authenticator>,
    whitelist: Option<HashSet<IpAddr>>,
) -> Router {
    let signed = Router::new()
        .route("/partyinfo", post(post_party_info))
        .route("/partyinfo/validate", post(validate))
        .route("/resend", post(resend))
        .route("/session", post(open_session))
        .layer(middleware::from_fn_with_state(authenticator.clone(), require_signed));
    let answered = Router::new()
        .route("/push", post(push))
        .layer(middleware::from_fn_with_state(authenticator.clone(), sign_answers));
    let routes = Router::new()
        .route("/partyinfo", get(get_party_info))
        .merge(signed)
        .merge(answered)
        .layer(Extension(authenticator));
    let router = common(routes, &manager).with_state(manager);
    match whitelist {
        Some(allowed) => {
            router.layer(middleware::from_fn_with_state(Arc::new(allowed), only_whitelisted))
        }
        None => router,
    }
}

async fn only_whitelisted(
    State(allowed): State<Arc<HashSet<IpAddr>>>,
    Extension(RemoteIp(ip)): Extension<RemoteIp>,
    request: Request,
    next: Next,
) -> Response {
    match ip {
        Some(ip) if !allowed.contains(&ip) => {
            tracing::warn!(%ip, "refused a peer outside the whitelist");
            TmError::Forbidden(format!("{ip} is not a configured peer (useWhiteList)"))
                .into_response()
        }
        _ => next.run(request).await,
    }
}

async fn post_party_info(
    State(m): State<Manager>,
    Extension(Caller(identity)): Extension<Caller>,
    JsonBody(theirs): JsonBody<PartyInfo>,
) -> Result<Json<PartyInfo>, TmError> {
    if !m.parties().may_announce(&theirs.url) {
        return Err(TmError::Forbidden(format!(
            "peer {} not found in the known peer list (disablePeerDiscovery)",
            theirs.url
        )));
    }
    m.parties().learn_peer(&theirs.url);
    discovery::merge(&m, identity, &theirs).await;
    Ok(Json(m.parties().info()))
}

async fn open_session(
    Extension(auth): Extension<Arc<Authenticator>>,
    Extension(Caller(caller)): Extension<Caller>,
    JsonBody(hello): JsonBody<Hello>,
) -> Result<Json<Welcome>, TmError> {
    auth.open_session(&caller, &hello).map(Json).map_err(TmError::BadRequest)
}

async fn get_party_info(State(m): State<Manager>) -> Json<PartyInfo> {
    Json(m.parties().info())
}

async fn validate(State(m): State<Manager>, body: Bytes) -> Result<Vec<u8>, TmError> {
    discovery::answer_challenge(&m, &body).await.map_err(TmError::BadRequest)
}

async fn push(State(m): State<Manager>, body: Bytes) -> Result<impl IntoResponse, TmError> {
    let hash = m.accept_push(&body).await?;
    Ok((StatusCode::CREATED, hash.to_string()))
}

async fn resend(
    State(m): State<Manager>,
    Extension(Caller(caller)): Extension<Caller>,
    JsonBody(r): JsonBody<ResendRequest>,
) -> Result<Response, TmError> {
    Ok(match m.resend(&r, caller).await? {
        Resent::All(total) => Json(total).into_response(),
        Resent::Individual(copy) => copy.into_response(),
    })
}
