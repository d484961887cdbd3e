//! What `veil-sim`'s end-to-end tests share: running `veil-sim`, stopping a network a failed
//! test leaves, JSON-RPC calls.

#![allow(dead_code, unreachable_pub)]

use std::{path::Path, process::Command};

/// Runs `veil-sim --dir DIR ARGS…`: whether it succeeded, and what it printed.
pub fn sim(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_veil-sim"))
        .arg("--dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("run veil-sim");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Stops the network in its directory when dropped, so a failed assertion leaves no
/// processes holding ports behind.
pub struct Running<'a>(pub &'a Path);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let _ = sim(self.0, &["stop"]);
    }
}

/// A JSON-RPC call's result; panics when the node does not answer.
pub fn rpc(url: &str, method: &str) -> serde_json::Value {
    call(url, method, serde_json::json!([])).expect("the node answers")
}

/// A JSON-RPC call's result; `None` when the node does not answer (within 10 s) or answers
/// an error.
pub fn call(url: &str, method: &str, params: serde_json::Value) -> Option<serde_json::Value> {
    let answer: serde_json::Value = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .ok()?
        .post(url)
        .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        .send()
        .and_then(|r| r.json())
        .ok()?;
    answer.get("result").cloned()
}
