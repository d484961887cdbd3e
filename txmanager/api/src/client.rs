//! [`TmClient`]: HTTP/1.1 to a TM's Q2T API over a unix socket or TCP.

use crate::types::{
    ReceiveBatchRequest, ReceiveBatchResponse, ReceiveResponse, SendRequest, SendResponse,
    SendSignedTxRequest, StoreRawRequest, StoreRawResponse,
};
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest as Connection};
use hyper_util::rt::TokioIo;
use std::{
    path::PathBuf,
    sync::Mutex,
    time::{Duration, Instant},
};
use veil_primitives::{PayloadHash, TmPublicKey};

/// How long a connection may sit idle and still be reused: well under the TM's
/// `headerReadTimeout` (30 s by default), which closes idle connections, so that a request is
/// never sent on a connection the server is closing.
const MAX_IDLE_TIME: Duration = Duration::from_secs(5);
/// Most idle connections a client keeps.
const MAX_IDLE: usize = 64;

/// Where a TM's Q2T API is reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TmEndpoint {
    /// A unix socket (`unix:/path`, or a bare path).
    Unix(PathBuf),
    /// `http://host:port`.
    Tcp(String),
}

impl std::str::FromStr for TmEndpoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = s.strip_prefix("http://") {
            return Ok(TmEndpoint::Tcp(rest.trim_end_matches('/').to_string()));
        }
        if s.starts_with("https://") {
            return Err(format!("{s}: the Q2T client speaks plain HTTP or a unix socket"));
        }
        let path = s.strip_prefix("unix:").unwrap_or(s);
        if path.is_empty() {
            return Err("empty unix socket path".into());
        }
        Ok(TmEndpoint::Unix(path.into()))
    }
}

/// Why a request to the TM failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The TM could not be reached or the connection broke.
    #[error("transaction manager at {endpoint} unreachable: {reason}")]
    Unreachable {
        /// The endpoint.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// The TM answered with an error status.
    #[error("transaction manager answered {status}: {message}")]
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// Its message.
        message: String,
    },
    /// The answer was not what the API promises.
    #[error("unexpected answer from the transaction manager: {0}")]
    Decode(String),
}

/// A client of one TM, reusing connections.
#[derive(Debug)]
pub struct TmClient {
    endpoint: TmEndpoint,
    idle: Mutex<Vec<(Instant, Connection<Full<Bytes>>)>>,
}

impl TmClient {
    /// A client of `endpoint`; connects on first use.
    pub fn new(endpoint: TmEndpoint) -> Self {
        Self { endpoint, idle: Mutex::new(Vec::new()) }
    }

    fn unreachable(&self, reason: impl std::fmt::Display) -> ClientError {
        ClientError::Unreachable {
            endpoint: format!("{:?}", self.endpoint),
            reason: reason.to_string(),
        }
    }

    async fn connect(&self) -> Result<Connection<Full<Bytes>>, ClientError> {
        macro_rules! handshake {
            ($stream:expr) => {{
                let (sender, connection) = http1::handshake(TokioIo::new($stream))
                    .await
                    .map_err(|e| self.unreachable(e))?;
                tokio::spawn(connection);
                sender
            }};
        }
        Ok(match &self.endpoint {
            TmEndpoint::Unix(path) => {
                handshake!(tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(|e| self.unreachable(e))?)
            }
            TmEndpoint::Tcp(authority) => {
                let stream = tokio::net::TcpStream::connect(authority.as_str())
                    .await
                    .map_err(|e| self.unreachable(e))?;
                stream.set_nodelay(true).map_err(|e| self.unreachable(e))?;
                handshake!(stream)
            }
        })
    }

    async fn connection(&self) -> Result<Connection<Full<Bytes>>, ClientError> {
        loop {
            let cached = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            match cached {
                Some((since, _)) if since.elapsed() > MAX_IDLE_TIME => {}
                Some((_, mut connection)) => {
                    if connection.ready().await.is_ok() {
                        return Ok(connection);
                    }
                }
                None => return self.connect().await,
            }
        }
    }

