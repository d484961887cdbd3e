//! Plain HTTP/1.1 over a TCP socket, for tests that must send exactly what they mean (an
//! oversized body, a slow client) or poll an endpoint before anything else is up.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::Duration,
};

/// GETs `url` (`http://host:port/path`); the status and body, `None` when nothing answers.
pub fn get(url: &str) -> Option<(u16, String)> {
    let rest = url.trim_start_matches("http://");
    let (addr, path) =
        rest.split_once('/').map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    split(&response)
}

/// GETs `path` over the unix socket `socket` (the TM's Q2T API); the status and body, `None`
/// when nothing answers.
pub fn get_unix(socket: &std::path::Path, path: &str) -> Option<(u16, String)> {
    let mut stream = std::os::unix::net::UnixStream::connect(socket).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    split(&response)
}

/// POSTs `body` as JSON to `url` (`http://host:port`), as is; the status and body.
pub fn post(url: &str, body: &str) -> std::io::Result<(u16, String)> {
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    // A server may refuse an oversized body before reading it all.
    let _ = stream.write_all(body.as_bytes());
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    Ok(split(&response).unwrap_or_default())
}

fn split(response: &[u8]) -> Option<(u16, String)> {
    let response = String::from_utf8_lossy(response);
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Some((status, body))
}
