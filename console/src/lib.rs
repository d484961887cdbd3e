//! The geth-like JavaScript console of `veil attach`: QuickJS (compiled from source by
//! rquickjs) with geth's console objects — `web3`, `eth`, `net`, `admin`, `personal`, `txpool`,
//! `raft`, `debug` — defined in `web3.js` over one native JSON-RPC call to the attached node.
//!
//! [`Console::eval`] runs a line or a script and then keeps the event loop going (timers,
//! promise jobs) until nothing is pending, as geth's `--exec` and `loadScript` do.

mod abi;
mod transport;

pub use transport::Endpoint;

use rquickjs::{CatchResultExt, Context, Function, Runtime};
use std::{cell::RefCell, rc::Rc, time::Duration};
use transport::Transport;

const WEB3: &str = include_str!("web3.js");

/// The message of a thrown error, without QuickJS's stack: `Error: what went wrong`.
fn message(thrown: &str) -> String {
    let first = thrown.lines().next().unwrap_or_default();
    match first.strip_prefix("Error: Error: ") {
        Some(rest) => format!("Error: {rest}"),
        None => first.to_string(),
    }
}

/// A console attached to one node.
pub struct Console {
    runtime: Runtime,
    context: Context,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console").finish_non_exhaustive()
    }
}

impl Console {
    /// Attaches to `endpoint` and defines the console objects.
    pub fn attach(endpoint: &Endpoint) -> eyre::Result<Self> {
        let transport = Rc::new(RefCell::new(Transport::connect(endpoint)?));
        let runtime = Runtime::new()?;
        let context = Context::full(&runtime)?;
        context.with(|ctx| -> eyre::Result<()> {
            let globals = ctx.globals();
            let rpc = transport.clone();
            globals.set(
                "__rpc",
                Function::new(ctx.clone(), move |method: String, params: String| -> String {
                    let params = serde_json::from_str(&params).unwrap_or_default();
                    let answer = match rpc.borrow_mut().call(&method, params) {
                        Ok(result) => serde_json::json!({ "result": result }),
                        Err(error) => serde_json::json!({ "error": error }),
                    };
                    answer.to_string()
                })?,
            )?;
            globals.set(
                "__print",
                Function::new(ctx.clone(), |line: String| {
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{line}");
                    let _ = out.flush();
                })?,
            )?;
            let thrown = |e: String| rquickjs::Error::new_from_js_message("abi", "value", e);
            globals.set(
                "__abiConstructor",
                Function::new(ctx.clone(), move |abi: String, args: String| {
                    abi::encode_constructor(&abi, &args).map_err(thrown)
                })?,
            )?;
            globals.set(
                "__abiCall",
                Function::new(ctx.clone(), move |abi: String, name: String, args: String| {
                    abi::encode_call(&abi, &name, &args).map_err(thrown)
                })?,
            )?;
            globals.set(
                "__abiDecode",
                Function::new(ctx.clone(), move |abi: String, name: String, data: String| {
                    abi::decode_output(&abi, &name, &data).map_err(thrown)
                })?,
            )?;
            globals.set(
                "__sleep",
                Function::new(ctx.clone(), |ms: f64| {
                    std::thread::sleep(Duration::from_millis(ms.max(0.0) as u64))
                })?,
            )?;
            globals.set(
                "__read",
                Function::new(ctx.clone(), |path: String| -> rquickjs::Result<String> {
                    std::fs::read_to_string(&path).map_err(|e| {
                        rquickjs::Error::new_from_js_message(
                            "file",
                            "script",
                            format!("{path}: {e}"),
                        )
                    })
                })?,
            )?;
            ctx.eval::<(), _>(WEB3).catch(&ctx).map_err(|e| eyre::eyre!("console setup: {e}"))?;
            Ok(())
        })?;
        Ok(Self { runtime, context })
    }

    /// Evaluates `source`, then runs timers and jobs until none is pending; answers the value
    /// shown as geth's console shows it, or the error's message.
    pub fn eval(&self, source: &str) -> Result<String, String> {
        let shown = self.context.with(|ctx| {
            let value = ctx
                .eval::<rquickjs::Value<'_>, _>(source)
                .catch(&ctx)
                .map_err(|e| message(&e.to_string()))?;
            let show: Function<'_> = ctx.globals().get("__show").map_err(|e| e.to_string())?;
            show.call::<_, String>((value,)).catch(&ctx).map_err(|e| message(&e.to_string()))
        });
        self.settle()?;
        shown
    }

    /// Runs promise jobs and due timers until nothing is left.
    fn settle(&self) -> Result<(), String> {
        loop {
            while self.runtime.is_job_pending() {
                self.runtime.execute_pending_job().map_err(|e| format!("{e:?}"))?;
            }
            let wait = self.context.with(|ctx| {
                let run: Function<'_> =
                    ctx.globals().get("__runTimers").map_err(|e| e.to_string())?;
                run.call::<_, f64>(()).catch(&ctx).map_err(|e| e.to_string())
            })?;
            if wait < 0.0 && !self.runtime.is_job_pending() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(wait.max(0.0) as u64));
        }
    }
}

/// `veil attach`: loads `preload`, then evaluates `exec` and prints its value, or, without
/// `exec`, reads lines from standard input (a plain REPL: one statement per line; `exit` or
/// end of input leaves).
pub fn attach(
    endpoint: &Endpoint,
    exec: Option<&str>,
    preload: &[std::path::PathBuf],
) -> eyre::Result<()> {
    use std::io::{BufRead, Write};
    let console = Console::attach(endpoint)?;
    for file in preload {
        console
            .eval(&format!("loadScript({})", serde_json::to_string(&file.display().to_string())?))
            .map_err(|e| eyre::eyre!("{}: {e}", file.display()))?;
    }
    if let Some(source) = exec {
        let shown = console.eval(source).map_err(|e| eyre::eyre!(e))?;
        println!("{shown}");
        return Ok(());
    }
    println!("Welcome to the Veil JavaScript console!\n");
    println!(" modules: admin debug eth net personal raft txpool web3\n");
    println!("To exit, press ctrl-d or type exit");
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        print!("> ");
        std::io::stdout().flush()?;
        let Some(line) = lines.next().transpose()? else { break };
        let line = line.trim();
        if line == "exit" {
            break;
        }
        if line.is_empty() {
            continue;
        }
        match console.eval(line) {
            Ok(shown) => println!("{shown}"),
            Err(error) => println!("{error}"),
        }
    }
    Ok(())
}
