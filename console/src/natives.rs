//! The native functions the JavaScript side calls (named `__…`): one JSON-RPC call, printing,
//! ABI coding, keccak and checksums, sleeping, reading script files.

use crate::{abi, transport::Transport};
use rquickjs::{Ctx, Function};
use std::{
    cell::RefCell,
    rc::Rc,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

fn thrown(kind: &'static str) -> impl Fn(String) -> rquickjs::Error + Copy {
    move |message| rquickjs::Error::new_from_js_message(kind, "value", message)
}

/// Defines the natives on `ctx`'s globals. `interrupted` cuts a sleep short (Ctrl-C).
pub(crate) fn define(
    ctx: &Ctx<'_>,
    transport: Rc<RefCell<Transport>>,
    interrupted: Arc<AtomicBool>,
) -> rquickjs::Result<()> {
    let globals = ctx.globals();
    globals.set(
        "__rpc",
        Function::new(ctx.clone(), move |method: String, params: String| -> String {
            let params = serde_json::from_str(&params).unwrap_or_default();
            let answer = match transport.borrow_mut().call(&method, params) {
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
    let password_error = thrown("password");
    globals.set(
        "__readPassword",
        Function::new(ctx.clone(), move |prompt: String| {
            read_password(&prompt).map_err(password_error)
        })?,
    )?;
    let abi_error = thrown("abi");
    globals.set(
        "__abiConstructor",
        Function::new(ctx.clone(), move |abi: String, args: String| {
            abi::encode_constructor(&abi, &args).map_err(abi_error)
        })?,
    )?;
    globals.set(
        "__abiCall",
        Function::new(ctx.clone(), move |abi: String, name: String, args: String| {
            abi::encode_call(&abi, &name, &args).map_err(abi_error)
        })?,
    )?;
    globals.set(
        "__abiDecode",
        Function::new(ctx.clone(), move |abi: String, name: String, data: String| {
            abi::decode_output(&abi, &name, &data).map_err(abi_error)
        })?,
    )?;
    globals.set(
        "__abiEventTopics",
        Function::new(ctx.clone(), move |abi: String, name: String, indexed: String| {
            abi::event_topics(&abi, &name, &indexed).map_err(abi_error)
        })?,
    )?;
    globals.set(
        "__abiDecodeLog",
        Function::new(ctx.clone(), move |abi: String, log: String| {
            abi::decode_log(&abi, &log).map_err(abi_error)
        })?,
    )?;
    let hex_error = thrown("hex");
    globals.set(
        "__keccak",
        Function::new(ctx.clone(), move |hex: String| {
            alloy_primitives::hex::decode(&hex)
                .map(|bytes| alloy_primitives::keccak256(bytes).to_string())
                .map_err(|e| hex_error(format!("{hex}: {e}")))
        })?,
    )?;
    globals.set(
        "__checksum",
        Function::new(ctx.clone(), move |address: String| {
            address
                .parse::<alloy_primitives::Address>()
                .map(|a| a.to_checksum(None))
                .map_err(|e| hex_error(format!("{address} is not an address: {e}")))
        })?,
    )?;
    globals.set(
        "__sleep",
        Function::new(ctx.clone(), move |ms: f64| {
            let until = Instant::now() + Duration::from_millis(ms.max(0.0) as u64);
            while !interrupted.load(Ordering::SeqCst) {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                std::thread::sleep(left.min(Duration::from_millis(50)));
            }
        })?,
    )?;
    let file_error = thrown("file");
    globals.set(
        "__read",
        Function::new(ctx.clone(), move |path: String| {
            std::fs::read_to_string(&path).map_err(|e| file_error(format!("{path}: {e}")))
        })?,
    )?;
    Ok(())
}

/// A password as geth's console asks for one: on a terminal, prompted without echo; otherwise
/// one line of standard input (the prompt still printed), so scripts piped in can answer.
fn read_password(prompt: &str) -> Result<String, String> {
    use std::io::{BufRead, IsTerminal, Write};
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(prompt)
            .map_err(|e| format!("reading the passphrase: {e}"));
    }
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{prompt}");
    let _ = out.flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) => Err("no passphrase: standard input is closed".into()),
        Ok(_) => Ok(line.trim_end_matches(['\r', '\n']).to_string()),
        Err(e) => Err(format!("reading the passphrase: {e}")),
    }
}
