//! The server side of signed traffic: [`require_signed`] admits only fresh, correctly signed,
//! never-seen requests (from listed identities, when a list is given) and tells the handler
//! who called ([`Caller`]); [`sign_answers`] serves requests whose caller need not be known.
//! Both sign every answer.

use super::{
    identity::{Identity, IdentityKey},
    session::{Hello, Sessions, Welcome, MAC_HEADER, SESSION_HEADER},
    signed::{now_ms, sign_response, AnswerTo, AuthError, ReplayGuard, RequestSignature},
};
use axum::{
    body::{to_bytes, Body, Bytes},
    extract::{Request, State},
    http::{request::Parts, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::{engine::general_purpose::STANDARD, Engine};
use std::{collections::HashSet, sync::Arc};

/// Who signed the request a handler is answering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller(pub IdentityKey);

/// What the middleware needs: the identity answers are signed with, the replay guard, the
/// largest body read, and (for a remote enclave) the only identities served.
#[derive(Debug)]
pub struct Authenticator {
    identity: Option<Arc<Identity>>,
    replay: ReplayGuard,
    sessions: Sessions,
    body_limit: usize,
    allowed: Option<HashSet<IdentityKey>>,
}

impl Authenticator {
    /// An authenticator signing answers as `identity` (when given), reading bodies up to
    /// `body_limit` bytes and, with `allowed`, serving only those identities.
    pub fn new(
        identity: Option<Arc<Identity>>,
        body_limit: usize,
        allowed: Option<HashSet<IdentityKey>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            identity,
            replay: ReplayGuard::default(),
            sessions: Sessions::default(),
            body_limit,
            allowed,
        })
    }

    /// Opens a session for `caller` (`POST /session`, already admitted as signed by it).
    pub fn open_session(&self, caller: &IdentityKey, hello: &Hello) -> Result<Welcome, String> {
        let own = self.identity.as_ref().ok_or("this server has no identity to open sessions")?;
        self.sessions.open(&own.public(), caller, hello)
    }

    fn admit(
        &self,
        request: &Parts,
        body: &[u8],
    ) -> Result<RequestSignature, (StatusCode, String)> {
        let unauthorized = |e: AuthError| (StatusCode::UNAUTHORIZED, e.to_string());
        let signature = RequestSignature::from_headers(&request.headers).map_err(unauthorized)?;
        let path = request.uri.path_and_query().map_or("/", |p| p.as_str());
        let now = now_ms();
        signature.verify(request.method.as_str(), path, body, now).map_err(unauthorized)?;
        if let Some(allowed) = &self.allowed {
            if !allowed.contains(&signature.identity) {
                return Err((
                    StatusCode::FORBIDDEN,
                    format!("identity {} is not one this server serves", signature.identity),
                ));
            }
        }
        self.replay.check(&signature, now).map_err(|e| match e {
            AuthError::Busy => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
            e => unauthorized(e),
        })?;
        Ok(signature)
    }
}

/// Reads a request's body (at most `limit` bytes): 413 when larger, 400 when it breaks off or
/// comes too slowly.
async fn buffered(request: Request, limit: usize) -> Result<(Parts, Bytes), Response> {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, limit).await.map_err(|e| {
        let error = e.into_inner();
        let status = if error.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::BAD_REQUEST
        };
        (status, format!("request body: {error}")).into_response()
    })?;
    Ok((parts, body))
}

/// Runs the request and signs its answer as bound to `to`: with the HMAC of the session the
/// request names, if this server keeps it, else with this server's identity.
async fn answer_signed(
    auth: &Authenticator,
    to: AnswerTo,
    request: Request,
    next: Next,
) -> Response {
    let session = request
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|id| auth.sessions.get(id));
    let response = next.run(request).await;
    let Some(identity) = &auth.identity else { return response };
    let (mut parts, body) = response.into_parts();
    let body = match to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(e) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, format!("answer body: {e}")).into_response()
        }
    };
    match session {
        Some(session) => {
            let mac = STANDARD.encode(session.mac(&to, parts.status.as_u16(), &body));
            parts.headers.insert(MAC_HEADER, HeaderValue::try_from(mac).expect("base64"));
        }
        None => {
            for (name, value) in sign_response(identity, &to, parts.status.as_u16(), &body) {
                parts.headers.insert(name, value);
            }
        }
    }
    Response::from_parts(parts, Body::from(body))
}

/// The middleware for requests that must be signed (`axum::middleware::from_fn_with_state`):
/// refuses the others, tells the handler the [`Caller`], signs the answer.
pub async fn require_signed(
    State(auth): State<Arc<Authenticator>>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = match buffered(request, auth.body_limit).await {
        Ok(buffered) => buffered,
        Err(refusal) => return refusal,
    };
    let signature = match auth.admit(&parts, &body) {
        Ok(signature) => signature,
        Err((status, why)) => {
            tracing::warn!(path = %parts.uri.path(), %why, "refused a TM request");
            return (status, why).into_response();
        }
    };
    parts.extensions.insert(Caller(signature.identity));
    let to = AnswerTo::new(signature.nonce, &body);
    answer_signed(&auth, to, Request::from_parts(parts, Body::from(body)), next).await
}

/// The middleware for requests whose caller need not be known (a push): each must carry a
/// nonce, and its answer is signed as bound to the nonce and the request body.
pub async fn sign_answers(
    State(auth): State<Arc<Authenticator>>,
    request: Request,
    next: Next,
) -> Response {
    let answered = async {
        let (parts, body) = buffered(request, auth.body_limit).await?;
        let to = AnswerTo::from_headers(&parts.headers, &body)
            .map_err(|why| (StatusCode::BAD_REQUEST, why.to_string()).into_response())?;
        Ok::<_, Response>(
            answer_signed(&auth, to, Request::from_parts(parts, Body::from(body)), next).await,
        )
    };
    answered.await.unwrap_or_else(|refusal| refusal)
}
