//! What a stranger can hold of a TM: a client that sends its request headers or body too
//! slowly is cut off on every HTTP port (Q2T on its unix socket, P2P, ThirdParty), one IP
//! holds at most `maxConnectionsPerIp` connections, and the TM keeps serving throughout.

mod support;

use std::time::Duration;
use support::{wait_for, Tm};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Sends `prefix`, then one byte of `drip` every 200 ms; answers what the server sent back
/// before it closed the connection (or `None` if it never closed within 30 s).
async fn drip<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    prefix: &[u8],
    drip: &[u8],
) -> Option<String> {
    stream.write_all(prefix).await.ok()?;
    let mut answer = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    for byte in drip.iter().cycle() {
        let mut buffer = [0u8; 4096];
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&answer).into_owned()),
            Ok(Ok(n)) => answer.extend_from_slice(&buffer[..n]),
            Err(_) => {
                if stream.write_all(&[*byte]).await.is_err() {
                    return Some(String::from_utf8_lossy(&answer).into_owned());
                }
            }
        }
        if tokio::time::Instant::now() > deadline {
            return None;
        }
    }
    None
}

fn authority(url: &str) -> String {
    url.split_once("://").unwrap().1.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_one_ip_holds_few_connections() {
    let root = tempfile::tempdir().unwrap();
    let mut a = Tm::new(root.path(), "a", "127.0.0.1", false);
    for server in a.config["serverConfigs"].as_array_mut().unwrap() {
        let properties = server["properties"].as_object().cloned().unwrap_or_default();
        let mut properties = serde_json::Value::Object(properties);
        properties["headerReadTimeoutMillis"] = "1000".into();
        properties["bodyReadTimeoutMillis"] = "1000".into();
        properties["maxConnectionsPerIp"] = "4".into();
        server["properties"] = properties;
    }
    a.start().await;
    let ports = [("P2P", authority(&a.p2p_url)), ("ThirdParty", authority(&a.third_party_url))];

    // Headers a byte at a time, on each port: the TM closes the connection.
    let slow_headers = b"POST /push HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    for (name, address) in &ports {
        let stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let closed = drip(stream, slow_headers, b"a").await;
        assert!(closed.is_some(), "{name}: a slow-header client was never cut off");
    }
    let unix = tokio::net::UnixStream::connect(a.dir.join("tm.ipc")).await.unwrap();
    assert!(drip(unix, slow_headers, b"a").await.is_some(), "Q2T: never cut off");

    // A body a byte at a time: the TM answers 400 naming the bound, and closes.
    let slow_body = b"POST /storeraw HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"payload\":\"";
    let (_, third_party) = &ports[1];
    let stream = tokio::net::TcpStream::connect(third_party).await.unwrap();
    let answer = drip(stream, slow_body, b"A").await.expect("a slow-body client was never cut off");
    assert!(answer.starts_with("HTTP/1.1 400") && answer.contains("bodyReadTimeout"), "{answer}");
    let unix = tokio::net::UnixStream::connect(a.dir.join("tm.ipc")).await.unwrap();
    let slow_send = b"POST /send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"payload\":\"";
    let answer = drip(unix, slow_send, b"A").await.expect("Q2T: a slow body was never cut off");
    assert!(answer.contains("bodyReadTimeout"), "{answer}");

    // Five connections from one IP to the P2P port: the fifth is refused at once.
    let (_, p2p) = &ports[0];
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(tokio::net::TcpStream::connect(p2p).await.unwrap());
    }
    wait_for(10, "the fifth connection to be refused", || async {
        std::fs::read_to_string(a.log_path())
            .unwrap_or_default()
            .contains("refused a connection: this IP holds the most allowed")
    })
    .await;
    drop(held);

    // Still serving, on every port.
    let http = reqwest::Client::new();
    wait_for(10, "P2P to serve again", || async {
        http.get(format!("{}/upcheck", a.p2p_url)).send().await.is_ok_and(|r| r.status() == 200)
    })
    .await;
    assert!(a.q2t().upcheck().await.unwrap());
    let third = http.get(format!("{}/upcheck", a.third_party_url)).send().await.unwrap();
    assert_eq!(third.status(), 200);
}
