//! Running real `veil-tm` processes on loopback: key generation through the binary, a
//! Tessera-shaped configuration per TM, start, wait until up, stop (kill -9 or SIGTERM).

#![allow(dead_code, unreachable_pub)]

pub mod fake_tm;

use serde_json::{json, Value};
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};
use veil_enclave::TmPublicKey;
use veil_tm_api::{PartyInfo, TmClient, TmEndpoint};

pub const BIN: &str = env!("CARGO_BIN_EXE_veil-tm");

/// A free TCP port on `ip` for a TM the test starts.
pub fn free_port(ip: &str) -> u16 {
    veil_testkit::free_port(ip)
}

/// Runs `veil-tm` with `args` to completion; panics with its output if it fails.
pub fn veil_tm(args: &[&str]) -> String {
    let output = Command::new(BIN).args(args).output().expect("run veil-tm");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "veil-tm {args:?} failed: {text}");
    text
}

/// Generates `dir/name.{key,pub}` with the binary; answers the public key.
pub fn keygen(dir: &Path, name: &str) -> TmPublicKey {
    let base = dir.join(name);
    veil_tm(&["keygen", "--filename", base.to_str().unwrap()]);
    std::fs::read_to_string(base.with_extension("pub")).unwrap().trim().parse().unwrap()
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

/// Polls `check` until it holds or `secs` pass.
pub async fn wait_for<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One TM's files, configuration and (when started) process.
pub struct Tm {
    pub name: String,
    pub dir: PathBuf,
    pub key: TmPublicKey,
    pub ip: String,
    pub p2p_url: String,
    pub third_party_url: String,
    pub config: Value,
    pub child: Option<Child>,
}

impl Tm {
    /// Keys and a configuration under `root/name`, P2P on `ip` with TLS when `https`.
    pub fn new(root: &Path, name: &str, ip: &str, https: bool) -> Self {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let key = keygen(&dir, "key");
        let scheme = if https { "https" } else { "http" };
        let p2p_url = format!("{scheme}://{ip}:{}", free_port(ip));
        let third_party_url = format!("http://{ip}:{}", free_port(ip));
        let config = veil_config::LocalTm {
            socket: dir.join("tm.ipc"),
            p2p_url: p2p_url.clone(),
            p2p_binding: None,
            third_party_url: third_party_url.clone(),
            key_base: dir.join("key"),
            storage: dir.join("db"),
            peers: Vec::new(),
            party_info_interval_ms: Some(100),
        }
        .to_json();
        Self {
            name: name.into(),
            dir,
            key,
            ip: ip.into(),
            p2p_url,
            third_party_url,
            config,
            child: None,
        }
    }

    pub fn add_peer(&mut self, url: &str) {
        self.config["peer"].as_array_mut().unwrap().push(json!({ "url": url }));
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("tm.json")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("tm.log")
    }

    pub fn store_path(&self) -> PathBuf {
        self.dir.join("db")
    }

    /// The Q2T client (unix socket).
    pub fn q2t(&self) -> TmClient {
        TmClient::new(TmEndpoint::Unix(self.dir.join("tm.ipc")))
    }

    /// Writes the configuration and starts the process, logging (debug) to `tm.log`; waits
    /// until the Q2T socket answers.
    pub async fn start(&mut self) {
        std::fs::write(self.config_path(), serde_json::to_vec_pretty(&self.config).unwrap())
            .unwrap();
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(self.log_path()).unwrap();
        let child = Command::new(BIN)
            .arg("--configfile")
            .arg(self.config_path())
            .env("RUST_LOG", "debug")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn veil-tm");
        self.child = Some(child);
        let client = self.q2t();
        let name = self.name.clone();
        let log_path = self.log_path();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if client.upcheck().await.unwrap_or(false) {
                break;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "{name} exited with {status}: {}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "{name} did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// kill -9 and wait.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
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
}

impl Tm {
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

impl Drop for Tm {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The identity a TM keeps in its storage directory (created at its first start).
pub fn identity_of(tm: &Tm) -> veil_txmanager::auth::Identity {
    let (private, _) = veil_txmanager::auth::identity::default_paths(&tm.store_path());
    veil_txmanager::auth::Identity::load(&private, None, None).expect("the TM's identity")
}

#[allow(unused_imports)]
pub use fake_tm::{signed_post, signed_post_json};
