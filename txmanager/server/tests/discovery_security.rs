//! Who a TM believes and serves: a TM announcing someone else's key is not believed, a peer
//! outside the whitelist is refused.

mod support;

use axum::{routing::post, Router};
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};
use support::{get_json, send_request, wait_for, Tm};
use veil_tm_api::{KeyUrl, KeysResponse, PartyInfo};

/// A fake TM that claims keys it does not hold: it answers every ownership challenge with
/// made-up bytes, and counts the challenges.
async fn rogue() -> (String, Arc<AtomicUsize>) {
    let challenges = Arc::new(AtomicUsize::new(0));
    let counter = challenges.clone();
    let router = Router::new().route(
        "/partyinfo/validate",
        post(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { vec![0u8; 67] }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, challenges)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tm_announcing_another_tms_key_is_not_believed() {
    let root = tempfile::tempdir().unwrap();
    let mut a = Tm::new(root.path(), "a", "127.0.0.1", false);
    let mut b = Tm::new(root.path(), "b", "127.0.0.1", false);
    a.start().await;
    let http = reqwest::Client::new();
    let (rogue_url, challenges) = rogue().await;
    let claim = PartyInfo {
        url: rogue_url.clone(),
        peers: vec![],
        keys: vec![KeyUrl { key: b.key, url: rogue_url.clone() }],
    };
    let post_claim = || http.post(format!("{}/partyinfo", a.p2p_url)).json(&claim).send();
    assert!(post_claim().await.unwrap().status().is_success());
    assert_eq!(challenges.load(Ordering::SeqCst), 1, "A challenged the claim");
    let info = a.party_info(&http).await.unwrap();
    assert!(!info.keys.iter().any(|k| k.key == b.key), "A believed the rogue: {info:?}");
    let request = send_request(b"for B only", vec![b.key]);
    let refused = a.q2t().send(&request).await.unwrap_err().to_string();
    assert!(refused.contains("404") && refused.contains(&b.key.to_string()), "{refused}");

    // The real B proves its key; a second rogue claim does not move it.
    b.add_peer(&a.p2p_url.clone());
    b.start().await;
    a.wait_knows(&http, &b.key, &b.p2p_url).await;
    assert!(post_claim().await.unwrap().status().is_success());
    assert_eq!(challenges.load(Ordering::SeqCst), 2);
    let info = a.party_info(&http).await.unwrap();
    let b_at: Vec<&str> =
        info.keys.iter().filter(|k| k.key == b.key).map(|k| k.url.as_str()).collect();
    assert_eq!(b_at, vec![b.p2p_url.as_str()]);
    a.q2t().send(&request).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_whitelist_only_configured_peers_are_served() {
    let root = tempfile::tempdir().unwrap();
    let mut a = Tm::new(root.path(), "a", "127.0.0.1", false);
    let mut b = Tm::new(root.path(), "b", "127.0.0.2", false);
    let mut outsider = Tm::new(root.path(), "outsider", "127.0.0.3", false);
    a.config["useWhiteList"] = true.into();
    a.add_peer(&b.p2p_url.clone());
    b.add_peer(&a.p2p_url.clone());
    outsider.add_peer(&a.p2p_url.clone());
    for tm in [&mut a, &mut b, &mut outsider] {
        tm.start().await;
    }
    // B (whitelisted) and A learn each other; the outsider never gets A's key.
    let from_b =
        reqwest::Client::builder().local_address("127.0.0.2".parse().ok()).build().unwrap();
    a.wait_knows(&from_b, &b.key, &b.p2p_url).await;
    b.wait_knows(&from_b, &a.key, &a.p2p_url).await;
    let sent = b.q2t().send(&send_request(b"hi", vec![a.key])).await.unwrap();
    assert!(a.q2t().receive(&sent.key, None).await.unwrap().is_some());

    let from_outsider =
        reqwest::Client::builder().local_address("127.0.0.3".parse().ok()).build().unwrap();
    let refused = from_outsider.get(format!("{}/partyinfo", a.p2p_url)).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("127.0.0.3 is not a configured peer"));
    let push =
        from_outsider.post(format!("{}/push", a.p2p_url)).body(vec![1, 2, 3]).send().await.unwrap();
    assert_eq!(push.status(), 403);
    // The outsider's own discovery keeps failing: it never learns A's key. A's ThirdParty API
    // (not whitelisted) shows A never learnt the outsider's either.
    wait_for(10, "the outsider to have tried", || async {
        std::fs::read_to_string(outsider.log_path())
            .unwrap_or_default()
            .contains("peer unreachable")
    })
    .await;
    let outsider_view = outsider.party_info(&from_outsider).await.unwrap();
    assert!(!outsider_view.keys.iter().any(|k| k.key == a.key));
    let a_keys: KeysResponse =
        get_json(&from_outsider, &format!("{}/partyinfo/keys", a.third_party_url)).await;
    assert!(a_keys.keys.iter().any(|k| k.key == b.key));
    assert!(!a_keys.keys.iter().any(|k| k.key == outsider.key));
}
