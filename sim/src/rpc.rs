//! JSON-RPC and HTTP checks against the network's processes.

use serde_json::{json, Value};
use std::time::Duration;

/// An HTTP client whose requests give up after `timeout`.
pub(crate) fn client_with_timeout(timeout: Duration) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(timeout)
        .build()
        .expect("an HTTP client without TLS roots builds")
}

fn client() -> reqwest::blocking::Client {
    client_with_timeout(Duration::from_secs(10))
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

/// A JSON-RPC batch of `method` calls, one per entry of `params`: each answer in order, the
/// result or the error's message.
pub(crate) fn batch(
    client: &reqwest::blocking::Client,
    url: &str,
    method: &str,
    params: &[Value],
) -> eyre::Result<Vec<Result<Value, String>>> {
    if params.is_empty() {
        return Ok(Vec::new());
    }
    let body: Vec<Value> = params
        .iter()
        .enumerate()
        .map(|(id, p)| json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": p }))
        .collect();
    let answers: Vec<Value> = client.post(url).json(&body).send()?.json()?;
    let mut out = vec![Err("no answer".to_string()); params.len()];
    for answer in answers {
        let Some(slot) = answer["id"].as_u64().and_then(|id| out.get_mut(id as usize)) else {
            continue;
        };
        *slot = match answer.get("error") {
            Some(error) => Err(error["message"].as_str().unwrap_or("error").to_string()),
            None => Ok(answer["result"].clone()),
        };
    }
    Ok(out)
}
