//! The Q2T API: what a node asks of its TM (Tessera's paths and bodies).

use super::{common, header, key_list, parse, JsonBody, Manager};
use crate::{error::TmError, manager::Received, privacy::PrivacyRequest};
use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{header::LOCATION, HeaderMap, StatusCode},
    response::IntoResponse,
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use veil_enclave::{PayloadHash, TmPublicKey};
use veil_tm_api::{
    Base64Bytes, ReceiveBatchRequest, ReceiveBatchResponse, ReceiveRequest, ReceiveResponse,
    SendRequest, SendResponse, SendSignedTxRequest, StoreRawRequest, StoreRawResponse,
    RECEIVE_BATCH_BYTES, RECEIVE_BATCH_MAX,
};

/// The Q2T routes.
pub fn router(manager: Manager) -> Router {
    let routes = Router::new()
        .route("/send", post(send))
        .route("/sendraw", post(send_raw))
        .route("/storeraw", post(store_raw))
        .route("/sendsignedtx", post(send_signed_tx))
        .route("/transaction/{key}", get(transaction).delete(delete))
        .route("/transaction/{key}/isSender", get(is_sender))
        .route("/transaction/{key}/participants", get(participants))
        .route("/transaction/{key}/mandatory", get(mandatory))
        .route("/features", get(features))
        .route("/receive", get(receive))
        .route("/receive/batch", post(receive_batch))
        .route("/receiveraw", get(receive_raw))
        .route("/delete", post(delete_legacy));
    common(routes, &manager).with_state(manager)
}

fn created(key: PayloadHash, body: impl IntoResponse) -> impl IntoResponse {
    let location = format!("transaction/{}", urlencoding::encode(&key.to_string()));
    (StatusCode::CREATED, [(LOCATION, location)], body)
}

async fn send(
    State(m): State<Manager>,
    JsonBody(r): JsonBody<SendRequest>,
) -> Result<impl IntoResponse, TmError> {
    let privacy = PrivacyRequest::from_api(r.privacy)?;
    let (key, parties) = m.send(r.from, &r.to, r.payload.0, privacy).await?;
    let body =
        SendResponse { key, managed_parties: parties.managed, sender_key: Some(parties.sender) };
    Ok(created(key, Json(body)))
}

