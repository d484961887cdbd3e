//! The interactive console: a rustyline editor (history file, multi-line input, tab
//! completion, Ctrl-C cancels the line or stops a running evaluation, Ctrl-D exits) in front of
//! an engine thread that also runs timers and filter watches between lines, as geth's event
//! loop does.

use crate::{input, Console, Endpoint};
use rustyline::{
    completion::{Completer, Pair},
    error::ReadlineError,
    highlight::Highlighter,
    hint::Hinter,
    history::FileHistory,
    validate::{ValidationContext, ValidationResult, Validator},
    CompletionType, Config, Editor, Helper,
};
use std::{
    path::Path,
    path::PathBuf,
    sync::mpsc::{self, Receiver, RecvTimeoutError, Sender},
};

/// Work for the engine thread.
enum Request {
    /// Evaluate and answer what to show.
    Eval(String, Sender<Result<String, String>>),
    /// Answer the completions of a line.
    Complete(String, Sender<Vec<String>>),
}

/// Lines that may hold a password stay out of the history file (geth's rule).
fn kept_in_history(line: &str) -> bool {
    !["personal.n", "personal.u", "personal.s", "personal.i"].iter().any(|p| line.contains(p))
}

/// The engine thread: attaches (the engine cannot move between threads) and answers `ready`,
/// then evaluates what it is sent and runs due timers between.
fn engine(
    endpoint: Endpoint,
    preload: Vec<PathBuf>,
    ready: Sender<eyre::Result<()>>,
    requests: Receiver<Request>,
) {
    use std::io::IsTerminal;
    let attached = Console::attach(&endpoint).and_then(|console| {
        let console = console.with_colors(std::io::stdout().is_terminal());
        crate::preload(&console, &preload)?;
        signal_hook::flag::register(signal_hook::consts::SIGINT, console.interrupt_flag())?;
        Ok(console)
    });
    let console = match attached {
        Ok(console) => {
            let _ = ready.send(Ok(()));
            console
        }
        Err(error) => {
            let _ = ready.send(Err(error));
            return;
        }
    };
    let mut wait = None;
    loop {
        let request = match wait {
            Some(wait) => requests.recv_timeout(wait),
            None => requests.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match request {
            Ok(Request::Eval(source, reply)) => {
                let _ = reply.send(console.eval_now(&source));
            }
            Ok(Request::Complete(line, reply)) => {
                let _ = reply.send(console.complete(&line));
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        wait = match console.run_due() {
            Ok(wait) => wait,
            Err(error) => {
                println!("{error}");
                None
            }
        };
    }
}

/// rustyline's view of the console: completion by the engine, more lines while brackets are open.
struct ConsoleHelper {
    requests: Sender<Request>,
}

impl Completer for ConsoleHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '.'))
            .map_or(0, |i| i + 1);
        let (tx, rx) = mpsc::channel();
        let _ = self.requests.send(Request::Complete(before.to_string(), tx));
        let pairs = rx
            .recv()
            .unwrap_or_default()
            .into_iter()
            .map(|whole| {
                let word = whole[start.min(whole.len())..].to_string();
                Pair { display: word.clone(), replacement: word }
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Validator for ConsoleHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        Ok(if input::incomplete(ctx.input()) {
            ValidationResult::Incomplete
        } else {
            ValidationResult::Valid(None)
        })
    }
}

impl Hinter for ConsoleHelper {
    type Hint = String;
}
impl Highlighter for ConsoleHelper {}
impl Helper for ConsoleHelper {}

/// Asks the engine to evaluate `source`.
fn evaluate(requests: &Sender<Request>, source: &str) -> Result<String, String> {
    let (tx, rx) = mpsc::channel();
    requests
        .send(Request::Eval(source.to_string(), tx))
        .map_err(|_| "the console engine stopped".to_string())?;
    rx.recv().map_err(|_| "the console engine stopped".to_string())?
}

/// Runs the REPL on `endpoint` after loading `preload`, keeping history in `history`.
pub(crate) fn run(endpoint: &Endpoint, preload: &[PathBuf], history: &Path) -> eyre::Result<()> {
    let (requests, inbox) = mpsc::channel();
    let (ready, attached) = mpsc::channel();
    let (endpoint, preload) = (endpoint.clone(), preload.to_vec());
    let worker = std::thread::Builder::new()
        .name("console-engine".into())
        .spawn(move || engine(endpoint, preload, ready, inbox))?;
    attached.recv().map_err(|_| eyre::eyre!("the console engine stopped"))??;
    let _ = evaluate(&requests, "__banner()");
    println!("To exit, press ctrl-d or type exit");

    let config = Config::builder()
        .auto_add_history(false)
        .history_ignore_dups(true)?
        .completion_type(CompletionType::List)
        .build();
    let mut editor: Editor<ConsoleHelper, FileHistory> = Editor::with_config(config)?;
    editor.set_helper(Some(ConsoleHelper { requests: requests.clone() }));
    if history.exists() {
        if let Err(error) = editor.load_history(history) {
            eprintln!("history {}: {error}", history.display());
        }
    }
    loop {
        match editor.readline("> ") {
            Ok(line) => {
                let source = line.trim();
                if source.is_empty() {
                    continue;
                }
                if source == "exit" {
                    break;
                }
                if kept_in_history(source) {
                    editor.add_history_entry(source)?;
                    if let Err(error) = editor.append_history(history) {
                        eprintln!("history {}: {error}", history.display());
                    }
                }
                match evaluate(&requests, source) {
                    Ok(shown) => println!("{shown}"),
                    Err(error) => println!("{error}"),
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(error) => return Err(error.into()),
        }
    }
    // The engine stops when the last sender (the helper holds one) is gone.
    drop(editor);
    drop(requests);
    let _ = worker.join();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::kept_in_history;

    #[test]
    fn lines_that_may_carry_a_password_stay_out_of_the_history() {
        assert!(kept_in_history("eth.blockNumber"));
        assert!(!kept_in_history("personal.unlockAccount(eth.accounts[0], 'secret')"));
        assert!(!kept_in_history("personal.newAccount('secret')"));
        assert!(!kept_in_history("personal.sendTransaction({}, 'secret')"));
        assert!(!kept_in_history("personal.importRawKey('ab', 'secret')"));
    }
}
