//! Three `veil-tm` processes on loopback: A sends to B; B reads it, C cannot, A can; everything
//! survives kill -9 and restart; B loses its store and gets every payload back from A by
//! resend; no store file or log ever holds the plaintext.

mod support;

use base64::{engine::general_purpose::STANDARD, Engine};
use support::{send_request, veil_tm, Tm};
use veil_testkit::files_containing;
use veil_tm_api::SendResponse;

const TO_B: &[u8] = b"VEIL-PLAINTEXT-MARKER-a-to-b-5e1f0c";
const TO_A: &[u8] = b"VEIL-PLAINTEXT-MARKER-b-to-a-93d7aa";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_receive_restart_and_resend_between_three_tms() {
    let root = tempfile::tempdir().unwrap();
    let (mut a, mut b, mut c) = (
        Tm::new(root.path(), "a", "127.0.0.1", false),
        Tm::new(root.path(), "b", "127.0.0.1", false),
        Tm::new(root.path(), "c", "127.0.0.1", false),
    );
    let (a_url, b_url, c_url) = (a.p2p_url.clone(), b.p2p_url.clone(), c.p2p_url.clone());
    a.add_peer(&b_url);
    a.add_peer(&c_url);
    b.add_peer(&a_url);
    c.add_peer(&a_url);
    for tm in [&mut a, &mut b, &mut c] {
        tm.start().await;
    }
    let http = reqwest::Client::new();
    a.wait_knows(&http, &b.key, &b_url).await;
    a.wait_knows(&http, &c.key, &c_url).await;
    b.wait_knows(&http, &a.key, &a_url).await;

    let sent = a.q2t().send(&send_request(TO_B, vec![b.key])).await.unwrap();
    assert_eq!(sent.sender_key, Some(a.key));
    assert_eq!(sent.managed_parties, vec![a.key]);
    let back = b.q2t().send(&send_request(TO_A, vec![a.key])).await.unwrap();

    check(&a, &b, &c, &sent, &back, "after sending").await;

    // Tessera's per-payload queries.
    let is_sender = |tm: &Tm| {
        let client = tm.q2t();
        let path = format!("/transaction/{}/isSender", urlencoding::encode(&sent.key.to_string()));
        async move { client.request(http::Method::GET, &path, &[], Default::default()).await.unwrap().1 }
    };
    assert_eq!(&is_sender(&a).await[..], b"true");
    assert_eq!(&is_sender(&b).await[..], b"false");

    for tm in [&mut a, &mut b, &mut c] {
        tm.kill();
    }
    for tm in [&mut a, &mut b, &mut c] {
        tm.start().await;
    }
    check(&a, &b, &c, &sent, &back, "after kill -9 and restart").await;

    // B loses its store; after a restart it has nothing, after a resend everything again,
    // including what B itself sent (rebuilt from A's copy).
    b.kill();
    std::fs::remove_dir_all(b.store_path()).unwrap();
    b.start().await;
    assert!(b.q2t().receive(&sent.key, None).await.unwrap().is_none());
    a.wait_knows(&http, &b.key, &b_url).await;
    let resent =
        veil_tm(&["resend", "--configfile", b.config_path().to_str().unwrap(), "--peer", &a_url]);
    assert!(resent.contains("2 payloads"), "{resent}");
    check(&a, &b, &c, &sent, &back, "after resend").await;

    for tm in [&mut a, &mut b, &mut c] {
        tm.kill();
    }
    for marker in [TO_B, TO_A] {
        for needle in [marker.to_vec(), STANDARD.encode(marker).into_bytes()] {
            let found = files_containing(root.path(), &needle);
            assert!(found.is_empty(), "plaintext found in {found:?}");
        }
    }
    // The search does look at the stores and logs.
    assert!(!files_containing(&a.dir, b"veil-tm ready").is_empty());
    assert!(!files_containing(&b.store_path(), b"VEIL").is_empty(), "encoded payloads are stored");
}

/// B reads A's payload, C cannot, A (the sender) can; both read B's payload to A.
async fn check(a: &Tm, b: &Tm, c: &Tm, sent: &SendResponse, back: &SendResponse, phase: &str) {
    let at_b = b.q2t().receive(&sent.key, None).await.unwrap();
    let at_b = at_b.unwrap_or_else(|| panic!("{phase}: B lost it"));
    assert_eq!(at_b.payload.0, TO_B, "{phase}");
    assert_eq!(at_b.sender_key, a.key, "{phase}");
    assert_eq!(at_b.managed_parties, vec![b.key], "{phase}");
    assert!(c.q2t().receive(&sent.key, None).await.unwrap().is_none(), "{phase}: C is no party");
    let at_a = a.q2t().receive(&sent.key, None).await.unwrap().unwrap();
    assert_eq!(at_a.payload.0, TO_B, "{phase}: the sender reads it");
    assert_eq!(a.q2t().receive(&back.key, None).await.unwrap().unwrap().payload.0, TO_A, "{phase}");
    assert_eq!(b.q2t().receive(&back.key, None).await.unwrap().unwrap().payload.0, TO_A, "{phase}");
}