async fn send_raw(
    State(m): State<Manager>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<String, TmError> {
    let from = header(&headers, "c11n-from")?.map(|k| parse(k, "header c11n-from")).transpose()?;
    let to = key_list(&headers, "c11n-to")?;
    let (key, _) = m.send(from, &to, body.to_vec(), PrivacyRequest::default()).await?;
    Ok(key.to_string())
}

async fn store_raw(
    State(m): State<Manager>,
    JsonBody(r): JsonBody<StoreRawRequest>,
) -> Result<Json<StoreRawResponse>, TmError> {
    Ok(Json(StoreRawResponse { key: m.store_raw(r.from, r.payload.0).await? }))
}

/// JSON `{hash, to}`, or Tessera's legacy form: the raw hash bytes with a `c11n-to` header.
async fn send_signed_tx(
    State(m): State<Manager>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::response::Response, TmError> {
    let json = header(&headers, "content-type")?.is_some_and(|t| t.contains("json"));
    if json {
        let r: SendSignedTxRequest = serde_json::from_slice(&body)
            .map_err(|e| TmError::BadRequest(format!("request body: {e}")))?;
        let privacy = PrivacyRequest::from_api(r.privacy)?;
        let (key, parties) = m.send_signed(&r.hash, &r.to, privacy).await?;
        let body = SendResponse {
            key,
            managed_parties: parties.managed,
            sender_key: Some(parties.sender),
        };
        return Ok(created(key, Json(body)).into_response());
    }
    let hash = PayloadHash(body.as_ref().try_into().map_err(|_| {
        TmError::BadRequest(format!("body: {} bytes, want the 64-byte payload hash", body.len()))
    })?);
    let to = key_list(&headers, "c11n-to")?;
    let (key, _) = m.send_signed(&hash, &to, PrivacyRequest::default()).await?;
    Ok(key.to_string().into_response())
}

/// `?to=` (Tessera's `isRaw` is accepted and needs nothing: raw payloads are stored alike).
#[derive(Deserialize)]
struct TransactionQuery {
    to: Option<String>,
}

fn received(r: Received) -> Json<ReceiveResponse> {
    let privacy = r.privacy.unwrap_or_default();
    Json(ReceiveResponse {
        payload: Base64Bytes(r.plaintext.to_vec()),
        privacy_flag: privacy.flag.number(),
        affected_contract_transactions: privacy.affected.iter().map(|a| a.hash).collect(),
        exec_hash: String::from_utf8_lossy(&privacy.exec_hash).into_owned(),
        managed_parties: r.parties.managed,
        sender_key: r.parties.sender,
    })
}

async fn transaction(
    State(m): State<Manager>,
    Path(key): Path<String>,
    Query(q): Query<TransactionQuery>,
) -> Result<Json<ReceiveResponse>, TmError> {
    let hash = parse(&key, "transaction key")?;
    let to: Option<TmPublicKey> = q.to.as_deref().map(|t| parse(t, "query to")).transpose()?;
    Ok(received(m.receive(&hash, to).await?))
}

async fn receive(State(m): State<Manager>, body: Bytes) -> Result<Json<ReceiveResponse>, TmError> {
    let r: ReceiveRequest = serde_json::from_slice(&body)
        .map_err(|e| TmError::BadRequest(format!("request body: {e}")))?;
    Ok(received(m.receive(&r.key, r.to).await?))
}

/// Veil's `POST /receive/batch`: each key's payload as `GET /transaction/{key}` gives it,
/// `null` where that would be 404, stopping after the key whose plaintext reaches
/// [`RECEIVE_BATCH_BYTES`]; any other failure fails the whole request.
async fn receive_batch(
    State(m): State<Manager>,
    body: Bytes,
) -> Result<Json<ReceiveBatchResponse>, TmError> {
    let r: ReceiveBatchRequest = serde_json::from_slice(&body)
        .map_err(|e| TmError::BadRequest(format!("request body: {e}")))?;
    if r.keys.len() > RECEIVE_BATCH_MAX {
        return Err(TmError::BadRequest(format!(
            "{} keys in one batch; at most {RECEIVE_BATCH_MAX}",
            r.keys.len()
        )));
    }
    let mut payloads = Vec::with_capacity(r.keys.len());
    let mut bytes = 0;
    for key in &r.keys {
        if bytes >= RECEIVE_BATCH_BYTES {
            break;
        }
        match m.receive(key, None).await {
            Ok(found) => {
                bytes += found.plaintext.len();
                payloads.push(Some(received(found).0));
            }
            Err(TmError::NotFound(_)) => payloads.push(None),
            Err(e) => return Err(e),
        }
    }
    Ok(Json(ReceiveBatchResponse { payloads }))
}

async fn receive_raw(State(m): State<Manager>, headers: HeaderMap) -> Result<Vec<u8>, TmError> {
    let key = header(&headers, "c11n-key")?
        .ok_or_else(|| TmError::BadRequest("header c11n-key is missing".into()))?;
    let hash = parse(key, "header c11n-key")?;
    let to = header(&headers, "c11n-to")?.map(|k| parse(k, "header c11n-to")).transpose()?;
    Ok(m.receive(&hash, to).await?.plaintext.to_vec())
}

async fn is_sender(State(m): State<Manager>, Path(key): Path<String>) -> Result<String, TmError> {
    Ok(m.is_sender(&parse(&key, "transaction key")?)?.to_string())
}

async fn participants(
    State(m): State<Manager>,
    Path(key): Path<String>,
) -> Result<String, TmError> {
    let keys = m.participants(&parse(&key, "transaction key")?)?;
    Ok(keys.iter().map(ToString::to_string).collect::<Vec<_>>().join(","))
}

/// Tessera's `GET /transaction/{key}/mandatory`: the payload's mandatory recipients,
/// comma-separated.
async fn mandatory(State(m): State<Manager>, Path(key): Path<String>) -> Result<String, TmError> {
    let keys = m.mandatory(&parse(&key, "transaction key")?)?;
    Ok(keys.iter().map(ToString::to_string).collect::<Vec<_>>().join(","))
}

/// Veil's `GET /features`: the switches of `features` a node must agree with (Tessera's
/// names), checked by the node at start.
async fn features(State(m): State<Manager>) -> Json<veil_tm_api::Features> {
    Json(veil_tm_api::Features {
        enable_privacy_enhancements: m.privacy_enhancements(),
        enable_multiple_private_states: false,
    })
}

async fn delete(State(m): State<Manager>, Path(key): Path<String>) -> Result<StatusCode, TmError> {
    m.delete(&parse(&key, "transaction key")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct DeleteRequest {
    key: PayloadHash,
}

async fn delete_legacy(
    State(m): State<Manager>,
    JsonBody(r): JsonBody<DeleteRequest>,
) -> Result<&'static str, TmError> {
    m.delete(&r.key).await?;
    Ok("Delete successful")
}
