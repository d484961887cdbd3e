//! `veil-sim bench` against a running four-node network with its TMs: rounds of each workload
//! (transfers, SimpleStorage writes and reads, private transactions for two recipients) under
//! each rate controller (fixed load, fixed rate, linear rate, as fast as answered), ended by a
//! count, reported as a table, JSON and an HTML page with charts; then Hyperledger Caliper
//! itself (`benches/caliper/run.sh`: its Ethereum connector over WebSocket, its `simple` open
//! and query rounds) against the same network, with every transaction a success.

mod support;

use serde_json::Value;
use std::{process::Command, time::Duration};
use support::{sim, Running};

/// Ports of our own: offsets 40–43 (TM ports 9041–9044 and 9121–9124). The test runs in the
/// seven-node group (.config/nextest.toml), so only the other groups' offsets matter: QBFT
/// 20–23, keys 810–899, metrics 900–912, privacy enhancements 980 and 990.
const OFFSET: u16 = 40;

#[test]
fn bench_rounds_report_as_caliper_does_in_a_table_json_and_html() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("net");
    let (ok, out) = sim(&dir, &["init", "--nodes", "4", "--port-offset", &OFFSET.to_string()]);
    assert!(ok, "{out}");
    let _running = Running(&dir);
    let (ok, out) = sim(&dir, &["start"]);
    assert!(ok, "{out}");

    let reports = root.path().join("reports");
    let rounds = [
        "transfer:count=200,load=16",
        "write:count=60,rate=40",
        "read:count=100",
        "private:count=40,recipients=2,ramp=10-30",
    ];
    let mut args = vec!["bench", "--clients", "8", "--settle", "60"];
    for round in &rounds {
        args.extend(["--round", round]);
    }
    args.extend(["--out", reports.to_str().unwrap(), "--name", "r"]);
    let (ok, out) = sim(&dir, &args);
    assert!(ok, "{out}");
    assert!(out.contains("| Name | Succ | Fail | Send Rate (TPS) |"), "{out}");
    for label in ["transfer", "write", "read", "private-2"] {
        assert!(out.contains(&format!("\n| {label} |")), "no row for {label}: {out}");
    }

    let report: Value =
        serde_json::from_slice(&std::fs::read(reports.join("r.json")).unwrap()).unwrap();
    let rounds = report["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 4);
    for (round, expected) in rounds.iter().zip([200, 60, 100, 40]) {
        let label = round["label"].as_str().unwrap();
        assert_eq!(round["succeeded"], expected, "{label}: {round:#}");
        assert_eq!(round["failed"], 0, "{label}: {:#}", round["failures"]);
        assert!(round["throughput"].as_f64().unwrap() > 0.0, "{label}");
        let l = &round["latency_ms"];
        let ordered: Vec<f64> =
            ["min", "p50", "p95", "p99", "max"].iter().map(|k| l[*k].as_f64().unwrap()).collect();
        assert!(ordered.windows(2).all(|w| w[0] <= w[1]), "{label}: {l}");
        assert!(l["min"].as_f64().unwrap() <= l["avg"].as_f64().unwrap());
        let sum = |key: &str, field: &str| -> u64 {
            round[key].as_array().unwrap().iter().map(|x| x[field].as_u64().unwrap()).sum()
        };
        assert_eq!(sum("timeline", "sent"), expected, "{label}: every request is in the timeline");
        assert_eq!(sum("timeline", "done"), expected, "{label}");
        assert_eq!(
            sum("histogram", "count"),
            expected,
            "{label}: every latency is in the histogram"
        );
        // Nodes and TMs sampled: each ran and held memory; the nodes worked.
        let processes = round["resources"]["processes"].as_array().unwrap();
        assert_eq!(processes.len(), 8, "{label}");
        for p in processes {
            assert_eq!(p["running"], true, "{label}: {p}");
            assert!(p["memory_max_mib"].as_f64().unwrap() > 1.0, "{label}: {p}");
        }
        assert!(
            processes.iter().filter(|p| p["name"].as_str().unwrap().starts_with("node")).any(|p| p
                ["cpu_avg_percent"]
                .as_f64()
                .unwrap()
                > 0.0),
            "{label}: {processes:?}"
        );
    }
    // Rate controllers never send faster than asked (slower is the machine's business).
    assert!(rounds[1]["send_rate"].as_f64().unwrap() <= 40.0 * 1.25, "{:#}", rounds[1]);
    assert!(rounds[3]["send_rate"].as_f64().unwrap() <= 30.0 * 1.25, "{:#}", rounds[3]);

    let html = std::fs::read_to_string(reports.join("r.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("Summary of performance metrics"));
    assert_eq!(html.matches("<svg").count(), 4 * 4, "four charts per round");
    assert!(html.contains("Send rate and throughput") && html.contains("Latency histogram"));
    assert!(!html.contains("<script"), "the report needs nothing but itself");

    // Caliper's own client against the same network.
    let script = veil_testkit::package_dir().join("../benches/caliper/run.sh");
    let caliper_report = reports.join("caliper.html");
    let mut caliper = Command::new(&script);
    caliper.arg(&dir).env("TX", "100").env("TPS", "50").env("OUT", &caliper_report);
    // run.sh stops Caliper itself after 300 + 4 × 100 / 50 s; this only catches run.sh.
    let (ok, text) = veil_testkit::output_within(caliper, Duration::from_secs(420));
    assert!(ok, "{text}");
    let results = text.split("### All test results ###").nth(1).expect("Caliper's results");
    for round in ["open", "query"] {
        let row: Vec<&str> = results
            .lines()
            .find(|l| l.starts_with(&format!("| {round} ")))
            .unwrap_or_else(|| panic!("no {round} row: {results}"))
            .split('|')
            .map(str::trim)
            .collect();
        assert_eq!((row[2], row[3]), ("100", "0"), "{round}: 100 successes, no failure: {results}");
    }
    assert!(std::fs::read_to_string(&caliper_report).unwrap().contains("Caliper"));
}
