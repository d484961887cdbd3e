//! Signed requests and answers between TMs (and from a TM to its remote enclave).
//!
//! A request carries four headers: [`IDENTITY_HEADER`] (the caller's ed25519 public key),
//! [`TIMESTAMP_HEADER`] (unix milliseconds), [`NONCE_HEADER`] (a random 64-bit number, so
//! that two equal requests in one millisecond differ) and [`SIGNATURE_HEADER`], the signature
//! over
//!
//! ```text
//! "veil-tm request v1\n" ‖ method ‖ "\n" ‖ path-and-query ‖ "\n" ‖ timestamp ‖ "\n" ‖ nonce ‖ "\n" ‖ sha256(body)
//! ```
//!
//! A request older or newer than [`MAX_CLOCK_SKEW`] is stale; one whose signature was seen
//! before is a replay ([`ReplayGuard`]). A request whose caller need not be known (a push:
//! the payload inside is what is authenticated, and identities are free) carries only
//! [`NONCE_HEADER`]. Every answer carries [`IDENTITY_HEADER`] and [`SIGNATURE_HEADER`], the
//! answerer's signature over
//!
//! ```text
//! "veil-tm response v1\n" ‖ nonce (8 bytes, big-endian) ‖ sha256(request body) ‖ status (2 bytes) ‖ sha256(body)
//! ```
//!
//! so an answer cannot be forged or replayed for another request: whoever is on the path
//! between two TMs can drop or delay their traffic, never change it or speak for either.

use super::identity::{Identity, IdentityKey};
use base64::{engine::general_purpose::STANDARD, Engine};
use http::{HeaderMap, HeaderValue};
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use std::{
    collections::HashSet,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// The signer's identity (base64 ed25519 public key).
pub const IDENTITY_HEADER: &str = "veil-tm-identity";
/// When the request was signed (unix milliseconds).
pub const TIMESTAMP_HEADER: &str = "veil-tm-timestamp";
/// A random number (decimal) that makes each request unique.
pub const NONCE_HEADER: &str = "veil-tm-nonce";
/// The base64 ed25519 signature.
pub const SIGNATURE_HEADER: &str = "veil-tm-signature";
/// How far a request's timestamp may be from the receiver's clock.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(60);
/// How many recent request signatures the replay guard holds at most (~40 bytes each).
pub const REPLAY_CAPACITY: usize = 1 << 20;

/// Why a signed request or answer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No signature headers.
    #[error(
        "unsigned request: TM-to-TM requests must carry {IDENTITY_HEADER}, {TIMESTAMP_HEADER} \
         and {SIGNATURE_HEADER}"
    )]
    Unsigned,
    /// Headers present but unreadable.
    #[error("malformed signature header: {0}")]
    Malformed(String),
    /// The signature does not match.
    #[error("bad signature: {0}")]
    BadSignature(String),
    /// Outside the clock-skew window.
    #[error("stale request: signed {0} ms from this TM's clock (at most {max} ms allowed)", max = MAX_CLOCK_SKEW.as_millis())]
    Stale(i64),
    /// Seen before.
    #[error("replayed request: this request (identity, timestamp, nonce) was already served")]
    Replayed,
    /// The replay guard is full.
    #[error("too many signed requests in the last {} s; try again", 2 * MAX_CLOCK_SKEW.as_secs())]
    Busy,
    /// Signed by an identity that is not the one expected.
    #[error("answered by identity {found}, not by {expected}")]
    WrongIdentity {
        /// Who was expected.
        expected: IdentityKey,
        /// Who signed.
        found: IdentityKey,
    },
}

/// Milliseconds since the unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// A request's signature with who made it and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestSignature {
    /// The caller.
    pub identity: IdentityKey,
    /// When it was signed (unix ms).
    pub timestamp_ms: u64,
    /// Random, so that equal requests differ.
    pub nonce: u64,
    /// The signature.
    pub signature: [u8; 64],
}

fn request_message(
    method: &str,
    path: &str,
    timestamp_ms: u64,
    nonce: u64,
    body: &[u8],
) -> Vec<u8> {
    let mut message =
        format!("veil-tm request v1\n{method}\n{path}\n{timestamp_ms}\n{nonce}\n").into_bytes();
    message.extend_from_slice(&Sha256::digest(body));
    message
}

/// What an answer is bound to: its request's nonce and body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnswerTo {
    nonce: u64,
    request_digest: [u8; 32],
}

impl AnswerTo {
    /// The request with `nonce` and `body`.
    pub fn new(nonce: u64, body: &[u8]) -> Self {
        Self { nonce, request_digest: Sha256::digest(body).into() }
    }

    /// The request with these headers and `body` (its [`NONCE_HEADER`] is required).
    pub fn from_headers(headers: &HeaderMap, body: &[u8]) -> Result<Self, AuthError> {
        let nonce = header_text(headers, NONCE_HEADER)?
            .ok_or_else(|| {
                AuthError::Malformed(format!("{NONCE_HEADER} is required on TM requests"))
            })?
            .trim()
            .parse()
            .map_err(|_| AuthError::Malformed(format!("{NONCE_HEADER} is not a 64-bit number")))?;
        Ok(Self::new(nonce, body))
    }

