//! `veil init` and node start-up checks, through the real binary.

mod support;

use std::process::Command;
use support::vectors_dir;

fn veil(args: &[&str], datadir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(args)
        .arg("--datadir")
        .arg(datadir)
        .output()
        .unwrap()
}

#[test]
fn init_writes_the_published_genesis_and_refuses_a_different_one() {
    let dir = tempfile::tempdir().unwrap();
    let sepolia = vectors_dir().join("genesis/sepolia.json");
    let out = veil(&["init", sepolia.to_str().unwrap()], dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    // Sepolia's genesis hash as published (alloy's SEPOLIA_GENESIS_HASH, eth-clients/sepolia).
    assert!(
        stdout.contains("hash=0x25a5cc106eea7138acab33231d7160d69cb777ee0c2c553fcddf5138993e6dd9"),
        "{stdout}"
    );

    // Again with the same file: fine. With another file: refused, naming both hashes.
    assert!(veil(&["init", sepolia.to_str().unwrap()], dir.path()).status.success());
    let holesky = vectors_dir().join("genesis/holesky.json");
    let out = veil(&["init", holesky.to_str().unwrap()], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("incompatible genesis"), "{stderr}");
}

#[test]
fn a_chain_before_byzantium_is_refused_with_the_forks_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let genesis = dir.path().join("genesis.json");
    std::fs::write(
        &genesis,
        r#"{"config":{"chainId":4242,"homesteadBlock":0,"isQuorum":true},
        "alloc":{},"gasLimit":"0x1000000","difficulty":"0x0"}"#,
    )
    .unwrap();
    let data = dir.path().join("data");
    assert!(veil(&["init", genesis.to_str().unwrap()], &data).status.success());
    let out = veil(&[], &data);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("Byzantium through Osaka"), "{stderr}");
    assert!(stderr.contains("schedules Homestead"), "{stderr}");
}

#[test]
fn chain_id_1_and_missing_genesis_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = veil(&[], dir.path());
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("run `veil init"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let genesis = dir.path().join("genesis.json");
    std::fs::write(&genesis, r#"{"config":{"chainId":1,"homesteadBlock":0,"eip150Block":0,"eip155Block":0,
        "eip158Block":0,"byzantiumBlock":0,"isQuorum":true},"alloc":{},"gasLimit":"0x1000000","difficulty":"0x0"}"#).unwrap();
    let data = dir.path().join("data");
    assert!(veil(&["init", genesis.to_str().unwrap()], &data).status.success());
    let out = veil(&[], &data);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("chain id 1 is not supported"));

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"config":{"chainId":10,"txnSizeLimit":500},"alloc":{}}"#).unwrap();
    let out = veil(&["init", bad.to_str().unwrap()], &dir.path().join("other"));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("txnSizeLimit must be between 32 and 128")
    );
}

/// Privacy enhancements are on in both the genesis and the TM, or off in both (GoQuorum's
/// `privacyEnhancementsBlock` and Tessera's `features.enablePrivacyEnhancements`). A node whose
/// TM disagrees with its genesis refuses to start and says which side to change; when they
/// agree it says so and starts.
#[test]
fn a_node_starts_only_when_its_genesis_and_tm_agree_on_privacy_enhancements() {
    let dir = tempfile::tempdir().unwrap();
    let genesis = dir.path().join("genesis.json");
    std::fs::write(
        &genesis,
        r#"{"config":{"chainId":10,"homesteadBlock":0,"eip150Block":0,"eip155Block":0,
        "eip158Block":0,"byzantiumBlock":0,"isQuorum":true,"privacyEnhancementsBlock":0},
        "alloc":{},"gasLimit":"0x1000000","difficulty":"0x0"}"#,
    )
    .unwrap();
    let enhanced = dir.path().join("enhanced");
    assert!(veil(&["init", genesis.to_str().unwrap()], &enhanced).status.success());
    let mut tm = veil_testkit::tm::TmProcess::new(
        &support::veil_tm_bin(),
        dir.path(),
        "tm",
        "127.0.0.1",
        false,
    );
    tm.start();
    let socket = tm.socket().display().to_string();
    // A node that fails its checks exits; one that passes them would run until the limit.
    let refusal = |datadir: &std::path::Path, extra: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_veil"));
        command.args(extra).args(["--ptm.socket", &socket, "--datadir"]).arg(datadir);
        let (ok, out) = veil_testkit::output_within(command, std::time::Duration::from_secs(60));
        assert!(!ok, "the node started: {out}");
        out
    };

    // The genesis has them on, the TM off.
    let out = refusal(&enhanced, &[]);
    assert!(out.contains("the genesis turns privacy enhancements on"), "{out}");
    assert!(out.contains(r#"set "features": {"enablePrivacyEnhancements": true}"#), "{out}");

    // The TM has them on, the genesis (a dev chain) never turns them on.
    tm.kill();
    tm.config["features"] = serde_json::json!({ "enablePrivacyEnhancements": true });
    tm.start();
    let out = refusal(&dir.path().join("dev"), &["--dev"]);
    assert!(
        out.contains("has features.enablePrivacyEnhancements on but the genesis never"),
        "{out}"
    );

    // Both on.
    let node = support::VeilProcess::start(&enhanced, &["--ptm.socket", &socket, "--ipcdisable"]);
    assert!(
        node.startup_log
            .iter()
            .any(|l| l.contains("the genesis and the transaction manager agree")),
        "{:?}",
        node.startup_log
    );
}
