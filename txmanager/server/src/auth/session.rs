//! Sessions between two TMs, so that a push's answer needs an HMAC instead of an ed25519
//! signature (two HMACs cost about a microsecond; a signature and its check ~80 µs here).
//!
//! A TM opens a session with a peer by a signed `POST /session` carrying an ephemeral X25519
//! key ([`Hello`]); the peer answers, signed, with its own ephemeral key and a session id
//! ([`Welcome`]). Both derive the answer key with HKDF-SHA256 from the X25519 agreement and
//! both identities and ephemeral keys. A push naming the session ([`SESSION_HEADER`]) is then
//! answered with [`MAC_HEADER`], an HMAC-SHA256 under that key over what a signature would
//! cover (the request's nonce and body digest, the status and the answer's digest). Only the
//! two ends know the key, and the opener checked that the peer's signed welcome came from the
//! identity it expected, so a MAC'd 201 is as good as a signed one. A server that no longer
//! knows the session (restart, expiry) signs the answer instead, and the client opens a new
//! one next time.

use super::{signed::AnswerTo, IdentityKey};
use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::{
    collections::HashMap,
    time::{Duration, Instant},
};
use x25519_dalek::{EphemeralSecret, PublicKey};

/// The session a request names (base64 of 16 bytes).
pub const SESSION_HEADER: &str = "veil-tm-session";
/// The HMAC of an answer (base64 of 32 bytes).
pub const MAC_HEADER: &str = "veil-tm-mac";
/// How long a session is used; servers keep it a little longer.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(600);
/// Sessions a server keeps at most (the oldest go first).
pub const MAX_SESSIONS: usize = 4096;

/// `POST /session`: the opener's ephemeral X25519 key (base64).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Hello {
    /// The opener's ephemeral public key.
    pub ephemeral: String,
}

/// The answer: the session id and the peer's ephemeral key (base64).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Welcome {
    /// The session id.
    pub id: String,
    /// The peer's ephemeral public key.
    pub ephemeral: String,
}

/// A session's id and answer key.
#[derive(Clone)]
pub struct SessionKey {
    /// The id.
    pub id: [u8; 16],
    key: [u8; 32],
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionKey({})", STANDARD.encode(self.id))
    }
}

impl Drop for SessionKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.key);
    }
}

fn key32(text: &str, what: &str) -> Result<[u8; 32], String> {
    STANDARD
        .decode(text)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("{what} is not 32 base64 bytes"))
}

fn derive(
    shared: &[u8; 32],
    opener: &IdentityKey,
    peer: &IdentityKey,
    opener_ephemeral: &[u8; 32],
    peer_ephemeral: &[u8; 32],
) -> [u8; 32] {
    let mut info = b"veil-tm session v1".to_vec();
    for part in [&opener.0, &peer.0, opener_ephemeral, peer_ephemeral] {
        info.extend_from_slice(part);
    }
    let mut key = [0u8; 32];
    hkdf::Hkdf::<Sha256>::new(None, shared)
        .expand(&info, &mut key)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    key
}

impl SessionKey {
    /// The MAC of an answer to `to`.
    pub fn mac(&self, to: &AnswerTo, status: u16, body: &[u8]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(&to.message(status, body));
        mac.finalize().into_bytes().into()
    }

    /// Checks an answer's MAC header (in constant time).
    pub fn verify(&self, to: &AnswerTo, status: u16, body: &[u8], mac: &str) -> Result<(), String> {
        let given =
            STANDARD.decode(mac.trim()).map_err(|_| format!("{MAC_HEADER} is not base64"))?;
        let mut check = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        check.update(&to.message(status, body));
        check.verify_slice(&given).map_err(|_| "the answer's MAC does not match the session".into())
    }

    /// The id as a header value.
    pub fn header(&self) -> String {
        STANDARD.encode(self.id)
    }
}

/// The opener's side: an ephemeral key waiting for the welcome.
pub struct Opening {
    secret: EphemeralSecret,
    public: [u8; 32],
}

