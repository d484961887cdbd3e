//! The JavaScript engine of one console: QuickJS with geth's console objects (the scripts in
//! `js/`, run in one scope) over the natives of `natives.rs`.

use crate::{natives, transport::Transport, Endpoint};
use rquickjs::{context::EvalOptions, CatchResultExt, CaughtError, Context, Function, Runtime};
use std::{
    cell::RefCell,
    rc::Rc,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

/// The console's JavaScript, in the order it runs, in one function scope.
const SCRIPT: &str = concat!(
    "(function (global) {\n\"use strict\";\n",
    include_str!("../js/bignumber.js"),
    include_str!("../js/rpc.js"),
    include_str!("../js/filter.js"),
    include_str!("../js/contract.js"),
    include_str!("../js/web3.js"),
    include_str!("../js/pretty.js"),
    include_str!("../js/complete.js"),
    include_str!("../js/globals.js"),
    "})(globalThis);\n"
);

/// A thrown value as geth's console reports it: `ReferenceError: x is not defined` for errors
/// (their name and message, without the stack), the value itself for anything else thrown.
fn describe(caught: CaughtError<'_>) -> String {
    match caught {
        CaughtError::Exception(error) => {
            let name: String = error.get("name").unwrap_or_else(|_| "Error".into());
            format!("{name}: {}", error.message().unwrap_or_default())
        }
        CaughtError::Value(value) => match value.as_string().and_then(|s| s.to_string().ok()) {
            Some(text) => text,
            None => format!("{value:?}"),
        },
        CaughtError::Error(error) => error.to_string(),
    }
}

/// A console attached to one node.
pub struct Console {
    runtime: Runtime,
    context: Context,
    colored: bool,
    interrupted: Arc<AtomicBool>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console").field("colored", &self.colored).finish_non_exhaustive()
    }
}

impl Console {
    /// Attaches to `endpoint` and defines the console objects.
    pub fn attach(endpoint: &Endpoint) -> eyre::Result<Self> {
        let transport = Rc::new(RefCell::new(Transport::connect(endpoint)?));
        let interrupted = Arc::new(AtomicBool::new(false));
        let runtime = Runtime::new()?;
        let flag = interrupted.clone();
        runtime.set_interrupt_handler(Some(Box::new(move || flag.load(Ordering::SeqCst))));
        let context = Context::full(&runtime)?;
        context.with(|ctx| -> eyre::Result<()> {
            natives::define(&ctx, transport, interrupted.clone())?;
            ctx.eval::<(), _>(SCRIPT).catch(&ctx).map_err(|e| eyre::eyre!("console setup: {e}"))?;
            Ok(())
        })?;
        Ok(Self { runtime, context, colored: false, interrupted })
    }

    /// Shows values in geth's colours (for a terminal).
    pub fn with_colors(mut self, colored: bool) -> Self {
        self.colored = colored;
        self
    }

    /// The flag that, once set (by Ctrl-C), stops the running evaluation.
    pub fn interrupt_flag(&self) -> Arc<AtomicBool> {
        self.interrupted.clone()
    }

    /// Evaluates `source`, then runs timers and jobs until none is pending; answers the value
    /// shown as geth's console shows it, or the error's message.
    pub fn eval(&self, source: &str) -> Result<String, String> {
        let shown = self.eval_now(source);
        while let Some(wait) = self.run_due()? {
            std::thread::sleep(wait);
        }
        shown
    }

    /// Evaluates `source` and shows its value, leaving timers for [`Console::run_due`].
    pub fn eval_now(&self, source: &str) -> Result<String, String> {
        self.interrupted.store(false, Ordering::SeqCst);
        let shown = self.context.with(|ctx| {
            // Sloppy mode, as geth's console: scripts assign undeclared globals.
            let mut options = EvalOptions::default();
            options.strict = false;
            let value = ctx
                .eval_with_options::<rquickjs::Value<'_>, _>(source, options)
                .catch(&ctx)
                .map_err(describe)?;
            let show: Function<'_> = ctx.globals().get("__show").map_err(|e| e.to_string())?;
            show.call::<_, String>((value, self.colored)).catch(&ctx).map_err(describe)
        });
        if self.interrupted.swap(false, Ordering::SeqCst) {
            return Err("interrupted".into());
        }
        shown
    }

    /// Runs pending promise jobs and the timers that are due; answers how long until the next
    /// timer, or `None` when nothing is left.
    pub fn run_due(&self) -> Result<Option<Duration>, String> {
        while self.runtime.is_job_pending() {
            self.runtime.execute_pending_job().map_err(|e| format!("{e:?}"))?;
        }
        let wait = self.context.with(|ctx| {
            let run: Function<'_> = ctx.globals().get("__runTimers").map_err(|e| e.to_string())?;
            run.call::<_, f64>(()).catch(&ctx).map_err(|e| e.to_string())
        })?;
        Ok((wait >= 0.0 || self.runtime.is_job_pending())
            .then(|| Duration::from_millis(wait.max(0.0) as u64)))
    }

    /// Completions of the identifier path that ends `line`: whole lines, sorted.
    pub fn complete(&self, line: &str) -> Vec<String> {
        self.context.with(|ctx| {
            let complete: rquickjs::Result<Function<'_>> = ctx.globals().get("__complete");
            complete.and_then(|f| f.call::<_, Vec<String>>((line,))).unwrap_or_default()
        })
    }
}
