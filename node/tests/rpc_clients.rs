//! Third-party clients against the real `veil` binary: ethers v6 over HTTP, WebSocket and IPC
//! with a contract compiled by solc-js (node/tests/js/e2e.mjs; `.ci/run` installs its npm
//! packages).

mod support;

use std::{path::PathBuf, process::Command};
use support::VeilProcess;

fn js_dir() -> PathBuf {
    veil_testkit::package_dir().join("tests/js")
}

#[test]
fn ethers_deploys_calls_filters_subscribes_and_traces_over_http_ws_and_ipc() {
    assert!(
        js_dir().join("node_modules/ethers").is_dir()
            && js_dir().join("node_modules/solc").is_dir(),
        "ethers and solc are not installed: run `npm ci` in node/tests/js (.ci/run does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let node = VeilProcess::start_dev(dir.path(), &["--ws", "--ws.port", "0", "--blocktime", "20"]);
    let ws_url = node.ws_url.clone().expect("ws endpoint");
    let ipc_path = node.ipc_path.clone().expect("ipc endpoint");
    let out = Command::new("node")
        .arg(js_dir().join("e2e.mjs"))
        .arg(&node.url)
        .arg(&ws_url)
        .arg(&ipc_path)
        .current_dir(js_dir())
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "e2e.mjs failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    assert!(stdout.contains("all ok"), "{stdout}");
    // The node is still serving after the whole run.
    assert!(node.call("eth_blockNumber", serde_json::json!([])).is_ok());
}
