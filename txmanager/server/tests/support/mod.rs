//! Running real `veil-tm` processes on loopback through the shared harness
//! ([`veil_testkit::tm`]), with the TM tests' async helpers.

#![allow(dead_code, unreachable_pub)]

pub mod fake_tm;

use std::{path::Path, time::Duration};
use veil_enclave::TmPublicKey;
use veil_testkit::tm::TmProcess;
use veil_tm_api::{PartyInfo, TmClient, TmEndpoint};

pub const BIN: &str = env!("CARGO_BIN_EXE_veil-tm");

/// A free TCP port on `ip` for a TM the test starts.
pub fn free_port(ip: &str) -> u16 {
    veil_testkit::free_port(ip)
}

/// Runs `veil-tm` with `args` to completion; panics with its output if it fails.
pub fn veil_tm(args: &[&str]) -> String {
    veil_testkit::tm::run_to_end(Path::new(BIN), args)
}

/// Generates `dir/name.{key,pub}` with the binary; answers the public key.
pub fn keygen(dir: &Path, name: &str) -> TmPublicKey {
    veil_testkit::tm::keygen(Path::new(BIN), dir, name)
}

/// A `/send` body for `payload` to `to`.
pub fn send_request(payload: &[u8], to: Vec<TmPublicKey>) -> veil_tm_api::SendRequest {
    veil_tm_api::SendRequest {
        payload: veil_tm_api::Base64Bytes(payload.to_vec()),
        to,
        ..Default::default()
    }
}

/// GETs `url` and decodes the JSON answer.
pub async fn get_json<T: serde::de::DeserializeOwned>(client: &reqwest::Client, url: &str) -> T {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

/// POSTs `body` as JSON to `url` and decodes the JSON answer.
pub async fn post_json<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
    body: &impl serde::Serialize,
) -> T {
    client.post(url).json(body).send().await.unwrap().json().await.unwrap()
}

/// Polls `check` until it holds or `secs` pass ([`veil_testkit::wait_for`]).
pub async fn wait_for<F, Fut>(secs: u64, what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    veil_testkit::wait_for(what, Duration::from_secs(secs), check).await;
}

/// One TM process (the shared harness, [`TmProcess`]) with the TM tests' async side: start
/// and wait without blocking the test's runtime, the Q2T client, party info.
pub struct Tm(TmProcess);

impl std::ops::Deref for Tm {
    type Target = TmProcess;
    fn deref(&self) -> &TmProcess {
        &self.0
    }
}

impl std::ops::DerefMut for Tm {
    fn deref_mut(&mut self) -> &mut TmProcess {
        &mut self.0
    }
}

impl Tm {
    /// Keys and a configuration under `root/name`, P2P on `ip` with TLS when `https`.
    pub fn new(root: &Path, name: &str, ip: &str, https: bool) -> Self {
        Self(TmProcess::new(Path::new(BIN), root, name, ip, https))
    }

    /// The Q2T client (unix socket).
    pub fn q2t(&self) -> TmClient {
        TmClient::new(TmEndpoint::Unix(self.socket()))
    }

    /// Writes the configuration and starts the process; waits until the Q2T socket answers
    /// and every TCP server accepts connections.
    pub async fn start(&mut self) {
        self.0.spawn();
        let client = self.q2t();
        let what = format!("{} to come up", self.name);
        let process = &mut self.0;
        veil_testkit::wait_for(&what, Duration::from_secs(60), || {
            process.assert_running();
            let listening = process.listening();
            let answered = client.upcheck();
            async move { listening && answered.await.unwrap_or(false) }
        })
        .await;
    }

    /// What this TM's P2P API says it knows.
    pub async fn party_info(&self, client: &reqwest::Client) -> Option<PartyInfo> {
        client.get(format!("{}/partyinfo", self.p2p_url)).send().await.ok()?.json().await.ok()
    }

    /// Waits until this TM has proven `key` to be at `url`.
    pub async fn wait_knows(&self, client: &reqwest::Client, key: &TmPublicKey, url: &str) {
        wait_for(30, &format!("{} to learn {key} at {url}", self.name), || async {
            self.party_info(client)
                .await
                .is_some_and(|info| info.keys.iter().any(|k| k.key == *key && k.url == url))
        })
        .await;
    }

    /// Waits until this TM lists `key` among the network's keys (ThirdParty
    /// `/partyinfo/keys`, reachable without the P2P API's TLS).
    pub async fn wait_lists(&self, key: &TmPublicKey) {
        let url = format!("{}/partyinfo/keys", self.third_party_url);
        wait_for(30, &format!("{} to list {key}", self.name), || async {
            let Ok(response) = reqwest::get(&url).await else { return false };
            response
                .json::<veil_tm_api::KeysResponse>()
                .await
                .is_ok_and(|keys| keys.keys.iter().any(|k| k.key == *key))
        })
        .await;
    }
}

/// The identity a TM keeps in its storage directory (created at its first start).
pub fn identity_of(tm: &Tm) -> veil_txmanager::auth::Identity {
    let (private, _) = veil_txmanager::auth::identity::default_paths(&tm.store_path());
    veil_txmanager::auth::Identity::load(&private, None, None).expect("the TM's identity")
}

#[allow(unused_imports)]
pub use fake_tm::{signed_post, signed_post_json};
