//! ethereum/tests GeneralStateTests from ../shared/test-vectors/state, through `veil evm
//! statetest`'s code and through the real binary.

mod support;

use support::vectors_dir;

fn run_folder(folder: &str) -> (veil_node::statetest_cli::Summary, String) {
    let mut out = Vec::new();
    let summary =
        veil_node::statetest_cli::run_files(&[vectors_dir().join(folder)], &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let failures: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL")).collect();
    for line in text.lines().rev().take(2) {
        println!("{folder}: {line}");
    }
    assert!(
        failures.is_empty(),
        "{} failures, first: {:#?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
    (summary, text)
}

fn skipped_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("SKIP")).collect()
}

#[test]
fn every_fork_of_the_state_fixtures_matches() {
    let (summary, text) = run_folder("state");
    // The fixtures' README: 1481 cases; the one Constantinople entry needs EIP-1283.
    assert_eq!(summary.ran + summary.skipped, 1481);
    assert_eq!(summary.passed, 1480);
    let skipped = skipped_lines(&text);
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(skipped[0].starts_with("SKIP sstoreGas.json sstoreGas Constantinople"), "{skipped:?}");
}

#[test]
fn every_fork_of_the_extra_state_fixtures_matches_from_frontier_to_cancun() {
    let (summary, text) = run_folder("state-extra");
    // The fixtures' README: 6350 cases, 5915 of them Istanbul to Cancun, 435 older.
    assert_eq!(summary.ran + summary.skipped, 6350);
    let count = |forks: &[&str]| -> usize {
        forks.iter().map(|f| summary.passed_per_fork.get(*f).copied().unwrap_or(0)).sum()
    };
    assert_eq!(
        count(&["Istanbul", "Berlin", "London", "Paris", "Merge", "Shanghai", "Cancun"]),
        5915
    );
    let older = ["Frontier", "Homestead", "EIP150", "EIP158", "Byzantium", "Constantinople"];
    assert_eq!(count(&older) + count(&["ConstantinopleFix"]) + summary.skipped, 435);
    // Rejected transactions before EIP-161 (the coinbase is touched into existence) and
    // EIP-7610 collisions (storage alone occupies an address) are among them.
    for case in [
        "PASS NoSrcAccountCreate.json NoSrcAccountCreate Frontier #0",
        "PASS HighGasPrice.json HighGasPrice Homestead #0",
        "PASS InitCollision.json InitCollision Istanbul #0",
        "PASS create2collisionStorageParis.json create2collisionStorageParis Cancun #0",
        "PASS RevertInCreateInInit_Paris.json RevertInCreateInInit_Paris Shanghai #0",
        "PASS dynamicAccountOverwriteEmpty_Paris.json dynamicAccountOverwriteEmpty_Paris Cancun #0",
    ] {
        assert!(text.lines().any(|l| l == case), "missing: {case}");
    }
    // Only the two Constantinople cases that need EIP-1283 are not run.
    let skipped = skipped_lines(&text);
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(skipped.iter().all(|l| l.contains(" Constantinople #") && l.contains("EIP-1283")));
}

#[test]
fn the_binary_prints_per_case_lines_and_fails_on_a_broken_fixture() {
    let veil = env!("CARGO_BIN_EXE_veil");
    let ok = std::process::Command::new(veil)
        .args(["evm", "statetest"])
        .arg(vectors_dir().join("state/add11.json"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{stdout}");
    assert!(stdout.contains("PASS add11.json add11 Cancun #0"), "{stdout}");
    assert!(stdout.contains("statetest: 5 ran, 5 passed, 0 failed, 0 skipped"), "{stdout}");

    // The same fixture with a wrong expected root must fail, and say so.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(vectors_dir().join("state/add11.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["add11"]["post"]["Cancun"][0]["hash"] =
        serde_json::json!(format!("0x{}", "11".repeat(32)));
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, json.to_string()).unwrap();
    let bad =
        std::process::Command::new(veil).args(["evm", "statetest"]).arg(&broken).output().unwrap();
    let stdout = String::from_utf8_lossy(&bad.stdout);
    assert!(!bad.status.success());
    assert!(stdout.contains("FAIL broken.json add11 Cancun #0: state root"), "{stdout}");
}