    /// The nonce header of an unsigned request.
    pub fn header(&self) -> (&'static str, HeaderValue) {
        (NONCE_HEADER, value(self.nonce.to_string()))
    }

    pub(crate) fn message(&self, status: u16, body: &[u8]) -> Vec<u8> {
        let mut message = b"veil-tm response v1\n".to_vec();
        message.extend_from_slice(&self.nonce.to_be_bytes());
        message.extend_from_slice(&self.request_digest);
        message.extend_from_slice(&status.to_be_bytes());
        message.extend_from_slice(&Sha256::digest(body));
        message
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, AuthError> {
    headers
        .get(name)
        .map(|v| v.to_str().map_err(|_| AuthError::Malformed(format!("{name} is not text"))))
        .transpose()
}

fn signature_of(text: &str) -> Result<[u8; 64], AuthError> {
    STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| AuthError::Malformed(format!("{SIGNATURE_HEADER} is not 64 base64 bytes")))
}

fn value(text: String) -> HeaderValue {
    HeaderValue::try_from(text).expect("base64 and digits are valid header values")
}

impl RequestSignature {
    /// Signs a request now.
    pub fn sign(identity: &Identity, method: &str, path: &str, body: &[u8]) -> Self {
        Self::sign_at(identity, method, path, body, now_ms())
    }

    /// Signs a request as if at `timestamp_ms`.
    pub fn sign_at(
        identity: &Identity,
        method: &str,
        path: &str,
        body: &[u8],
        timestamp_ms: u64,
    ) -> Self {
        let nonce = rand::random();
        let signature = identity.sign(&request_message(method, path, timestamp_ms, nonce, body));
        Self { identity: identity.public(), timestamp_ms, nonce, signature }
    }

    /// The headers that carry it.
    pub fn headers(&self) -> [(&'static str, HeaderValue); 4] {
        [
            (IDENTITY_HEADER, value(self.identity.to_string())),
            (TIMESTAMP_HEADER, value(self.timestamp_ms.to_string())),
            (NONCE_HEADER, value(self.nonce.to_string())),
            (SIGNATURE_HEADER, value(STANDARD.encode(self.signature))),
        ]
    }

    /// Reads it from a request's headers.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, AuthError> {
        let (identity, timestamp, nonce, signature) = match (
            header_text(headers, IDENTITY_HEADER)?,
            header_text(headers, TIMESTAMP_HEADER)?,
            header_text(headers, NONCE_HEADER)?,
            header_text(headers, SIGNATURE_HEADER)?,
        ) {
            (None, None, None, None) => return Err(AuthError::Unsigned),
            (Some(i), Some(t), Some(n), Some(s)) => (i, t, n, s),
            _ => {
                return Err(AuthError::Malformed(format!(
                    "{IDENTITY_HEADER}, {TIMESTAMP_HEADER}, {NONCE_HEADER} and {SIGNATURE_HEADER} \
                     go together"
                )))
            }
        };
        Ok(Self {
            identity: identity.parse().map_err(AuthError::Malformed)?,
            timestamp_ms: timestamp.trim().parse().map_err(|_| {
                AuthError::Malformed(format!("{TIMESTAMP_HEADER} is not unix milliseconds"))
            })?,
            nonce: nonce.trim().parse().map_err(|_| {
                AuthError::Malformed(format!("{NONCE_HEADER} is not a 64-bit number"))
            })?,
            signature: signature_of(signature)?,
        })
    }

