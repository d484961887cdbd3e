//! How far discovery reaches: peers of peers are found unless `disablePeerDiscovery`;
//! `alwaysSendTo` adds a recipient to every send; an INDIVIDUAL resend answers one recipient's
//! copy.

mod support;

use serde_json::json;
use support::{identity_of, send_request, signed_post_json, wait_for, Tm};
use veil_enclave::EncodedPayload;
use veil_tm_api::{ResendRequest, ResendType};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_reaches_peers_of_peers_unless_disabled() {
    let root = tempfile::tempdir().unwrap();
    let mut a = Tm::new(root.path(), "a", "127.0.0.1", false);
    let mut closed = Tm::new(root.path(), "closed", "127.0.0.1", false);
    let mut b = Tm::new(root.path(), "b", "127.0.0.1", false);
    let mut c = Tm::new(root.path(), "c", "127.0.0.1", false);
    b.add_peer(&c.p2p_url.clone());
    a.add_peer(&b.p2p_url.clone());
    closed.add_peer(&b.p2p_url.clone());
    closed.config["disablePeerDiscovery"] = true.into();
    a.config["alwaysSendTo"] = json!([c.key]);
    for tm in [&mut c, &mut b, &mut a, &mut closed] {
        tm.start().await;
    }
    let http = reqwest::Client::new();
    // A learns C through B's peer list, then C's key from C itself.
    a.wait_knows(&http, &c.key, &c.p2p_url).await;
    closed.wait_knows(&http, &b.key, &b.p2p_url).await;
    // C learns the closed TM's URL from B and announces itself; the closed TM refuses.
    wait_for(30, "C to be refused by the closed TM", || async {
        std::fs::read_to_string(c.log_path())
            .unwrap_or_default()
            .contains("not found in the known peer list")
    })
    .await;
    let closed_view = closed.party_info(&http).await.unwrap();
    assert!(!closed_view.peers.iter().any(|p| p.url == c.p2p_url), "{closed_view:?}");
    assert!(!closed_view.keys.iter().any(|k| k.key == c.key));
    let error = closed.q2t().send(&send_request(b"x", vec![c.key])).await.unwrap_err().to_string();
    assert!(error.contains("Recipient not found"), "{error}");

    // alwaysSendTo: A's send to B reaches C too.
    let sent = a.q2t().send(&send_request(b"copy to c", vec![b.key])).await.unwrap();
    assert_eq!(c.q2t().receive(&sent.key, None).await.unwrap().unwrap().payload.0, b"copy to c");
    assert!(closed.q2t().receive(&sent.key, None).await.unwrap().is_none());

    // INDIVIDUAL resend: B's copy only.
    let request =
        ResendRequest { kind: ResendType::Individual, public_key: b.key, key: Some(sent.key) };
    let as_b = identity_of(&b);
    let copy = signed_post_json(&http, &as_b, &a.p2p_url, "/resend", &request).await;
    assert_eq!(copy.status(), 200);
    let copy = EncodedPayload::decode(&copy.bytes().await.unwrap()).unwrap();
    assert_eq!((copy.hash(), copy.recipients()), (sent.key, vec![b.key]));
    let outsider =
        ResendRequest { kind: ResendType::Individual, public_key: closed.key, key: Some(sent.key) };
    let refused = signed_post_json(&http, &as_b, &a.p2p_url, "/resend", &outsider).await;
    assert_eq!(refused.status(), 403, "B may not ask for the closed TM's copy");
    let unsigned = http.post(format!("{}/resend", a.p2p_url)).json(&request).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);
}
