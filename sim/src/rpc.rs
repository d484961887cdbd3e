//! JSON-RPC and HTTP checks against the network's processes.

use serde_json::{json, Value};
use std::time::Duration;

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client without TLS roots builds")
}

/// One JSON-RPC call; the result, or the error as text.
pub(crate) fn call(url: &str, method: &str, params: Value) -> eyre::Result<Value> {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    let answer: Value = client().post(url).json(&body).send()?.json()?;
    match answer.get("error") {
        Some(error) => {
            Err(eyre::eyre!("{method}: {}", error["message"].as_str().unwrap_or("error")))
        }
        None => Ok(answer["result"].clone()),
    }
}

/// Whether `GET url` answers 200.
pub(crate) fn is_up(url: &str) -> bool {
    client().get(url).send().is_ok_and(|r| r.status().is_success())
}

/// A hex quantity as a number.
pub(crate) fn quantity(value: &Value) -> u64 {
    value
        .as_str()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0)
}