    /// Checks the signature over this request and that it is fresh at `now_ms`.
    pub fn verify(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        now_ms: u64,
    ) -> Result<(), AuthError> {
        let skew = self.timestamp_ms as i64 - now_ms as i64;
        if skew.unsigned_abs() > MAX_CLOCK_SKEW.as_millis() as u64 {
            return Err(AuthError::Stale(skew));
        }
        self.identity
            .verify(
                &request_message(method, path, self.timestamp_ms, self.nonce, body),
                &self.signature,
            )
            .map_err(AuthError::BadSignature)
    }
}

/// The headers of an answer to `request`, signed by `identity`.
pub fn sign_response(
    identity: &Identity,
    request: &AnswerTo,
    status: u16,
    body: &[u8],
) -> [(&'static str, HeaderValue); 2] {
    let signature = identity.sign(&request.message(status, body));
    [
        (IDENTITY_HEADER, value(identity.public().to_string())),
        (SIGNATURE_HEADER, value(STANDARD.encode(signature))),
    ]
}

/// Checks an answer to `request`; answers who signed it, which must be `expected` when given.
pub fn verify_response(
    headers: &HeaderMap,
    request: &AnswerTo,
    status: u16,
    body: &[u8],
    expected: Option<IdentityKey>,
) -> Result<IdentityKey, AuthError> {
    let identity: IdentityKey = header_text(headers, IDENTITY_HEADER)?
        .ok_or(AuthError::Unsigned)?
        .parse()
        .map_err(AuthError::Malformed)?;
    let signature =
        signature_of(header_text(headers, SIGNATURE_HEADER)?.ok_or(AuthError::Unsigned)?)?;
    if let Some(expected) = expected.filter(|e| *e != identity) {
        return Err(AuthError::WrongIdentity { expected, found: identity });
    }
    identity.verify(&request.message(status, body), &signature).map_err(AuthError::BadSignature)?;
    Ok(identity)
}

/// Remembers recent requests so that none is accepted twice: two sets, the
/// current one and the one before, swapped every `2 × MAX_CLOCK_SKEW`, so that a signature is
/// kept at least until its request would be stale anyway. At [`REPLAY_CAPACITY`] new requests
/// are refused until a swap (a flood of one's own signed requests cannot push others' out).
#[derive(Debug, Default)]
pub struct ReplayGuard {
    inner: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    current: HashSet<[u8; 32]>,
    previous: HashSet<[u8; 32]>,
    swapped_ms: u64,
}

impl ReplayGuard {
    /// Records `request` (already verified fresh) at `now_ms`, refusing one seen before.
    pub fn check(&self, request: &RequestSignature, now_ms: u64) -> Result<(), AuthError> {
        // The request's identity, time and nonce, not its signature bytes: a second valid
        // signature over the same request is still the same request.
        let mut hasher = Sha256::new();
        hasher.update(request.identity.0);
        hasher.update(request.timestamp_ms.to_be_bytes());
        hasher.update(request.nonce.to_be_bytes());
        let id: [u8; 32] = hasher.finalize().into();
        let mut seen = self.inner.lock();
        if now_ms.saturating_sub(seen.swapped_ms) > 2 * MAX_CLOCK_SKEW.as_millis() as u64 {
            seen.previous = std::mem::take(&mut seen.current);
            seen.swapped_ms = now_ms;
        }
        if seen.current.contains(&id) || seen.previous.contains(&id) {
            return Err(AuthError::Replayed);
        }
        if seen.current.len() + seen.previous.len() >= REPLAY_CAPACITY {
            return Err(AuthError::Busy);
        }
        seen.current.insert(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(signature: &RequestSignature) -> HeaderMap {
        signature
            .headers()
            .into_iter()
            .map(|(k, v)| (http::HeaderName::from_static(k), v))
            .collect()
    }

    #[test]
    fn a_signed_request_verifies_once_and_only_as_signed() {
        let caller = Identity::generate();
        let signed = RequestSignature::sign(&caller, "POST", "/push", b"body");
        let read = RequestSignature::from_headers(&headers(&signed)).unwrap();
        assert_eq!(read, signed);
        let now = signed.timestamp_ms;
        read.verify("POST", "/push", b"body", now).unwrap();
        for (method, path, body) in [
            ("GET", "/push", &b"body"[..]),
            ("POST", "/resend", b"body"),
            ("POST", "/push", b"bodY"),
        ] {
            assert!(matches!(
                read.verify(method, path, body, now),
                Err(AuthError::BadSignature(_))
            ));
        }
        let guard = ReplayGuard::default();
        guard.check(&read, now).unwrap();
        assert_eq!(guard.check(&read, now), Err(AuthError::Replayed));
    }

    #[test]
    fn a_request_outside_the_clock_window_is_stale() {
        let signed = RequestSignature::sign(&Identity::generate(), "POST", "/partyinfo", b"{}");
        let later = signed.timestamp_ms + MAX_CLOCK_SKEW.as_millis() as u64 + 1;
        assert!(matches!(
            signed.verify("POST", "/partyinfo", b"{}", later),
            Err(AuthError::Stale(_))
        ));
        let earlier = signed.timestamp_ms - MAX_CLOCK_SKEW.as_millis() as u64 - 1;
        assert!(matches!(
            signed.verify("POST", "/partyinfo", b"{}", earlier),
            Err(AuthError::Stale(_))
        ));
    }

    #[test]
    fn an_answer_verifies_only_for_its_request_status_body_and_signer() {
        let (answerer, other) = (Identity::generate(), Identity::generate());
        let request = AnswerTo::new(7, b"x");
        let answer: HeaderMap = sign_response(&answerer, &request, 201, b"hash")
            .into_iter()
            .map(|(k, v)| (http::HeaderName::from_static(k), v))
            .collect();
        let expected = Some(answerer.public());
        assert_eq!(
            verify_response(&answer, &request, 201, b"hash", expected),
            Ok(answerer.public())
        );
        assert!(verify_response(&answer, &request, 200, b"hash", None).is_err());
        assert!(verify_response(&answer, &request, 201, b"hasH", None).is_err());
        for other_request in [AnswerTo::new(8, b"x"), AnswerTo::new(7, b"y")] {
            assert!(verify_response(&answer, &other_request, 201, b"hash", None).is_err());
        }
        assert!(matches!(
            verify_response(&answer, &request, 201, b"hash", Some(other.public())),
            Err(AuthError::WrongIdentity { .. })
        ));
        let unsigned = verify_response(&HeaderMap::new(), &request, 201, b"hash", None);
        assert_eq!(unsigned, Err(AuthError::Unsigned));
    }
}
