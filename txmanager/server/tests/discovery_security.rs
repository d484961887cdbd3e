//! Who a TM believes and serves: a fake TM relaying a key-ownership challenge to the key's
//! holder is refused by the holder and the key does not move; unsigned, mis-signed, stale and
//! replayed announcements change nothing; a flood of peer URLs is bounded and dead peers are
//! dropped; a peer outside the whitelist is refused.

mod support;

use std::sync::atomic::Ordering;
use support::{
    fake_tm::{fake_tm, sink},
    get_json, send_request, signed_post_json, wait_for, Tm,
};
use veil_enclave::TmPublicKey;
use veil_tm_api::{KeyUrl, KeysResponse, PartyInfo, PeerUrl};
use veil_txmanager::auth::{signed::RequestSignature, Identity};

fn log_of(tm: &Tm) -> String {
    std::fs::read_to_string(tm.log_path()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relayed_ownership_challenge_does_not_move_a_key() {
    let root = tempfile::tempdir().unwrap();
    let mut a = Tm::new(root.path(), "a", "127.0.0.1", false);
    let mut b = Tm::new(root.path(), "b", "127.0.0.1", false);
    a.start().await;
    b.start().await;
    let http = reqwest::Client::new();
    let fake = fake_tm(b.key, &b.p2p_url, vec![]).await;

    // Before A knows B: the fake claims B's key and relays A's challenge to B, which refuses
    // to open a challenge naming another identity. A does not believe the fake.
    assert!(fake.announce(&a.p2p_url, b.key).await.status().is_success());
    let relays = fake.relays.lock().clone();
    assert!(!relays.is_empty(), "A challenged the claim");
    assert!(
        relays.iter().all(|(status, text)| *status == 400 && text.contains("a relayed claim")),
        "B opened a relayed challenge: {relays:?}"
    );
    assert!(log_of(&b).contains("refused an ownership challenge for another identity"));
    let info = a.party_info(&http).await.unwrap();
    assert!(!info.keys.iter().any(|k| k.key == b.key), "A believed the fake: {info:?}");
    let to_b = send_request(b"for B only", vec![b.key]);
    let refused = a.q2t().send(&to_b).await.unwrap_err().to_string();
    assert!(refused.contains("404") && refused.contains(&b.key.to_string()), "{refused}");

    // The real B proves its key to A; the fake's claims no longer even get a challenge, and
    // every send goes to B.
    b.kill();
    b.add_peer(&a.p2p_url.clone());
    b.start().await;
    a.wait_knows(&http, &b.key, &b.p2p_url).await;
    let relayed_before = fake.relays.lock().len();
    assert!(fake.announce(&a.p2p_url, b.key).await.status().is_success());
    wait_for(10, "A to refuse the fake's claim on B's key", || async {
        log_of(&a).contains("key claim refused: the key is held by another identity")
    })
    .await;
    assert_eq!(fake.relays.lock().len(), relayed_before, "a held key was challenged again");
    for i in 0..5u8 {
        let sent = a.q2t().send(&send_request(&[i; 8], vec![b.key])).await.unwrap();
        assert_eq!(b.q2t().receive(&sent.key, None).await.unwrap().unwrap().payload.0, [i; 8]);
    }
    assert_eq!(fake.pushes.load(Ordering::SeqCst), 0, "a payload went to the fake");
    assert!(log_of(&a).contains("opened a session"), "the pushes were not MAC'd in a session");
    let b_at: Vec<String> = a
        .party_info(&http)
        .await
        .unwrap()
        .keys
        .into_iter()
        .filter(|k| k.key == b.key)
        .map(|k| k.url)
        .collect();
    assert_eq!(b_at, vec![b.p2p_url.clone()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_missigned_stale_and_replayed_announcements_change_nothing() {
    let root = tempfile::tempdir().unwrap();
    let mut a = Tm::new(root.path(), "a", "127.0.0.1", false);
    a.start().await;
    let (sink_url, seen) = sink().await;
    let http = reqwest::Client::new();
    let stranger = Identity::generate();
    let announcement = |name: &str| {
        let url = format!("{sink_url}/{name}");
        let key = TmPublicKey([9; 32]);
        serde_json::to_vec(&PartyInfo {
            url: url.clone(),
            peers: vec![],
            keys: vec![KeyUrl { key, url }],
        })
        .unwrap()
    };
    let post = |body: Vec<u8>, signed: Option<RequestSignature>| {
        let mut request = http
            .post(format!("{}/partyinfo", a.p2p_url))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in signed.iter().flat_map(|s| s.headers()) {
            request = request.header(name, value);
        }
        request.send()
    };
    let refusals = [
        ("unsigned", None, "unsigned request"),
        (
            "missigned",
            Some(RequestSignature::sign(&stranger, "POST", "/partyinfo", &announcement("other"))),
            "bad signature",
        ),
        (
            "stale",
            Some(RequestSignature::sign_at(
                &stranger,
                "POST",
                "/partyinfo",
                &announcement("stale"),
                veil_txmanager::auth::signed::now_ms() - 120_000,
            )),
            "stale request",
        ),
    ];
    for (name, signature, message) in refusals {
        let response = post(announcement(name), signature).await.unwrap();
        assert_eq!(response.status(), 401, "{name}");
        let text = response.text().await.unwrap();
        assert!(text.contains(message), "{name}: {text}");
    }
    let valid = RequestSignature::sign(&stranger, "POST", "/partyinfo", &announcement("valid"));
    assert_eq!(post(announcement("valid"), Some(valid.clone())).await.unwrap().status(), 200);
    let replay = post(announcement("valid"), Some(valid)).await.unwrap();
    assert_eq!(replay.status(), 401);
    assert!(replay.text().await.unwrap().contains("replayed request"));

    // A challenged the valid announcement's claim at its URL (and will contact it as a
    // candidate); it never contacted the URLs of the refused ones.
    wait_for(10, "A to contact the validly announced URL", || async {
        seen.lock().iter().any(|p| p.starts_with("/valid/"))
    })
    .await;
    wait_for(10, "A to drop the URL that does not answer", || async {
        log_of(&a).contains("dropped a peer that does not answer")
    })
    .await;
    let contacted = seen.lock().clone();
    assert!(
        contacted.iter().all(|p| p.starts_with("/valid/")),
        "A acted on a refused announcement: {contacted:?}"
    );
    assert!(!a.party_info(&http).await.unwrap().keys.iter().any(|k| k.key == TmPublicKey([9; 32])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_peer_urls_is_bounded_and_dead_peers_are_dropped() {
    let root = tempfile::tempdir().unwrap();
    let (sink_url, seen) = sink().await;
    let flood: Vec<String> = (0..300).map(|i| format!("{sink_url}/flood{i}")).collect();
    let fake = fake_tm(TmPublicKey([8; 32]), &sink_url, flood).await;
    let mut a = Tm::new(root.path(), "a", "127.0.0.1", false);
    a.add_peer(&fake.url);
    a.config["serverConfigs"][1]["properties"]["maxPeers"] = "20".into();
    a.start().await;

    // A stranger's signed announcement listing 200 URLs: a TM learns peers only from the
    // answers of peers it asked, so none of them is contacted.
    let stranger = Identity::generate();
    let posted = PartyInfo {
        url: format!("{sink_url}/stranger"),
        peers: (0..200).map(|i| PeerUrl { url: format!("{sink_url}/posted{i}") }).collect(),
        keys: vec![],
    };
    let http = reqwest::Client::new();
    let answer = signed_post_json(&http, &stranger, &a.p2p_url, "/partyinfo", &posted).await;
    assert_eq!(answer.status(), 200);

    // The fake (a configured peer) answers with 300 URLs: A holds at most 20 peers, tries
    // each flooded URL once, drops it and does not learn it again within the expiry.
    wait_for(30, "A to try 60 of the flooded URLs", || async {
        seen.lock().iter().filter(|p| p.starts_with("/flood")).count() >= 60
    })
    .await;
    let log = log_of(&a);
    assert!(log.contains("peer list full (maxPeers)"), "A never hit its peer bound");
    assert!(log.contains("dropped a peer that does not answer"));
    let contacted = seen.lock().clone();
    let mut flooded: Vec<&String> = contacted.iter().filter(|p| p.starts_with("/flood")).collect();
    let total = flooded.len();
    flooded.sort();
    flooded.dedup();
    assert_eq!(flooded.len(), total, "a dropped URL was contacted again");
    assert!(!contacted.iter().any(|p| p.starts_with("/posted")), "A contacted a posted URL");
    // The dead URLs are not passed on to others.
    let view = a.party_info(&http).await.unwrap();
    assert!(!view.peers.iter().any(|p| p.url.starts_with(&sink_url)), "{view:?}");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_whose_url_answers_as_another_identity_fails_sends_naming_it() {
    let root = tempfile::tempdir().unwrap();
    let mut a = Tm::new(root.path(), "a", "127.0.0.1", false);
    let mut b = Tm::new(root.path(), "b", "127.0.0.1", false);
    b.add_peer(&a.p2p_url.clone());
    a.start().await;
    b.start().await;
    let http = reqwest::Client::new();
    a.wait_knows(&http, &b.key, &b.p2p_url).await;
    a.q2t().send(&send_request(b"to B", vec![b.key])).await.unwrap();

    // B's host comes back with B's key file but a new identity (its identity file lost): A
    // does not hand B's key to the new identity, and refuses to send rather than guess.
    b.kill();
    let (identity_file, _) = veil_txmanager::auth::identity::default_paths(&b.store_path());
    std::fs::remove_file(identity_file).unwrap();
    b.start().await;
    wait_for(20, "A to refuse the new identity's claim on B's key", || async {
        log_of(&a).contains("key claim refused: the key is held by another identity")
    })
    .await;
    let refused = a.q2t().send(&send_request(b"to B again", vec![b.key])).await.unwrap_err();
    let refused = refused.to_string();
    assert!(refused.contains("502") && refused.contains(&b.key.to_string()), "{refused}");
    // Whichever A learnt first: that B's URL now answers as another identity, or that the
    // push's 201 was signed by another identity than the key's owner.
    let named = refused.contains("not as its owner") || refused.contains("answered by identity");
    assert!(named, "{refused}");
}
