//! What `veil-sim`'s end-to-end tests share: running `veil-sim`, stopping a network a failed
//! test leaves, JSON-RPC calls.

#![allow(dead_code, unreachable_pub)]

use std::{path::Path, process::Command};

/// The longest any one `veil-sim` command of these tests may take (the longest, a chaos run
/// or a benchmark, takes a few minutes); past it the test fails with what the command printed.
pub const SIM_LIMIT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Runs `veil-sim --dir DIR ARGS…`: whether it succeeded, and what it printed.
pub fn sim(dir: &Path, args: &[&str]) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_veil-sim"));
    command.arg("--dir").arg(dir).args(args);
    veil_testkit::output_within(command, SIM_LIMIT)
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

/// A JSON-RPC call's whole answer; `None` when the node does not answer within `timeout`.
fn exchange(
    url: &str,
    method: &str,
    params: serde_json::Value,
    timeout: std::time::Duration,
) -> Option<serde_json::Value> {
    reqwest::blocking::Client::builder()
        .timeout(timeout)
        .build()
        .ok()?
        .post(url)
        .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        .send()
        .and_then(|r| r.json())
        .ok()
}

/// A JSON-RPC call's result; `None` when the node does not answer (within 10 s) or answers
/// an error.
pub fn call(url: &str, method: &str, params: serde_json::Value) -> Option<serde_json::Value> {
    exchange(url, method, params, std::time::Duration::from_secs(10))?.get("result").cloned()
}

/// A JSON-RPC call's result, or the error's message; panics when the node does not answer.
pub fn call_or_error(
    url: &str,
    method: &str,
    params: serde_json::Value,
) -> Result<serde_json::Value, String> {
    let answer = exchange(url, method, params, std::time::Duration::from_secs(30))
        .expect("the node answers");
    match answer.get("error") {
        Some(error) => Err(error["message"].as_str().unwrap_or_default().to_string()),
        None => Ok(answer["result"].clone()),
    }
}

/// SimpleStorage's ABI as GoQuorum 7nodes' scripts carry it.
pub const SIMPLE_STORAGE_ABI: &str = r#"[{"constant":true,"inputs":[],"name":"storedData","outputs":[{"name":"","type":"uint256"}],"payable":false,"type":"function"},{"constant":false,"inputs":[{"name":"x","type":"uint256"}],"name":"set","outputs":[],"payable":false,"type":"function"},{"constant":true,"inputs":[],"name":"get","outputs":[{"name":"retVal","type":"uint256"}],"payable":false,"type":"function"},{"inputs":[{"name":"initVal","type":"uint256"}],"payable":false,"type":"constructor"}]"#;
/// A hand-assembled SimpleStorage (`set(uint)` 0x60fe47b1, `get()` 0x6d4ce63c), without
/// its constructor argument.
pub const SIMPLE_STORAGE_BYTECODE: &str = "0x602060506000396000516000556037601960003960376000f360003560e01c806360fe47b114601d57636d4ce63c14602b57600080fd5b6004358060005560006000a1005b60005460005260206000f3";

/// GoQuorum 7nodes' `private-contract*.js`, as those scripts are written (web3 0.20's
/// `contract.new(42, {…}, callback)` printing "Contract mined! Address: …"), with
/// `privacy` the private fields of the transaction object (`privateFor: [...]`, …).
pub fn private_contract_script(privacy: &str) -> String {
    format!(
        r#"a = eth.accounts[0]
web3.eth.defaultAccount = a;

var abi = {SIMPLE_STORAGE_ABI};
var bytecode = "{SIMPLE_STORAGE_BYTECODE}";
var simpleCompiled = web3.eth.contract(abi);
var simple = simpleCompiled.new(42, {{from:web3.eth.accounts[0], data: bytecode, gas: 0x47b760, {privacy}}}, function(e, contract) {{
	if (e) {{
		console.log("err creating contract", e);
	}} else {{
		if (!contract.address) {{
			console.log("Contract transaction send: TransactionHash: " + contract.transactionHash + " waiting to be mined...");
		}} else {{
			console.log("Contract mined! Address: " + contract.address);
		}}
	}}
}});
"#
    )
}

/// An instant query on the Prometheus server at `url`: its samples as (instance, value);
/// none when the server does not answer (yet).
pub fn prometheus_query(url: &str, query: &str) -> Vec<(String, f64)> {
    let Ok(answer) = reqwest::blocking::Client::new()
        .get(format!("{url}/api/v1/query"))
        .query(&[("query", query)])
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .and_then(|r| r.json::<serde_json::Value>())
    else {
        return Vec::new();
    };
    answer["data"]["result"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|sample| {
            let instance = sample["metric"]["instance"].as_str()?.to_string();
            let value = sample["value"][1].as_str()?.parse().ok()?;
            Some((instance, value))
        })
        .collect()
}