impl Opening {
    /// A fresh ephemeral key and the hello that carries it.
    pub fn new() -> (Self, Hello) {
        let secret = EphemeralSecret::random_from_rng(rand::rngs::OsRng);
        let public = PublicKey::from(&secret).to_bytes();
        (Self { secret, public }, Hello { ephemeral: STANDARD.encode(public) })
    }

    /// The session, from the peer's signed welcome (whose signer the caller checked).
    pub fn finish(
        self,
        opener: &IdentityKey,
        peer: &IdentityKey,
        welcome: &Welcome,
    ) -> Result<SessionKey, String> {
        let peer_ephemeral = key32(&welcome.ephemeral, "the welcome's ephemeral key")?;
        let id: [u8; 16] = STANDARD
            .decode(&welcome.id)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("the welcome's session id is not 16 base64 bytes")?;
        let shared = self.secret.diffie_hellman(&PublicKey::from(peer_ephemeral)).to_bytes();
        Ok(SessionKey { id, key: derive(&shared, opener, peer, &self.public, &peer_ephemeral) })
    }
}

/// A server's sessions.
#[derive(Default)]
pub struct Sessions {
    open: Mutex<HashMap<[u8; 16], (SessionKey, Instant)>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sessions({})", self.open.lock().len())
    }
}

impl Sessions {
    /// Opens a session for `opener` (whose signed hello this is) with this TM, `own`.
    pub fn open(
        &self,
        own: &IdentityKey,
        opener: &IdentityKey,
        hello: &Hello,
    ) -> Result<Welcome, String> {
        let opener_ephemeral = key32(&hello.ephemeral, "ephemeral")?;
        let secret = EphemeralSecret::random_from_rng(rand::rngs::OsRng);
        let public = PublicKey::from(&secret).to_bytes();
        let shared = secret.diffie_hellman(&PublicKey::from(opener_ephemeral)).to_bytes();
        let id: [u8; 16] = rand::random();
        let key = SessionKey { id, key: derive(&shared, opener, own, &opener_ephemeral, &public) };
        let mut open = self.open.lock();
        let keep = SESSION_LIFETIME + Duration::from_secs(60);
        open.retain(|_, (_, at)| at.elapsed() < keep);
        if open.len() >= MAX_SESSIONS {
            let oldest = open.iter().min_by_key(|(_, (_, at))| *at).map(|(id, _)| *id);
            if let Some(oldest) = oldest {
                open.remove(&oldest);
            }
        }
        open.insert(id, (key, Instant::now()));
        Ok(Welcome { id: STANDARD.encode(id), ephemeral: STANDARD.encode(public) })
    }

    /// The session a request names, if still kept.
    pub fn get(&self, header: &str) -> Option<SessionKey> {
        let id: [u8; 16] = STANDARD.decode(header.trim()).ok()?.try_into().ok()?;
        let open = self.open.lock();
        let (key, at) = open.get(&id)?;
        (at.elapsed() < SESSION_LIFETIME + Duration::from_secs(60)).then(|| key.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Identity;

    #[test]
    fn both_ends_derive_one_key_and_a_mac_verifies_only_for_its_answer() {
        let (opener, server) = (Identity::generate().public(), Identity::generate().public());
        let sessions = Sessions::default();
        let (opening, hello) = Opening::new();
        let welcome = sessions.open(&server, &opener, &hello).unwrap();
        let client = opening.finish(&opener, &server, &welcome).unwrap();
        let kept = sessions.get(&welcome.id).unwrap();
        let to = AnswerTo::new(5, b"payload");
        let mac = STANDARD.encode(kept.mac(&to, 201, b"hash"));
        client.verify(&to, 201, b"hash", &mac).unwrap();
        assert!(client.verify(&to, 200, b"hash", &mac).is_err());
        assert!(client.verify(&AnswerTo::new(6, b"payload"), 201, b"hash", &mac).is_err());
        // Another opener's session with the same server has another key.
        let (other_opening, other_hello) = Opening::new();
        let other_welcome = sessions.open(&server, &opener, &other_hello).unwrap();
        let other = other_opening.finish(&opener, &server, &other_welcome).unwrap();
        assert!(other.verify(&to, 201, b"hash", &mac).is_err());
        assert!(sessions.get("AAAAAAAAAAAAAAAAAAAAAA==").is_none());
    }
}
