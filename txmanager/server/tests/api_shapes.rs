//! Tessera's API shapes as clients use them: raw send and receive with `c11n-*` headers,
//! storeraw then sendsignedtx (JSON and legacy), the legacy receive and delete, per-payload
//! queries, versions, and the ThirdParty API with CORS.

mod support;

use bytes::Bytes;
use http::Method;
use serde_json::{json, Value};
use support::{get_json, post_json, send_request, Tm};
use veil_enclave::PayloadHash;
use veil_tm_api::{Base64Bytes, KeysResponse, StoreRawResponse, TmClient};

async fn call(
    client: &TmClient,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> (u16, Bytes) {
    let (status, body) = client.request(method, path, headers, body.into()).await.unwrap();
    (status.as_u16(), body)
}

fn enc(hash: &PayloadHash) -> String {
    urlencoding::encode(&hash.to_string()).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tessera_api_shapes() {
    let root = tempfile::tempdir().unwrap();
    let mut a = Tm::new(root.path(), "a", "127.0.0.1", false);
    let mut b = Tm::new(root.path(), "b", "127.0.0.1", false);
    a.config["serverConfigs"][2]["cors"] = json!({ "allowedOrigins": ["http://wallet.example"] });
    a.add_peer(&b.p2p_url.clone());
    a.start().await;
    b.start().await;
    let http = reqwest::Client::new();
    a.wait_knows(&http, &b.key, &b.p2p_url).await;
    let (qa, qb) = (a.q2t(), b.q2t());
    let (a_key, b_key) = (a.key.to_string(), b.key.to_string());

    // Versions and upcheck.
    assert_eq!(call(&qa, Method::GET, "/upcheck", &[], "").await, (200, Bytes::from("I'm up!")));
    let (_, versions) = call(&qa, Method::GET, "/version/api", &[], "").await;
    assert!(serde_json::from_slice::<Vec<String>>(&versions).unwrap().contains(&"2.1".to_string()));
    assert_eq!(call(&qa, Method::GET, "/version", &[], "").await.0, 200);

    // POST /send answers 201 with a Location.
    let body = serde_json::to_vec(&send_request(b"json", vec![b.key])).unwrap();
    let response =
        http.post(format!("{}/send", a.third_party_url)).body(body.clone()).send().await.unwrap();
    assert_eq!(response.status(), 404, "send is a Q2T call, not a ThirdParty one");
    let (status, answer) = call(
        &qa,
        Method::POST,
        "/send",
        &[("content-type", "application/vnd.tessera-2.1+json")],
        body,
    )
    .await;
    assert_eq!(status, 201);
    let key: PayloadHash =
        serde_json::from_slice::<Value>(&answer).unwrap()["key"].as_str().unwrap().parse().unwrap();

    // Raw send and receive with headers.
    let headers = [
        ("c11n-from", a_key.as_str()),
        ("c11n-to", b_key.as_str()),
        ("content-type", "application/octet-stream"),
    ];
    let (status, raw_key) =
        call(&qa, Method::POST, "/sendraw", &headers, &b"raw bytes\x00\xff"[..]).await;
    assert_eq!(status, 200);
    let raw_key = String::from_utf8(raw_key.to_vec()).unwrap();
    let (status, plain) = call(
        &qb,
        Method::GET,
        "/receiveraw",
        &[("c11n-key", raw_key.as_str()), ("c11n-to", b_key.as_str())],
        "",
    )
    .await;
    assert_eq!((status, &plain[..]), (200, &b"raw bytes\x00\xff"[..]));

    // storeraw (ThirdParty) then sendsignedtx, JSON and legacy.
    let storeraw = json!({ "payload": "c2lnbmVk", "from": a_key });
    let stored: StoreRawResponse =
        post_json(&http, &format!("{}/storeraw", a.third_party_url), &storeraw).await;
    assert!(qb.receive(&stored.key, None).await.unwrap().is_none(), "storeraw sends nothing");
    let (status, sent) = call(
        &qa,
        Method::POST,
        "/sendsignedtx",
        &[("content-type", "application/json")],
        serde_json::to_vec(&json!({ "hash": stored.key, "to": [b_key] })).unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(serde_json::from_slice::<Value>(&sent).unwrap()["key"], json!(stored.key));
    assert_eq!(qb.receive(&stored.key, None).await.unwrap().unwrap().payload.0, b"signed");
    let legacy = qa
        .store_raw(&veil_tm_api::StoreRawRequest {
            payload: Base64Bytes(b"legacy".to_vec()),
            from: None,
        })
        .await
        .unwrap();
    let (status, text) = call(
        &qa,
        Method::POST,
        "/sendsignedtx",
        &[("content-type", "application/octet-stream"), ("c11n-to", b_key.as_str())],
        legacy.key.0.to_vec(),
    )
    .await;
    assert_eq!(
        (status, String::from_utf8_lossy(&text).into_owned()),
        (200, legacy.key.to_string())
    );
    assert_eq!(qb.receive(&legacy.key, Some(&b.key)).await.unwrap().unwrap().payload.0, b"legacy");

    // Legacy receive with a JSON body; per-payload queries.
    let (status, received) = call(
        &qb,
        Method::GET,
        "/receive",
        &[("content-type", "application/json")],
        serde_json::to_vec(&json!({ "key": key, "to": b_key })).unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let received: Value = serde_json::from_slice(&received).unwrap();
    assert_eq!(received["payload"], json!("anNvbg=="));
    assert_eq!(received["senderKey"], json!(a_key));
    assert_eq!(received["managedParties"], json!([b_key]));
    let (_, participants) =
        call(&qa, Method::GET, &format!("/transaction/{}/participants", enc(&key)), &[], "").await;
    assert_eq!(participants, Bytes::from(format!("{a_key},{b_key}")));
    assert_eq!(
        call(&qb, Method::GET, &format!("/transaction/{}/participants", enc(&key)), &[], "").await,
        (200, Bytes::new())
    );
    let wrong_to = format!("/transaction/{}?to={}", enc(&key), urlencoding::encode(&a_key));
    assert_eq!(
        call(&qb, Method::GET, &wrong_to, &[], "").await.0,
        404,
        "B holds no box for A's key"
    );

    // Deletes.
    assert_eq!(
        call(&qb, Method::DELETE, &format!("/transaction/{}", enc(&key)), &[], "").await.0,
        204
    );
    assert!(qb.receive(&key, None).await.unwrap().is_none());
    assert_eq!(
        call(&qb, Method::DELETE, &format!("/transaction/{}", enc(&key)), &[], "").await.0,
        404
    );
    let (status, text) = call(
        &qb,
        Method::POST,
        "/delete",
        &[("content-type", "application/json")],
        serde_json::to_vec(&json!({ "key": stored.key })).unwrap(),
    )
    .await;
    assert_eq!((status, text), (200, Bytes::from("Delete successful")));
    assert!(qa.receive(&key, None).await.unwrap().is_some(), "B's delete leaves A's copy");

    // ThirdParty keys and CORS.
    let keys: KeysResponse = get_json(&http, &format!("{}/keys", a.third_party_url)).await;
    assert_eq!(keys.keys.iter().map(|k| k.key).collect::<Vec<_>>(), vec![a.key]);
    let all: KeysResponse = get_json(&http, &format!("{}/partyinfo/keys", a.third_party_url)).await;
    assert_eq!(all.keys.len(), 2);
    let preflight = |origin: &'static str| {
        http.request(Method::OPTIONS, format!("{}/storeraw", a.third_party_url))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let allowed = preflight("http://wallet.example").await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], "http://wallet.example");
    let other = preflight("http://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_on_one_tm_send_to_each_other_without_a_peer() {
    let root = tempfile::tempdir().unwrap();
    let mut tm = Tm::new(root.path(), "a", "127.0.0.1", false);
    let second = support::keygen(&tm.dir, "second");
    let second_pair = json!({
        "privateKeyPath": tm.dir.join("second.key"),
        "publicKeyPath": tm.dir.join("second.pub")
    });
    tm.config["keys"]["keyData"].as_array_mut().unwrap().push(second_pair);
    tm.start().await;
    let q2t = tm.q2t();
    let sent = q2t.send(&send_request(b"in house", vec![second])).await.unwrap();
    assert_eq!(sent.managed_parties, vec![tm.key, second]);
    let read = q2t.receive(&sent.key, Some(&second)).await.unwrap().unwrap();
    assert_eq!((read.payload.0.as_slice(), read.sender_key), (&b"in house"[..], tm.key));
    let keys: KeysResponse =
        get_json(&reqwest::Client::new(), &format!("{}/keys", tm.third_party_url)).await;
    assert_eq!(keys.keys.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_receives_answers_each_key_as_one_receive_would() {
    let root = tempfile::tempdir().unwrap();
    let mut tm = Tm::new(root.path(), "a", "127.0.0.1", false);
    tm.start().await;
    let q2t = tm.q2t();
    let mut keys = Vec::new();
    for payload in [&b"first"[..], b"second", b"third"] {
        keys.push(q2t.send(&send_request(payload, vec![])).await.unwrap().key);
    }
    let unknown = PayloadHash([7; 64]);
    let asked = [keys[0], unknown, keys[1], keys[2]];
    let answers = q2t.receive_batch(&asked).await.unwrap().expect("Veil's TM serves batches");
    assert_eq!(answers.len(), 4);
    for (key, answer) in asked.iter().zip(&answers) {
        assert_eq!(answer, &q2t.receive(key, None).await.unwrap(), "{key}");
    }
    assert!(answers[1].is_none(), "not a party: null, as a single receive's 404");
    assert_eq!(answers[2].as_ref().unwrap().payload.0, b"second");

    // An answer stops once its plaintexts reach 4 MiB; the client asks again for the rest.
    let big = vec![0x5a; 3 << 20];
    let big_keys = [
        q2t.send(&send_request(&big, vec![])).await.unwrap().key,
        q2t.send(&send_request(&big, vec![])).await.unwrap().key,
    ];
    let answers = q2t.receive_batch(&[big_keys[0], big_keys[1], keys[0]]).await.unwrap().unwrap();
    assert_eq!(answers.len(), 2, "two 3 MiB payloads reach the bound");
    assert_eq!(answers[1].as_ref().unwrap().payload.0.len(), 3 << 20);

    // Bad batches are refused with the reason, and the TM serves on.
    let too_many = serde_json::to_vec(&json!({ "keys": vec![keys[0]; 257] })).unwrap();
    let (status, body) = call(&q2t, Method::POST, "/receive/batch", &[], too_many).await;
    assert_eq!((status, String::from_utf8_lossy(&body).contains("at most 256")), (400, true));
    let (status, body) = call(&q2t, Method::POST, "/receive/batch", &[], "{\"keys\": [1]}").await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert_eq!(q2t.receive_batch(&keys).await.unwrap().unwrap().len(), 3);
}
