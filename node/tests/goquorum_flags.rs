//! GoQuorum deployments' command lines, unchanged but for ports and paths:
//! quorum-dev-quickstart's `docker-entrypoint.sh` for a QBFT member runs
//! `geth --nousb --verbosity 1 --datadir=/data init GENESIS`, copies the node key to geth's
//! `/data/geth/nodekey` and the account to `/data/keystore/key`, then starts geth with its
//! long list of flags and its TM over `--ptm.url`. `veil` takes all of it: the node key is
//! found where geth keeps it, the meaningful flags take effect (`--networkid` in `net_version`,
//! `--identity` in the client version, `--nat extip:IP` in the enode, the TM reached over
//! HTTP), every flag without meaning here is warned about once, and the API names Veil lacks
//! (`miner`) are warned about, not fatal. `--log.format geth` logs in GoQuorum's format.

mod support;

use serde_json::json;
use std::process::Command;
use support::VeilProcess;

/// The ports the entrypoint fixes (8545, 8546, 30303, 6060), free ones here.
fn port() -> String {
    support::free_port().to_string()
}

#[test]
fn quickstarts_entrypoint_command_line_starts_a_qbft_member_with_its_tm() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let keys = veil_testkit::package_dir().join("../sim/tests/fixtures/7nodes-keys");
    let genesis = support::vectors_dir().join("qbft/genesis/7nodes-qbft-genesis.json");

    // geth --nousb --verbosity 1 --datadir=/data init ${GENESIS_FILE}
    let init = Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(["--nousb", "--verbosity", "1", &format!("--datadir={}", data.display()), "init"])
        .arg(&genesis)
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    // cp /config/keys/accountKeystore /data/keystore/key; cp /config/keys/nodekey
    // /data/geth/nodekey; and /config's node lists and password file.
    std::fs::create_dir_all(data.join("keystore")).unwrap();
    std::fs::create_dir_all(data.join("geth")).unwrap();
    std::fs::copy(keys.join("key1"), data.join("keystore/key")).unwrap();
    std::fs::copy(keys.join("nodekey1"), data.join("geth/nodekey")).unwrap();
    for list in ["static-nodes.json", "permissioned-nodes.json"] {
        std::fs::write(data.join(list), "[]").unwrap();
    }
    std::fs::write(data.join("passwords.txt"), "\n").unwrap();
    let account: serde_json::Value =
        serde_json::from_slice(&std::fs::read(keys.join("key1")).unwrap()).unwrap();
    let address = format!("0x{}", account["address"].as_str().unwrap());

    // The member's Tessera, its Q2T API on HTTP as quickstart's (port 9101 there).
    let mut tm = veil_testkit::tm::TmProcess::new(
        &support::veil_tm_bin(),
        root.path(),
        "tm",
        "127.0.0.1",
        false,
    );
    let q2t = format!("http://127.0.0.1:{}", port());
    let servers = tm.config["serverConfigs"].as_array_mut().unwrap();
    let socket = servers.iter_mut().find(|s| s["app"] == "Q2T").unwrap();
    *socket = json!({ "app": "Q2T", "serverAddress": q2t });
    tm.spawn();
    veil_testkit::wait_until("the TM's Q2T over HTTP", std::time::Duration::from_secs(60), || {
        tm.assert_running();
        veil_testkit::http::get(&format!("{q2t}/upcheck")).is_some_and(|(status, _)| status == 200)
    });

    let (http, ws, p2p, metrics) = (port(), port(), port(), port());
    let passwords = data.join("passwords.txt").display().to_string();
    let datadir = data.display().to_string();
    let api = "admin,eth,debug,miner,net,txpool,personal,web3,istanbul";
    #[rustfmt::skip]
    let args = [
        "--datadir", &datadir,
        "--nodiscover",
        "--permissioned",
        "--verbosity", "3",
        "--mine", "--miner.threads", "1", "--miner.gasprice", "0", "--emitcheckpoints",
        // (the older entrypoint adds --nousb here)
        "--syncmode", "full", "--nousb", "--revertreason",
        "--metrics", "--pprof", "--pprof.addr", "0.0.0.0", "--pprof.port", "9545",
        "--metrics.port", &metrics,
        "--networkid", "1338",
        "--http", "--http.addr", "0.0.0.0", "--http.port", &http, "--http.corsdomain", "*",
        "--http.vhosts", "*", "--http.api", api,
        "--ws", "--ws.addr", "0.0.0.0", "--ws.port", &ws, "--ws.origins", "*", "--ws.api", api,
        "--port", &p2p,
        "--identity", "member1-qbft",
        "--unlock", &address,
        "--allow-insecure-unlock",
        "--password", &passwords,
        "--privacymarker.enable",
        "--bootnodes=enode://738ce27c421f18a497814428f1f0c4ac44aaf50629f15973b0e20875c884dd1c19c6d7f4b48e56186e8c36ac5a82032b47dd053b75089d6bff5ea1cadc2b31a0@172.16.239.14:30303,enode://079f1d0a6549e57d3a10d8f91532c65acda4125b1ba652ce566be51e4d77f3c0181d872aea4d673e18af7d6c7cc8bed9a1a899e28eed173a0f17888efdaae024@172.16.239.15:30303",
        "--ptm.timeout", "5", "--ptm.url", &q2t, "--ptm.http.writebuffersize", "4096",
        "--ptm.http.readbuffersize", "4096", "--ptm.tls.mode", "off",
        // The Kubernetes charts' and the genesis tool's: the pod's address in the enode.
        "--nat", "extip:172.16.239.11",
    ];
    let node = VeilProcess::start_exact(&args);

    assert_eq!(node.call("net_version", json!([])).unwrap(), json!("1338"));
    let version = node.call("web3_clientVersion", json!([])).unwrap();
    assert!(version.as_str().unwrap().starts_with("veil/member1-qbft/v"), "{version}");
    let info = node.call("admin_nodeInfo", json!([])).unwrap();
    let enode = info["enode"].as_str().unwrap();
    // The node key was found in geth/nodekey: 7nodes' node 1.
    assert!(enode.starts_with("enode://ac6b1096ca56b9f6d004b779ae3728bf83f8e22453404cc3cef16a3d9b96608bc67c4b30db88e0a5a6c6390213f7acbe1153ff6d23ce57380104288ae19373ef@172.16.239.11:"), "{enode}");
    assert_eq!(node.call("istanbul_isValidator", json!([])).unwrap(), json!(true));
    let log = node.startup_log.join("\n");
    assert!(log.contains(&format!("transaction manager connected tm={q2t}")), "{log}");
    for flag in [
        "--nousb",
        "--emitcheckpoints",
        "--pprof ",
        "--miner.gasprice",
        "--privacymarker.enable",
        "--ptm.http.writebuffersize",
        "--ptm.http.readbuffersize",
    ] {
        let warnings = node.startup_log.iter().filter(|l| l.contains(flag)).count();
        assert_eq!(warnings, 1, "{flag}: {log}");
    }
    assert!(log.contains("--http.api: no namespace miner here"), "{log}");
    assert!(!log.contains("--revertreason"), "--revertreason takes effect: {log}");
}

