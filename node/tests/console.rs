//! `veil attach` against a real dev node over IPC, HTTP and WebSocket: properties and methods of
//! geth's console objects, a transaction sent and its receipt, `loadScript` whose timer
//! callback prints after the script returned (7nodes scripts print "Contract mined!" that way),
//! an error that names the problem, the REPL on standard input; and a solc-compiled contract
//! with events: deployed with a callback, BigNumber results, an event watched by its indexed
//! argument, past events with `get()`, `allEvents`, and a block filter.

mod support;

use std::{
    io::Write,
    path::PathBuf,
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
         var end = Date.now() + 30000;\
         while (eth.getTransactionReceipt(h) === null && Date.now() < end) admin.sleep(0.05);\
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

    let ws = VeilProcess::start_dev(&dir.path().join("ws"), &["--ws", "--ws.port", "0"]);
    assert_eq!(
        attach(ws.ws_url.as_deref().unwrap(), "net.version + ' ' + eth.blockNumber"),
        (true, "\"1337 0\"".to_string())
    );
    assert_eq!(
        attach(&ipc, "eth.getBalance(eth.accounts[0]) instanceof BigNumber && eth.getBalance(eth.accounts[0]).gt(0)"),
        (true, "true".to_string())
    );
    assert_eq!(attach(&ipc, "undeclared = 41; undeclared + 1"), (true, "42".to_string()));
    let (ok, block) = attach(&ipc, "eth.getBlock(0)");
    assert!(
        ok && block.starts_with("{\n  ") && block.contains("\n  number: 0,\n"),
        "geth's layout: {block}"
    );

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
    assert!(out.contains("\n1\n"), "{out}");
    assert!(
        out.contains("notDefined is not defined"),
        "an error leaves the console running: {out}"
    );
    assert!(out.contains("\n\"1337\"\n"), "{out}");
}

fn js_dir() -> PathBuf {
    veil_testkit::package_dir().join("tests/js")
}

/// The console script of the events test: deploys with a callback, then watches, sends, reads.
const EVENTS_SCRIPT: &str = r#"
var registry = eth.contract(REGISTRY.abi);
var from = {from: eth.accounts[0], gas: 300000};
registry.new(5, {from: eth.accounts[0], data: REGISTRY.bytecode, gas: 3000000}, function (error, c) {
  if (error) { console.log("deploy failed: " + error); return; }
  if (!c.address) { console.log("sent " + c.transactionHash.length); return; }
  console.log("mined, total " + c.total() + ", a BigNumber: " + (c.total() instanceof BigNumber));
  var blocks = eth.filter("latest", function (e, hash) {
    if (e) { console.log("block filter: " + e); return; }
    blocks.stopWatching();
    console.log("a new block " + hash.length);
  });
  var seen = [];
  var deadline = setTimeout(function () {
    console.log("no events within 30 s: " + seen.join(" "));
    slotOne.stopWatching();
    blocks.stopWatching();
  }, 30000);
  var slotOne = c.Stored({slot: 1}, function (e, log) {
    if (e) { console.log("watch: " + e); return; }
    seen.push(log.args.value.toString(10) + ":" + log.args.note);
    if (seen.length < 2) return;
    slotOne.stopWatching();
    clearTimeout(deadline);
    console.log("watched " + seen.join(" "));
    var past = c.Stored({slot: 1}, {fromBlock: 0}).get();
    console.log("past " + past.length + " " + past[0].event + " by " + (past[0].args.by.toLowerCase() === eth.accounts[0].toLowerCase()) + " slot " + past[1].args.slot.toString(10));
    var all = c.allEvents({fromBlock: 0}).get();
    console.log("all " + all.map(function (l) { return l.args.note; }).join(" ") + ", total " + c.total().toString(10));
  });
  c.store(1, 10, "first", from);
  c.store(2, 20, "second", from);
  c.store.sendTransaction(1, 30, "third", from);
});
"#;

#[test]
fn contracts_deploy_with_callbacks_and_their_events_can_be_watched_and_read() {
    assert!(
        js_dir().join("node_modules/solc").is_dir(),
        "solc is not installed: run `npm ci` in node/tests/js (.ci/run does)"
    );
    let compiled = Command::new("node")
        .arg(js_dir().join("compile.cjs"))
        .arg(veil_testkit::package_dir().join("tests/fixtures/Registry.sol"))
        .current_dir(js_dir())
        .output()
        .expect("run node");
    assert!(compiled.status.success(), "{}", String::from_utf8_lossy(&compiled.stderr));
    let contracts: serde_json::Value = serde_json::from_slice(&compiled.stdout).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let node = VeilProcess::start_dev(dir.path(), &[]);
    let ipc = format!("ipc:{}", node.ipc_path.as_ref().unwrap().display());
    let script = dir.path().join("events.js");
    std::fs::write(&script, format!("var REGISTRY = {};\n{EVENTS_SCRIPT}", contracts["Registry"]))
        .unwrap();
    let (ok, out) = attach(&ipc, &format!("loadScript({:?})", script.display().to_string()));
    assert!(ok, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "sent 66",
            "mined, total 5, a BigNumber: true",
            "a new block 66",
            "watched 10:first 30:third",
            "past 2 Stored by true slot 1",
            "all first second third, total 65",
            "true",
        ],
        "{out}"
    );
}

/// `personal.unlockAccount(address)` without a passphrase asks for it, as geth's console
/// does; with standard input not a terminal it reads one line (7nodes' scripts are run so).
#[test]
fn unlock_account_without_a_passphrase_asks_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let passwords = dir.path().join("password.txt");
    std::fs::write(&passwords, "secret\n").unwrap();
    let created = Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(["account", "new", "--datadir"])
        .arg(&data)
        .arg("--password")
        .arg(&passwords)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&created.stdout).to_string();
    let address = text
        .lines()
        .find_map(|l| l.strip_prefix("Public address of the key:"))
        .map(|a| a.trim().to_string())
        .unwrap_or_else(|| panic!("no address: {text}"));
    let node = VeilProcess::start_dev(&data, &["--allow-insecure-unlock"]);
    let ipc = node.ipc_path.clone().unwrap().display().to_string();
    let unlock = |stdin: &[u8]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_veil"))
            .args(["attach", "--exec", &format!("personal.unlockAccount('{address}')"), &ipc])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let (ok, out) = unlock(b"secret\n");
    assert!(ok && out.contains(&format!("Unlock account {address}\nPassphrase: ")), "{out}");
    assert!(out.trim_end().ends_with("true"), "{out}");
    let (ok, out) = unlock(b"wrong\n");
    assert!(!ok, "a wrong passphrase is an error: {out}");
    let (ok, out) = unlock(b"");
    assert!(!ok && out.contains("no passphrase"), "{out}");
}
