//! ethereum/tests BlockchainTests from ../shared/test-vectors/blockchain through `veil evm
//! blocktest`'s code (the node's real import path) and through the real binary.

mod support;

use support::vectors_dir;

#[test]
fn the_blockchain_fixtures_import_through_the_node_with_every_refusal() {
    let mut out = Vec::new();
    let summary =
        veil_node::blocktest_cli::run_files(&[vectors_dir().join("blockchain")], &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    for line in text.lines().rev().take(2) {
        println!("{line}");
    }
    let failures: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert!(failures.is_empty(), "{} failures: {failures:#?}", failures.len());
    // The fixtures' README: 181 tests, 440 blocks of which 49 must be refused.
    assert_eq!(summary.ran + summary.skipped, 181);
    // Skipped, by name: the multi-chain files (competing branches; Veil's chains are final)
    // and the three valid Cancun blocks holding a blob transaction, which Veil refuses.
    let skipped: Vec<&str> = text.lines().filter(|l| l.starts_with("SKIP")).collect();
    let side = [
        "ChainAtoChainBCallContractFormA",
        "ChainAtoChainBtoChainA",
        "UncleFromSideChain",
        "lotsOfLeafs",
    ];
    let blobs = ["blobhashListBounds6", "blockWithAllTransactionTypes", "opcodeBlobhashOutOfRange"];
    for line in &skipped {
        let file = line.split_whitespace().nth(1).unwrap_or_default();
        let is_side = side.iter().any(|s| file == format!("{s}.json"));
        let is_blob = blobs.iter().any(|s| file == format!("{s}.json"));
        assert!(
            is_side && line.contains("another branch")
                || is_blob && line.contains("blob transaction (type 3)"),
            "{line}"
        );
    }
    // 3 + 3 + 6 + 3 multi-chain tests, 3 blob ones.
    assert_eq!(skipped.len(), 18, "{skipped:#?}");
    // Per network: the README's 29/29/30/29/30/34 less the skipped tests of each network.
    let per_network: Vec<(&str, usize)> = vec![
        ("Istanbul", 29 - 4),
        ("Berlin", 29 - 4),
        ("London", 30 - 4),
        ("Paris", 29 - 1),
        ("Shanghai", 30 - 1),
        ("Cancun", 34 - 4),
    ];
    for (network, passed) in per_network {
        assert_eq!(summary.passed_per_network.get(network).copied(), Some(passed), "{network}");
    }
    // Every block that must be refused outside the skipped tests was (49 less the 6 of
    // UncleFromSideChain and the 9 of lotsOfLeafs), and every valid one imported (391 less
    // the 129 of the skipped tests).
    assert_eq!(summary.blocks_refused, 49 - 15);
    assert_eq!(summary.blocks_imported, 391 - 129);
    for refused in [
        "ExtraData33",
        "wrongGasLimit",
        "GasLimitIsZero",
        "timeDiff0",
        "wrongCoinbase",
        "DifficultyIsZero",
        "emptyBlobhashList",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("PASS {refused}.json"))
                    && !l.contains(" 0 refused)")),
            "{refused}"
        );
    }
}

#[test]
fn the_binary_fails_on_a_fixture_whose_expected_head_is_wrong() {
    let veil = env!("CARGO_BIN_EXE_veil");
    let fixture = vectors_dir().join("blockchain/log1_correct.json");
    let ok =
        std::process::Command::new(veil).args(["evm", "blocktest"]).arg(&fixture).output().unwrap();
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{stdout}");
    assert!(stdout.contains("blocktest: 6 ran, 6 passed, 0 failed"), "{stdout}");

    let dir = tempfile::tempdir().unwrap();
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&fixture).unwrap()).unwrap();
    let test = json.as_object().unwrap().keys().find(|k| k.ends_with("_Cancun")).unwrap().clone();
    json[&test]["lastblockhash"] = serde_json::json!(format!("0x{}", "11".repeat(32)));
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, json.to_string()).unwrap();
    let bad =
        std::process::Command::new(veil).args(["evm", "blocktest"]).arg(&broken).output().unwrap();
    let stdout = String::from_utf8_lossy(&bad.stdout);
    assert!(!bad.status.success());
    assert!(stdout.contains(&format!("FAIL broken.json {test}: head")), "{stdout}");
}