/// `--revertreason`: a failed transaction's receipt carries `revertReason`, the data it
/// reverted with, as GoQuorum's does; a successful one has no such field, and neither has a
/// failed one without the flag.
#[test]
fn revertreason_puts_what_a_transaction_reverted_with_in_its_receipt() {
    let (reverting, expected) = support::reverting_with("nope");
    let failed_receipt = |extra: &[&str]| {
        let root = tempfile::tempdir().unwrap();
        let node = VeilProcess::start_dev(root.path(), extra);
        let from = node.call("eth_accounts", json!([])).unwrap()[0].clone();
        let ok = node
            .call("eth_sendTransaction", json!([{ "from": from, "data": "0x602a600055" }]))
            .unwrap();
        let ok = support::wait_for_receipt(&node.url, &ok);
        assert_eq!(ok["status"], "0x1", "{ok}");
        assert!(ok.get("revertReason").is_none(), "{ok}");
        let hash = node
            .call(
                "eth_sendTransaction",
                json!([{ "from": from, "data": reverting, "gas": "0x100000" }]),
            )
            .unwrap();
        let receipt = support::wait_for_receipt(&node.url, &hash);
        assert_eq!(receipt["status"], "0x0", "{receipt}");
        receipt
    };
    let with = failed_receipt(&["--revertreason"]);
    assert_eq!(with["revertReason"], json!(expected), "{with}");
    let without = failed_receipt(&[]);
    assert!(without.get("revertReason").is_none(), "{without}");
}

/// `--log.format geth`: every line in GoQuorum's terminal format, which log pipelines built
/// for GoQuorum parse (`INFO [MM-DD|HH:MM:SS.mmm] message   key=value`).
#[test]
fn log_format_geth_writes_goquorums_terminal_lines() {
    let root = tempfile::tempdir().unwrap();
    let node = VeilProcess::start_dev(root.path(), &["--log.format", "geth"]);
    assert!(!node.startup_log.is_empty());
    for line in &node.startup_log {
        let (level, rest) = line.split_at(5);
        assert!(["INFO ", "WARN ", "EROR ", "DBUG ", "TRCE "].contains(&level), "{line}");
        assert!(rest.starts_with('[') && rest.as_bytes()[19] == b']', "{line}");
    }
    assert!(
        node.startup_log
            .iter()
            .any(|l| l.contains("] JSON-RPC server started ") && l.contains(" url=http://")),
        "{:?}",
        node.startup_log
    );
}

/// The Kubernetes charts' `--unlock 0`: as geth, an index into the keystore (file-name
/// order) unlocks that account; an index past the keystore's end stops the node with a reason.
#[test]
fn unlock_takes_a_keystore_index_as_geth_does() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let keys = veil_testkit::package_dir().join("../sim/tests/fixtures/7nodes-keys");
    std::fs::create_dir_all(data.join("keystore")).unwrap();
    std::fs::copy(keys.join("key1"), data.join("keystore/key")).unwrap();
    let passwords = root.path().join("passwords.txt");
    std::fs::write(&passwords, "\n").unwrap();
    let account: serde_json::Value =
        serde_json::from_slice(&std::fs::read(keys.join("key1")).unwrap()).unwrap();
    let address = format!("0x{}", account["address"].as_str().unwrap());
    let password = passwords.display().to_string();

    // A chain without dev accounts (`--dev` adds its own to the keystore).
    let genesis = support::vectors_dir().join("qbft/genesis/7nodes-qbft-genesis.json");
    let init = Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(["init", "--datadir", &data.display().to_string()])
        .arg(&genesis)
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let unlocked = ["--unlock", "0", "--allow-insecure-unlock", "--password", &password];
    let node = VeilProcess::start(&data, &[&unlocked[..], &["--port", &port()]].concat());
    let signature = node.call("eth_sign", json!([address, "0x01"])).expect("unlocked at start");
    assert_eq!(signature.as_str().unwrap().len(), 2 + 130, "{signature}");
    drop(node);

    let past = Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(["--datadir", &data.display().to_string(), "--unlock", "1", "--password", &password])
        .output()
        .unwrap();
    assert!(!past.status.success());
    let stderr = String::from_utf8_lossy(&past.stderr);
    assert!(
        stderr.contains("--unlock 1: the keystore") && stderr.contains("has 1 account"),
        "{stderr}"
    );
}
