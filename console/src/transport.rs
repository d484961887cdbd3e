//! JSON-RPC to the node the console is attached to: its IPC socket (geth's framing — JSON
//! values back to back, one answer per line), HTTP, or a WebSocket (one text frame a message).

use serde_json::{json, Value};
use std::{
    io::{BufRead, BufReader, Write},
    os::unix::net::UnixStream,
    path::PathBuf,
};

/// Where the console's node is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// A unix socket (`ipc:PATH` or a path).
    Ipc(PathBuf),
    /// `http://…`.
    Http(String),
    /// `ws://…`.
    Ws(String),
}

impl std::str::FromStr for Endpoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with("http://") || s.starts_with("https://") {
            return Ok(Endpoint::Http(s.to_string()));
        }
        if s.starts_with("ws://") {
            return Ok(Endpoint::Ws(s.to_string()));
        }
        if s.starts_with("wss://") {
            return Err(format!(
                "{s}: the console speaks plain ws:// only; use ws://, http:// or ipc:PATH"
            ));
        }
        let path = s.strip_prefix("ipc:").unwrap_or(s);
        if path.is_empty() {
            return Err("empty IPC path".into());
        }
        Ok(Endpoint::Ipc(path.into()))
    }
}

/// A connection to the node.
pub(crate) enum Transport {
    Ipc { reader: BufReader<UnixStream>, writer: UnixStream },
    Http { client: reqwest::blocking::Client, url: String },
    Ws(Box<tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>>),
}

impl Transport {
    /// Connects to `endpoint`.
    pub(crate) fn connect(endpoint: &Endpoint) -> eyre::Result<Self> {
        match endpoint {
            Endpoint::Ipc(path) => {
                let stream = UnixStream::connect(path)
                    .map_err(|e| eyre::eyre!("cannot attach to {}: {e}", path.display()))?;
                Ok(Transport::Ipc { reader: BufReader::new(stream.try_clone()?), writer: stream })
            }
            Endpoint::Http(url) => {
                Ok(Transport::Http { client: reqwest::blocking::Client::new(), url: url.clone() })
            }
            Endpoint::Ws(url) => {
                let (socket, _) = tungstenite::connect(url.as_str())
                    .map_err(|e| eyre::eyre!("cannot attach to {url}: {e}"))?;
                Ok(Transport::Ws(Box::new(socket)))
            }
        }
    }

    /// One call: the result, or the node's error message.
    pub(crate) fn call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        let request = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let answer: Value = match self {
            Transport::Ipc { reader, writer } => {
                writer
                    .write_all(format!("{request}\n").as_bytes())
                    .map_err(|e| format!("IPC write: {e}"))?;
                let mut line = String::new();
                reader.read_line(&mut line).map_err(|e| format!("IPC read: {e}"))?;
                serde_json::from_str(&line).map_err(|e| format!("IPC answer: {e}"))?
            }
            Transport::Http { client, url } => client
                .post(url.as_str())
                .json(&request)
                .send()
                .and_then(|r| r.json())
                .map_err(|e| format!("HTTP: {e}"))?,
            Transport::Ws(socket) => {
                socket
                    .send(tungstenite::Message::text(request.to_string()))
                    .map_err(|e| format!("WebSocket write: {e}"))?;
                loop {
                    match socket.read().map_err(|e| format!("WebSocket read: {e}"))? {
                        tungstenite::Message::Text(text) => {
                            break serde_json::from_str(text.as_str())
                                .map_err(|e| format!("WebSocket answer: {e}"))?
                        }
                        tungstenite::Message::Close(_) => {
                            return Err("the node closed the WebSocket".into())
                        }
                        _ => {}
                    }
                }
            }
        };
        match answer.get("error") {
            Some(error) => Err(error["message"].as_str().unwrap_or("error").to_string()),
            None => Ok(answer["result"].clone()),
        }
    }
}
