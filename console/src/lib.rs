//! The geth-like JavaScript console of `veil attach`: QuickJS (compiled from source by
//! rquickjs) with geth's console objects — `web3`, `eth`, `net`, `admin`, `personal`, `txpool`,
//! `raft`, `debug` in web3 0.20's shape, BigNumbers, filters and contract objects with events —
//! over JSON-RPC to the attached node (IPC, HTTP or WebSocket).
//!
//! `--exec` and `loadScript` keep the event loop going (timers, promise jobs) until nothing is
//! pending, as geth's do; the REPL ([`repl`]) runs it between lines.

mod abi;
mod engine;
mod input;
mod natives;
mod repl;
mod transport;

pub use engine::Console;
pub use transport::Endpoint;

use std::path::{Path, PathBuf};

/// Loads each script of `preload` into `console`.
fn preload(console: &Console, preload: &[PathBuf]) -> eyre::Result<()> {
    for file in preload {
        console
            .eval(&format!("loadScript({})", serde_json::to_string(&file.display().to_string())?))
            .map_err(|e| eyre::eyre!("{}: {e}", file.display()))?;
    }
    Ok(())
}

/// `veil attach`: loads `preload`, then evaluates `exec` and prints its value, or, without
/// `exec`, runs the REPL with its history in `history`.
pub fn attach(
    endpoint: &Endpoint,
    exec: Option<&str>,
    preload_files: &[PathBuf],
    history: &Path,
) -> eyre::Result<()> {
    let Some(source) = exec else {
        return repl::run(endpoint, preload_files, history);
    };
    let console = Console::attach(endpoint)?;
    preload(&console, preload_files)?;
    let shown = console.eval(source).map_err(|e| eyre::eyre!(e))?;
    println!("{shown}");
    Ok(())
}
