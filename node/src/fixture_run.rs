//! What `veil evm statetest` and `veil evm blocktest` share: finding fixture files and the
//! exit status of a run.

use std::{path::PathBuf, process::ExitCode};

/// The JSON files named, or inside the directories named, sorted per directory.
pub(crate) fn fixture_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        match std::fs::read_dir(path) {
            Ok(entries) => {
                let mut inner: Vec<PathBuf> = entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "json"))
                    .collect();
                inner.sort();
                files.extend(inner);
            }
            Err(_) => files.push(path.clone()),
        }
    }
    files
}

/// Exit status 1 when anything failed or the run itself broke (said on stderr).
pub(crate) fn exit_code(failed: std::io::Result<usize>) -> ExitCode {
    match failed {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("Fatal: {e}");
            ExitCode::FAILURE
        }
    }
}
