//! The `veil` and `veil-tm` binaries the simulation drives: beside `veil-sim` (one cargo
//! target directory), unless `VEIL_BIN` / `VEIL_TM_BIN` name others.

use std::{path::PathBuf, process::Command};

fn beside_me(name: &str, env: &str) -> eyre::Result<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Ok(path.into());
    }
    let path = std::env::current_exe()?.with_file_name(name);
    eyre::ensure!(
        path.exists(),
        "{} not found; build the workspace (cargo build --release --workspace) or set {env}",
        path.display()
    );
    Ok(path)
}

/// The node binary.
pub(crate) fn veil() -> eyre::Result<PathBuf> {
    beside_me("veil", "VEIL_BIN")
}

/// The transaction manager binary.
pub(crate) fn veil_tm() -> eyre::Result<PathBuf> {
    beside_me("veil-tm", "VEIL_TM_BIN")
}

/// Runs `command` to completion and answers its standard output; fails with its output.
pub(crate) fn output(mut command: Command) -> eyre::Result<String> {
    let out = command.output()?;
    eyre::ensure!(
        out.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