    /// Sends one request; answers the status and the whole body.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<(StatusCode, Bytes), ClientError> {
        let host = match &self.endpoint {
            TmEndpoint::Tcp(authority) => authority.as_str(),
            TmEndpoint::Unix(_) => "localhost",
        };
        let mut builder =
            Request::builder().method(method).uri(path).header(http::header::HOST, host);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request =
            builder.body(Full::new(body)).map_err(|e| ClientError::Decode(e.to_string()))?;
        let mut connection = self.connection().await?;
        let response = connection.send_request(request).await.map_err(|e| self.unreachable(e))?;
        let status = response.status();
        let body =
            response.into_body().collect().await.map_err(|e| self.unreachable(e))?.to_bytes();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push((Instant::now(), connection));
        }
        Ok((status, body))
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<(StatusCode, T), ClientError> {
        let body = serde_json::to_vec(body).map_err(|e| ClientError::Decode(e.to_string()))?;
        let (status, answer) = self
            .request(method, path, &[("content-type", "application/json")], body.into())
            .await?;
        if !status.is_success() {
            return Err(ClientError::Status {
                status,
                message: String::from_utf8_lossy(&answer).into(),
            });
        }
        let value =
            serde_json::from_slice(&answer).map_err(|e| ClientError::Decode(e.to_string()))?;
        Ok((status, value))
    }

    /// `GET /upcheck`: whether the TM answers "I'm up!".
    pub async fn upcheck(&self) -> Result<bool, ClientError> {
        let (status, body) = self.request(Method::GET, "/upcheck", &[], Bytes::new()).await?;
        Ok(status.is_success() && body.as_ref() == crate::types::UPCHECK.as_bytes())
    }

    /// `POST /send`.
    pub async fn send(&self, request: &SendRequest) -> Result<SendResponse, ClientError> {
        Ok(self.json(Method::POST, "/send", request).await?.1)
    }

    /// `POST /storeraw`.
    pub async fn store_raw(
        &self,
        request: &StoreRawRequest,
    ) -> Result<StoreRawResponse, ClientError> {
        Ok(self.json(Method::POST, "/storeraw", request).await?.1)
    }

    /// `POST /sendsignedtx` (JSON form): distributes a payload stored by `storeraw` to `to`.
    pub async fn send_signed_tx(
        &self,
        request: &SendSignedTxRequest,
    ) -> Result<SendResponse, ClientError> {
        Ok(self.json(Method::POST, "/sendsignedtx", request).await?.1)
    }

    /// `GET /transaction/{key}[?to=]`: the plaintext, or `None` when this TM's keys are not
    /// parties (404).
    pub async fn receive(
        &self,
        key: &PayloadHash,
        to: Option<&TmPublicKey>,
    ) -> Result<Option<ReceiveResponse>, ClientError> {
        let mut path = format!("/transaction/{}", urlencoding::encode(&key.to_string()));
        if let Some(to) = to {
            path.push_str(&format!("?to={}", urlencoding::encode(&to.to_string())));
        }
        let (status, body) = self.request(Method::GET, &path, &[], Bytes::new()).await?;
        match status {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => serde_json::from_slice(&body)
                .map(Some)
                .map_err(|e| ClientError::Decode(e.to_string())),
            status => {
                Err(ClientError::Status { status, message: String::from_utf8_lossy(&body).into() })
            }
        }
    }

    /// Several payloads in one request (Veil's `POST /receive/batch`): for the first keys, in
    /// order (all of them unless the answer reached its size bound), the payload, or `None`
    /// where this TM is not a party. `Ok(None)` when the TM does not serve the path (Tessera
    /// answers 404 or 405): ask key by key instead.
    pub async fn receive_batch(
        &self,
        keys: &[PayloadHash],
    ) -> Result<Option<Vec<Option<ReceiveResponse>>>, ClientError> {
        let body = serde_json::to_vec(&ReceiveBatchRequest { keys: keys.to_vec() })
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        let headers = [("content-type", "application/json")];
        let (status, body) =
            self.request(Method::POST, "/receive/batch", &headers, body.into()).await?;
        match status {
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => Ok(None),
            s if s.is_success() => {
                let answer: ReceiveBatchResponse = serde_json::from_slice(&body)
                    .map_err(|e| ClientError::Decode(e.to_string()))?;
                if answer.payloads.is_empty() != keys.is_empty()
                    || answer.payloads.len() > keys.len()
                {
                    return Err(ClientError::Decode(format!(
                        "asked for {} payloads, the TM answered {}",
                        keys.len(),
                        answer.payloads.len()
                    )));
                }
                Ok(Some(answer.payloads))
            }
            status => {
                Err(ClientError::Status { status, message: String::from_utf8_lossy(&body).into() })
            }
        }
    }
}
