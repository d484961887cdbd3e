//! Remote enclave mode: a `veil-tm enclave` process holds the keys and a TM without keys uses
//! it. The TM's configuration and memory never hold the private key; the enclave's memory does
//! (which shows the memory search finds a key where there is one). The enclave serves only
//! the TM identities its configuration lists.

mod support;

use serde_json::json;
use std::process::{Child, Command, Stdio};
use support::{free_port, send_request, signed_post_json, veil_tm, wait_for, Tm, BIN};
use veil_enclave::EncodedPayload;
use veil_testkit::memory_contains;
use veil_tm_api::{Base64Bytes, ResendRequest, ResendType};
use veil_txmanager::auth::Identity;

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tm_with_a_remote_enclave_works_without_holding_the_key() {
    remote_enclave(false).await;
}

/// The same over `https://`: the enclave with a generated certificate, B trusting it on first
/// use, as an enclave on another host would be run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_enclave_is_served_over_tls() {
    remote_enclave(true).await;
}

async fn remote_enclave(tls: bool) {
    let root = tempfile::tempdir().unwrap();
    let mut a = Tm::new(root.path(), "a", "127.0.0.1", false);
    let mut b = Tm::new(root.path(), "b", "127.0.0.1", false);

    // B's keys move to the enclave's directory; B's configuration names only the enclave.
    let enclave_dir = root.path().join("b-enclave");
    std::fs::create_dir_all(&enclave_dir).unwrap();
    for file in ["key.key", "key.pub"] {
        std::fs::rename(b.dir.join(file), enclave_dir.join(file)).unwrap();
    }
    // B's identity, written by keygen and locked with a password; the enclave serves only it.
    std::fs::write(b.dir.join("identity.password"), "open sesame\n").unwrap();
    let identity_base = b.dir.join("identity");
    veil_tm(&[
        "keygen",
        "--identity",
        "--filename",
        identity_base.to_str().unwrap(),
        "--password-file",
        b.dir.join("identity.password").to_str().unwrap(),
    ]);
    let b_identity = std::fs::read_to_string(b.dir.join("identity.pub")).unwrap();
    b.config["identity"] = json!({
        "privateKeyPath": b.dir.join("identity.key"),
        "publicKeyPath": b.dir.join("identity.pub"),
        "passwordFile": b.dir.join("identity.password"),
    });
    let scheme = if tls { "https" } else { "http" };
    let enclave_url = format!("{scheme}://127.0.0.1:{}", free_port("127.0.0.1"));
    let mut enclave_server = json!({ "app": "ENCLAVE", "serverAddress": enclave_url });
    let mut b_enclave_entry = enclave_server.clone();
    if tls {
        enclave_server["sslConfig"] = json!({
            "tls": "STRICT",
            "generateKeyStoreIfNotExisted": true,
            "serverTlsCertificatePath": enclave_dir.join("server.pem"),
            "serverTlsKeyPath": enclave_dir.join("server.key"),
            "serverTrustMode": "NONE"
        });
        b_enclave_entry["sslConfig"] = json!({
            "tls": "STRICT",
            "clientTrustMode": "TOFU",
            "knownServersFile": b.dir.join("knownEnclave")
        });
    }
    // Only for looking at the enclave from the test: any certificate.
    let http = reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
    let enclave_config = json!({
        "serverConfigs": [enclave_server],
        "servedIdentities": [b_identity.trim()],
        "keys": { "keyData": [{
            "privateKeyPath": enclave_dir.join("key.key"),
            "publicKeyPath": enclave_dir.join("key.pub")
        }] }
    });
    std::fs::write(enclave_dir.join("enclave.json"), enclave_config.to_string()).unwrap();
    let enclave = Process(
        Command::new(BIN)
            .args(["enclave", "--configfile"])
            .arg(enclave_dir.join("enclave.json"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(30, "the enclave", || async {
        let upcheck = http.get(format!("{enclave_url}/upcheck")).send().await;
        upcheck.is_ok_and(|r| r.status().is_success())
    })
    .await;
    b.config.as_object_mut().unwrap().remove("keys");
    b.config["serverConfigs"].as_array_mut().unwrap().push(b_enclave_entry);
    a.add_peer(&b.p2p_url.clone());
    b.add_peer(&a.p2p_url.clone());
    a.start().await;
    b.start().await;

    a.wait_knows(&http, &b.key, &b.p2p_url).await;
    b.wait_knows(&http, &a.key, &a.p2p_url).await;
    let to_b = send_request(b"via the enclave", vec![b.key]);
    let sent = a.q2t().send(&to_b).await.unwrap();
    assert_eq!(
        b.q2t().receive(&sent.key, None).await.unwrap().unwrap().payload.0,
        b"via the enclave"
    );
    let to_a = send_request(b"from B", vec![a.key]);
    let back = b.q2t().send(&to_a).await.unwrap();
    assert_eq!(back.sender_key, Some(b.key));
    assert_eq!(a.q2t().receive(&back.key, None).await.unwrap().unwrap().payload.0, b"from B");

    // The private key: neither in B's configuration nor in its memory; in the enclave's.
    let key_file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(enclave_dir.join("key.key")).unwrap())
            .unwrap();
    let encoded = key_file["data"]["bytes"].as_str().unwrap();
    let private =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded).unwrap();
    let b_config = std::fs::read_to_string(b.config_path()).unwrap();
    assert!(!b_config.contains(encoded) && !b_config.contains("keyData"));
    let b_pid = b.pid().unwrap();
    assert!(!memory_contains(b_pid, &private), "the TM's memory holds the private key");
    assert!(
        memory_contains(enclave.0.id(), &private),
        "the search did not find the key in the enclave"
    );

    // Anyone else asking the enclave to open B's copy (which /resend or the wire may give
    // them) is refused: unsigned, 401; signed by a TM the enclave does not serve, 403.
    let b_key = Identity::load(&b.dir.join("identity.key"), None, Some("open sesame")).unwrap();
    let resend =
        ResendRequest { kind: ResendType::Individual, public_key: b.key, key: Some(sent.key) };
    let copy = signed_post_json(&http, &b_key, &a.p2p_url, "/resend", &resend).await;
    assert_eq!(copy.status(), 200);
    let copy = EncodedPayload::decode(&copy.bytes().await.unwrap()).unwrap();
    let unencrypt = json!({ "data": Base64Bytes(copy.encode()), "providedKey": b.key });
    let unsigned =
        http.post(format!("{enclave_url}/unencrypt")).json(&unencrypt).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);
    assert!(unsigned.text().await.unwrap().contains("unsigned request"));
    let stranger = Identity::generate();
    let foreign = signed_post_json(&http, &stranger, &enclave_url, "/unencrypt", &unencrypt).await;
    assert_eq!(foreign.status(), 403);
    assert!(foreign.text().await.unwrap().contains("not one this server serves"));
    // B's own identity opens it (what B's TM does).
    let opened = signed_post_json(&http, &b_key, &enclave_url, "/unencrypt", &unencrypt).await;
    assert_eq!(opened.status(), 200);
    assert_eq!(opened.bytes().await.unwrap().as_ref(), b"via the enclave");

    if tls {
        // B recorded the enclave's certificate; plain HTTP is not served on its port.
        let known = std::fs::read_to_string(b.dir.join("knownEnclave")).unwrap();
        assert!(known.starts_with(enclave_url.trim_start_matches("https://")), "{known}");
        let plain = enclave_url.replace("https://", "http://");
        assert!(reqwest::get(format!("{plain}/upcheck")).await.is_err());
    }
}
