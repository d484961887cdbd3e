//! ethereum/tests GeneralStateTests from ../shared/test-vectors/state, through `veil evm
//! statetest`'s code and through the real binary.

mod support;

use support::vectors_dir;

#[test]
fn every_supported_fork_matches_the_fixtures() {
    let mut out = Vec::new();
    let summary =
        veil_node::statetest_cli::run_files(&[vectors_dir().join("state")], &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let failures: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL")).collect();
    println!("{}", text.lines().last().unwrap_or_default());
    assert!(
        failures.is_empty(),
        "{} failures, first: {:#?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
    // The fixtures' README: 1481 cases, of which revm skips the one Constantinople entry.
    assert_eq!(summary.ran + summary.skipped, 1481);
    assert_eq!(summary.skipped, 1);
    assert_eq!(summary.passed, 1480);
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
