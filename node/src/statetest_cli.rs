//! `veil evm statetest`: prints one line per case and a summary, like geth's `evm statetest`.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};
use veil_evm::{run_state_test_file, CaseOutcome};

/// Totals of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Cases that matched, per fork as the fixtures name it.
    pub passed_per_fork: std::collections::BTreeMap<String, usize>,
    /// Cases run.
    pub ran: usize,
    /// Cases that matched.
    pub passed: usize,
    /// Cases that did not, plus files that could not be read.
    pub failed: usize,
    /// Cases not run.
    pub skipped: usize,
}

/// Forks in activation order, as ethereum/tests names them.
const FORK_ORDER: &[&str] = &[
    "Frontier",
    "Homestead",
    "EIP150",
    "EIP158",
    "Byzantium",
    "Constantinople",
    "ConstantinopleFix",
    "Istanbul",
    "Berlin",
    "London",
    "Paris",
    "Merge",
    "Shanghai",
    "Cancun",
    "Prague",
    "Osaka",
];

/// Runs the fixtures, writing a line per case to `out`.
pub fn run_files(paths: &[PathBuf], out: &mut impl std::io::Write) -> std::io::Result<Summary> {
    let mut summary = Summary::default();
    for file in crate::fixture_run::fixture_files(paths) {
        let name = file
            .file_name()
            .map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
        match run_state_test_file(Path::new(&file)) {
            Err(e) => {
                summary.failed += 1;
                writeln!(out, "FAIL {name}: {e}")?;
            }
            Ok(cases) => {
                for case in cases {
                    let label = format!("{name} {} {} #{}", case.test, case.fork, case.index);
                    match case.outcome {
                        CaseOutcome::Pass => {
                            summary.ran += 1;
                            summary.passed += 1;
                            *summary.passed_per_fork.entry(case.fork.clone()).or_default() += 1;
                            writeln!(out, "PASS {label}")?;
                        }
                        CaseOutcome::Fail(reason) => {
                            summary.ran += 1;
                            summary.failed += 1;
                            writeln!(out, "FAIL {label}: {reason}")?;
                        }
                        CaseOutcome::Skipped(reason) => {
                            summary.skipped += 1;
                            writeln!(out, "SKIP {label}: {reason}")?;
                        }
                    }
                }
            }
        }
    }
    let mut forks: Vec<_> = summary.passed_per_fork.iter().collect();
    forks.sort_by_key(|(fork, _)| FORK_ORDER.iter().position(|f| f == fork));
    let forks: Vec<String> = forks.iter().map(|(fork, n)| format!("{fork} {n}")).collect();
    writeln!(out, "passed per fork: {}", forks.join(", "))?;
    writeln!(
        out,
        "statetest: {} ran, {} passed, {} failed, {} skipped",
        summary.ran, summary.passed, summary.failed, summary.skipped
    )?;
    Ok(summary)
}

/// The command: exit status 1 when anything failed.
pub fn run(paths: &[PathBuf]) -> ExitCode {
    let stdout = std::io::stdout();
    crate::fixture_run::exit_code(run_files(paths, &mut stdout.lock()).map(|s| s.failed))
}
