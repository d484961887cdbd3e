//! Bad input gets a 4xx with a message that says what is wrong, and the TM keeps serving.
//! A send whose recipient is unreachable fails naming it and leaves nothing stored.

mod support;

use bytes::Bytes;
use http::Method;
use support::{identity_of, send_request, signed_post, signed_post_json, Tm};
use veil_enclave::KeyPair;
use veil_tm_api::{ResendRequest, ResendResponse, ResendType, TmClient};
use veil_txmanager::auth::Identity;

async fn call(
    client: &TmClient,
    method: Method,
    path: &str,
    content_type: &str,
    body: impl Into<Bytes>,
) -> (u16, String) {
    let (status, body) =
        client.request(method, path, &[("content-type", content_type)], body.into()).await.unwrap();
    (status.as_u16(), String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_4xx_with_a_message_and_the_tm_keeps_serving() {
    let root = tempfile::tempdir().unwrap();
    let mut a = Tm::new(root.path(), "a", "127.0.0.1", false);
    a.config["payloadSizeLimit"] = 1024.into();
    a.start().await;
    let q2t = a.q2t();
    let json = "application/json";
    let stranger = KeyPair::generate().public();
    // method, path, content type, body, expected status, part of the expected message
    type Case<'a> = (Method, String, &'a str, Vec<u8>, u16, String);
    let cases: Vec<Case<'_>> = vec![
        (
            Method::POST,
            "/send".into(),
            json,
            br#"{"payload":"not base64!","to":[]}"#.to_vec(),
            400,
            "not base64".into(),
        ),
        (
            Method::POST,
            "/send".into(),
            json,
            br#"{"payload":"aGk=","to":["AAAA"]}"#.to_vec(),
            400,
            "want 32".into(),
        ),
        (
            Method::POST,
            "/send".into(),
            json,
            format!(r#"{{"payload":"aGk=","to":["{stranger}"]}}"#).into_bytes(),
            404,
            format!("Recipient not found for key: {stranger}"),
        ),
        (
            Method::POST,
            "/send".into(),
            json,
            format!(r#"{{"payload":"aGk=","from":"{stranger}","to":[]}}"#).into_bytes(),
            400,
            "is not a key of this transaction manager".into(),
        ),
        (
            Method::POST,
            "/send".into(),
            json,
            br#"{"payload":"aGk=","to":[],"privacyFlag":3}"#.to_vec(),
            400,
            "privacyFlag 3".into(),
        ),
        (
            Method::POST,
            "/send".into(),
            json,
            format!(r#"{{"payload":"{}","to":[]}}"#, "A".repeat(2000)).into_bytes(),
            413,
            "above the limit of 1024 bytes".into(),
        ),
        (Method::POST, "/send".into(), json, vec![b'x'; 150 << 10], 413, "length limit".into()),
        (Method::POST, "/send".into(), json, br#"{"payload":"#.to_vec(), 400, "EOF".into()),
        (
            Method::POST,
            "/send".into(),
            "text/plain",
            br#"{"payload":"aGk="}"#.to_vec(),
            415,
            "Content-Type".into(),
        ),
        (
            Method::GET,
            "/transaction/not%20base64".into(),
            json,
            vec![],
            400,
            "transaction key".into(),
        ),
        (
            Method::GET,
            format!(
                "/transaction/{}",
                urlencoding::encode(&veil_enclave::PayloadHash([7; 64]).to_string())
            ),
            json,
            vec![],
            404,
            "no payload".into(),
        ),
        (Method::GET, "/receiveraw".into(), json, vec![], 400, "c11n-key is missing".into()),
        (
            Method::POST,
            "/sendsignedtx".into(),
            "application/octet-stream",
            vec![1, 2, 3],
            400,
            "want the 64-byte payload hash".into(),
        ),
    ];
    for (method, path, content_type, body, status, message) in cases {
        let (got, text) = call(&q2t, method.clone(), &path, content_type, body).await;
        assert_eq!(got, status, "{method} {path}: {text}");
        assert!(text.contains(&message), "{method} {path}: {text:?} lacks {message:?}");
    }
    let p2p = reqwest::Client::new();
    let stranger = Identity::generate();
    for (path, message) in [("/push", "not a Veil payload"), ("/partyinfo/validate", "bad magic")] {
        let octets = "application/octet-stream";
        let response = signed_post(&p2p, &stranger, &a.p2p_url, path, octets, vec![0u8; 40]).await;
        assert_eq!(response.status(), 400, "{path}");
        assert!(response.text().await.unwrap().contains(message), "{path}");
    }
    let response =
        signed_post_json(&p2p, &stranger, &a.p2p_url, "/partyinfo", &"not party info").await;
    assert_eq!(response.status(), 400);

    // A body far beyond the limit: the TM answers 413 and closes without reading it all, so
    // the client may see the 413 or a broken write; either way the TM stays up.
    let huge = q2t
        .request(Method::POST, "/send", &[("content-type", json)], vec![b'x'; 16 << 20].into())
        .await;
    if let Ok((status, _)) = huge {
        assert_eq!(status, 413);
    }

    // Still serving.
    assert!(q2t.upcheck().await.unwrap());
    let ok = q2t.send(&send_request(b"fine", vec![])).await.unwrap();
    assert_eq!(q2t.receive(&ok.key, None).await.unwrap().unwrap().payload.0, b"fine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_to_an_unreachable_recipient_fails_naming_it_and_stores_nothing() {
    let root = tempfile::tempdir().unwrap();
    let mut a = Tm::new(root.path(), "a", "127.0.0.1", false);
    let mut b = Tm::new(root.path(), "b", "127.0.0.1", false);
    a.add_peer(&b.p2p_url.clone());
    a.start().await;
    b.start().await;
    let http = reqwest::Client::new();
    a.wait_knows(&http, &b.key, &b.p2p_url).await;
    b.kill();
    let request = send_request(b"nobody home", vec![b.key]);
    let error = a.q2t().send(&request).await.unwrap_err().to_string();
    assert!(error.contains("502") && error.contains(&b.key.to_string()), "{error}");

    // A holds nothing for B: a resend of everything B is party to pushes none.
    b.start().await;
    let resend = ResendRequest { kind: ResendType::All, public_key: b.key, key: None };
    let as_b = identity_of(&b);
    let resend_all = || async {
        let answer = signed_post_json(&http, &as_b, &a.p2p_url, "/resend", &resend).await;
        answer.json::<ResendResponse>().await.unwrap()
    };
    assert_eq!(resend_all().await.total, 0);
    // With B up, the same send goes through and the resend finds it.
    a.q2t().send(&request).await.unwrap();
    assert_eq!(resend_all().await.total, 1);
}
