//! `veil attach` against a real dev node over IPC and HTTP: properties and methods of geth's
//! console objects, a transaction sent and its receipt, `loadScript` whose timer callback
//! prints after the script returned (7nodes scripts print "Contract mined!" that way), an
//! error that names the problem, and the line REPL on standard input.

mod support;

use std::{
    io::Write,
    process::{Command, Stdio},
};
use support::VeilProcess;

fn attach(endpoint: &str, exec: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(["attach", "--exec", exec, endpoint])
        .output()
        .unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text.trim().to_string())
}

#[test]
fn attach_runs_geths_console_objects_scripts_with_timers_and_a_repl() {
    let dir = tempfile::tempdir().unwrap();
    let node = VeilProcess::start_dev(dir.path(), &[]);
    let ipc = format!("ipc:{}", node.ipc_path.as_ref().unwrap().display());

    assert_eq!(attach(&ipc, "eth.blockNumber"), (true, "0".to_string()));
    assert_eq!(attach(&node.url, "net.version"), (true, "\"1337\"".to_string()));
    assert_eq!(
        attach(&ipc, "web3.fromWei(web3.toWei(1.5, 'ether'), 'gwei')"),
        (true, "\"1500000000\"".to_string())
    );
    let (ok, status) = attach(
        &ipc,
        "var h = eth.sendTransaction({from: eth.accounts[0], to: eth.accounts[1] || eth.accounts[0], value: web3.toWei(1, 'ether')});\
         while (eth.getTransactionReceipt(h) === null) admin.sleep(0.05);\
         eth.getTransactionReceipt(h).status",
    );
    assert_eq!((ok, status.as_str()), (true, "\"0x1\""));
    assert_eq!(attach(&ipc, "eth.blockNumber"), (true, "1".to_string()));

    let script = dir.path().join("mined.js");
    std::fs::write(
        &script,
        "setTimeout(function () { console.log('Contract mined!', eth.blockNumber); }, 200);",
    )
    .unwrap();
    let (ok, out) = attach(&ipc, &format!("loadScript({:?})", script.display().to_string()));
    assert!(ok, "{out}");
    assert_eq!(out, "Contract mined! 1\ntrue", "the callback ran before exit");

    let (ok, out) = attach(&ipc, "eth.getBlock('nope')");
    assert!(!ok && out.contains("hex string without 0x prefix"), "{out}");

    let mut repl = Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(["attach", &ipc])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    repl.stdin
        .take()
        .unwrap()
        .write_all(b"eth.blockNumber\nnotDefined.x\nnet.version\nexit\n")
        .unwrap();
    let out = String::from_utf8(repl.wait_with_output().unwrap().stdout).unwrap();
    assert!(out.contains("Welcome to the Veil JavaScript console!"), "{out}");
    assert!(out.contains("> 1\n"), "{out}");
    assert!(
        out.contains("notDefined is not defined"),
        "an error leaves the console running: {out}"
    );
    assert!(out.contains("> \"1337\""), "{out}");
}
