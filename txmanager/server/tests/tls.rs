//! TLS between TMs: trust on first use with generated certificates, a changed certificate
//! refused afterwards, and CA-based trust.

mod support;

use serde_json::json;
use support::{send_request, Tm};
use veil_tm_api::SendRequest;

fn tofu(tm: &mut Tm) {
    let dir = tm.dir.clone();
    tm.config["serverConfigs"][1]["sslConfig"] = json!({
        "tls": "STRICT",
        "generateKeyStoreIfNotExisted": true,
        "serverTlsCertificatePath": dir.join("server.pem"),
        "serverTlsKeyPath": dir.join("server.key"),
        "serverTrustMode": "TOFU",
        "knownClientsFile": dir.join("knownClients"),
        "clientTlsCertificatePath": dir.join("client.pem"),
        "clientTlsKeyPath": dir.join("client.key"),
        "clientTrustMode": "TOFU",
        "knownServersFile": dir.join("knownServers")
    });
}

fn send(to: veil_enclave::TmPublicKey) -> SendRequest {
    send_request(b"over TLS", vec![to])
}

/// A client that accepts any server certificate, to look at a TLS TM's party info.
fn insecure() -> reqwest::Client {
    reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tms_talk_over_tls_trusting_on_first_use() {
    let root = tempfile::tempdir().unwrap();
    let mut a = Tm::new(root.path(), "a", "127.0.0.1", true);
    let mut b = Tm::new(root.path(), "b", "127.0.0.1", true);
    tofu(&mut a);
    tofu(&mut b);
    a.add_peer(&b.p2p_url.clone());
    b.add_peer(&a.p2p_url.clone());
    a.start().await;
    b.start().await;
    a.wait_lists(&b.key).await;
    let sent = a.q2t().send(&send(b.key)).await.unwrap();
    assert_eq!(b.q2t().receive(&sent.key, None).await.unwrap().unwrap().payload.0, b"over TLS");

    // Each side recorded the other's certificate.
    let b_address = b.p2p_url.trim_start_matches("https://").to_string();
    let known = std::fs::read_to_string(a.dir.join("knownServers")).unwrap();
    assert!(known.lines().any(|l| l.starts_with(&b_address)), "{known}");
    assert!(std::fs::read_to_string(b.dir.join("knownClients")).unwrap().starts_with("127.0.0.1 "));
    // Plain HTTP is not served on a TLS port.
    assert!(reqwest::get(b.p2p_url.replace("https", "http") + "/upcheck").await.is_err());

    // B comes back with a new certificate: A no longer trusts it, and says so.
    b.kill();
    std::fs::remove_file(b.dir.join("server.pem")).unwrap();
    std::fs::remove_file(b.dir.join("server.key")).unwrap();
    b.start().await;
    let refused = a.q2t().send(&send(b.key)).await.unwrap_err().to_string();
    assert!(refused.contains("502") && refused.contains("is not the one listed"), "{refused}");
}

/// A CA and a certificate it signs for 127.0.0.1, as PEM files in `dir`.
fn signed_by(
    ca: &rcgen::CertifiedKey,
    dir: &std::path::Path,
    name: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".into()]).unwrap();
    let cert = params.signed_by(&key, &ca.cert, &ca.key_pair).unwrap();
    let (cert_path, key_path) = (dir.join(format!("{name}.pem")), dir.join(format!("{name}.key")));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tms_talk_over_tls_with_a_common_ca() {
    let root = tempfile::tempdir().unwrap();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca =
        rcgen::CertifiedKey { cert: ca_params.self_signed(&ca_key).unwrap(), key_pair: ca_key };
    let ca_path = root.path().join("ca.pem");
    std::fs::write(&ca_path, ca.cert.pem()).unwrap();
    let mut tms = vec![];
    for name in ["a", "b"] {
        let mut tm = Tm::new(root.path(), name, "127.0.0.1", true);
        let (cert, key) = signed_by(&ca, &tm.dir, "tls");
        tm.config["serverConfigs"][1]["sslConfig"] = json!({
            "tls": "STRICT",
            "serverTlsCertificatePath": cert, "serverTlsKeyPath": key,
            "serverTrustMode": "CA", "serverTrustCertificates": [ca_path],
            "clientTlsCertificatePath": cert, "clientTlsKeyPath": key,
            "clientTrustMode": "CA", "clientTrustCertificates": [ca_path]
        });
        tms.push(tm);
    }
    let (a_url, b_url) = (tms[0].p2p_url.clone(), tms[1].p2p_url.clone());
    tms[0].add_peer(&b_url);
    tms[1].add_peer(&a_url);
    for tm in &mut tms {
        tm.start().await;
    }
    tms[0].wait_lists(&tms[1].key).await;
    let sent = tms[0].q2t().send(&send(tms[1].key)).await.unwrap();
    assert_eq!(
        tms[1].q2t().receive(&sent.key, None).await.unwrap().unwrap().payload.0,
        b"over TLS"
    );
    // A client without a certificate from the CA is refused by the server.
    let anonymous = insecure().get(format!("{b_url}/partyinfo")).send().await;
    assert!(anonymous.is_err(), "a client without a certificate was served");
}
