//! `veil attach`'s REPL driven through a real pseudo-terminal (rexpect) against a dev node: the
//! banner, a function typed over three lines, recalling and editing the last line with the up
//! arrow, tab completion (one candidate and a list), an error that leaves the console running,
//! Ctrl-C cancelling a line and stopping a running evaluation, Ctrl-D leaving, and the history
//! file: kept across sessions, without the lines that may carry a password.

mod support;

use rexpect::session::{spawn_command, PtySession};
use std::{path::Path, process::Command};
use support::VeilProcess;

const UP: &str = "\x1b[A";

/// Enters `line`, waits for `shown` and then for the next prompt (input typed while the
/// console evaluates is dropped when the editor takes the terminal back, as with geth's).
fn enter(repl: &mut PtySession, line: &str, shown: &str) {
    repl.send_line(line).unwrap();
    repl.exp_string(shown).unwrap();
    repl.exp_string("> ").unwrap();
}

/// Types `keys` without Enter (the session's writer buffers until a newline or a flush).
fn type_keys(repl: &mut PtySession, keys: &str) {
    repl.send(keys).unwrap();
    repl.flush().unwrap();
}

fn console(ipc: &str, history: &Path) -> PtySession {
    let mut command = Command::new(env!("CARGO_BIN_EXE_veil"));
    command.args(["attach", "--history"]).arg(history).arg(ipc).env("TERM", "xterm");
    let mut session = spawn_command(command, Some(30_000)).expect("start veil attach in a pty");
    session.exp_string("Welcome to the Veil JavaScript console!").unwrap();
    session.exp_string("modules: admin:1.0").unwrap();
    session.exp_string("> ").unwrap();
    session
}

#[test]
fn the_repl_in_a_terminal_edits_completes_recalls_and_survives_errors() {
    let dir = tempfile::tempdir().unwrap();
    let node = VeilProcess::start_dev(dir.path(), &[]);
    let ipc = format!("ipc:{}", node.ipc_path.as_ref().unwrap().display());
    let history = dir.path().join("history");
    let mut repl = console(&ipc, &history);

    // A function over three lines runs once its brace closes.
    repl.send_line("function add(a, b) {").unwrap();
    repl.send_line("  return a + b;").unwrap();
    enter(&mut repl, "}", "undefined");
    enter(&mut repl, "add(40, 2) * 10", "420");

    // The up arrow brings the line back to be edited.
    type_keys(&mut repl, UP);
    enter(&mut repl, " + 1", "421");

    // Tab completes a method with its parenthesis...
    type_keys(&mut repl, "eth.getTransactionRec\t");
    repl.exp_string("getTransactionReceipt(").unwrap();
    enter(&mut repl, "'0x' + '00'.repeat(32))", "null");
    // ...and lists the candidates when there are several.
    type_keys(&mut repl, "personal.\t\t");
    repl.exp_string("personal.unlockAccount(").unwrap();
    repl.send_control('u').unwrap();

    // An error is printed and the console goes on.
    enter(&mut repl, "eth.getBlock(\"nope\")", "hex string without 0x prefix");
    enter(&mut repl, "eth.blockNumber + 1000", "1000");

    // Ctrl-C drops the line being typed...
    type_keys(&mut repl, "((( not finished");
    repl.exp_string("((( not finished").unwrap();
    repl.send_control('c').unwrap();
    repl.exp_string("> ").unwrap();
    enter(&mut repl, "6 * 7 + 0.5", "42.5");
    // ...and stops an evaluation that is running.
    repl.send_line("console.log('sleeping'); admin.sleep(60)").unwrap();
    repl.exp_string("sleeping\r\n").unwrap();
    repl.send_control('c').unwrap();
    repl.exp_string("interrupted").unwrap();
    repl.exp_string("> ").unwrap();

    // Objects print as geth prints them; lines with passwords stay out of the history.
    enter(&mut repl, "({b: [1, 'x'], a: {c: true}})", "a: {");
    enter(&mut repl, "personal.unlockAccount(eth.accounts[0], 'not-for-the-history')", "\n");
    enter(&mut repl, "'from the ' + 'history'", "\"from the history\"");
    repl.send_control('d').unwrap();
    repl.exp_eof().unwrap();

    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(saved.contains("add(40, 2) * 10 + 1"), "{saved}");
    assert!(saved.contains("return a + b;"), "the multi-line function is one entry: {saved}");
    assert!(!saved.contains("not-for-the-history"), "{saved}");

    // A new session recalls the last line of the one before.
    let mut again = console(&ipc, &history);
    type_keys(&mut again, UP);
    enter(&mut again, "", "\"from the history\"");
    again.send_line("exit").unwrap();
    again.exp_eof().unwrap();
}
