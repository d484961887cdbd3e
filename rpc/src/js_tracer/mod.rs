//! geth's JavaScript tracers (`"tracer": "{ step: function(log, db) {…}, result: … }"`, as
//! Blockscout's geth adapter sends them) on QuickJS, the engine the console embeds.
//!
//! The tracer object gets geth's hooks: `setup(config)`, `step(log, db)` before each opcode,
//! `fault(log, db)` when one fails, `enter(frame)` / `exit(result)` around inner calls, and
//! `result(ctx, db)`, whose value is the trace. The objects it is given (`prelude.js`) read
//! what they show through natives: the step's opcode, stack, memory and contract are copied
//! when it starts; `db` reads the live state through [`state::Lent`].
//!
//! Each trace runs in its own QuickJS runtime with a memory limit and a deadline (geth's
//! `timeout` option, 5 s by default); the first exception or the deadline ends the trace with
//! the error.

mod natives;
mod state;

use alloy_primitives::{Address, Bytes, U256};
use revm::{
    context::{ContextTr, JournalTr},
    interpreter::{
        instructions::gas_table_spec,
        interpreter_types::{InputsTr, Jumps, LoopControl, MemoryTr},
        CallInputs, CallOutcome, CallScheme, CallValue, CreateInputs, CreateOutcome, CreateScheme,
        Interpreter, InterpreterResult,
    },
    primitives::hardfork::SpecId,
    state::EvmState,
    Inspector,
};
use rquickjs::{CatchResultExt, Context, Runtime};
use state::{After, Lent, Live, StateView};
use std::{
    cell::RefCell,
    collections::HashSet,
    rc::Rc,
    time::{Duration, Instant},
};

/// The environment every tracer runs in.
const PRELUDE: &str = include_str!("prelude.js");
/// geth's default deadline for a trace.
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The most memory one tracer's runtime may hold.
const MEMORY_LIMIT: usize = 64 << 20;

/// What one step shows: copied when the step starts.
#[derive(Default)]
struct Step {
    op: u8,
    pc: usize,
    gas: u64,
    cost: u64,
    depth: usize,
    refund: i64,
    error: Option<String>,
    stack: Vec<U256>,
    memory: Vec<u8>,
    caller: Address,
    address: Address,
    value: U256,
    input: Bytes,
}

/// The call frame `enter` shows, or the outcome `exit` shows.
#[derive(Default)]
struct Frame {
    kind: &'static str,
    from: Address,
    to: Address,
    input: Bytes,
    gas: u64,
    value: Option<U256>,
    gas_used: u64,
    output: Bytes,
    error: Option<String>,
}

/// What the natives read.
#[derive(Default)]
struct Shared {
    step: RefCell<Step>,
    frame: RefCell<Frame>,
    state: Lent,
    precompiles: HashSet<Address>,
}

/// The top-level call as `result`'s `ctx` shows it.
pub(super) struct TxContext {
    /// "CALL" or "CREATE".
    pub(super) kind: &'static str,
    /// Sender.
    pub(super) from: Address,
    /// Callee, or the created contract.
    pub(super) to: Address,
    /// Calldata or init code.
    pub(super) input: Bytes,
    /// Gas limit.
    pub(super) gas: u64,
    /// Gas price paid per unit.
    pub(super) gas_price: u128,
    /// Intrinsic gas.
    pub(super) intrinsic_gas: u64,
    /// Value sent.
    pub(super) value: U256,
    /// Block number.
    pub(super) block: u64,
}

/// Which hooks the tracer defines.
#[derive(Clone, Copy, Default)]
struct Hooks {
    step: bool,
    fault: bool,
    enter: bool,
    exit: bool,
}

/// A JavaScript tracer, as a revm inspector.
pub(super) struct JsTracer {
    // Dropped in order: the context before its runtime.
    context: Context,
    _runtime: Runtime,
    shared: Rc<Shared>,
    hooks: Hooks,
    gas_table: [u16; 256],
    /// Frames open (1 inside the top-level call).
    depth: usize,
    /// Where the memory copy in `shared.step` was taken: depth and size, and whether the last
    /// opcode may have written memory since.
    memory_taken: Option<(usize, usize)>,
    memory_dirty: bool,
    /// Inputs of open frames, for `log.contract.getInput()`.
    inputs: Vec<Bytes>,
    deadline: Instant,
    started: Instant,
    /// The first error: the trace's outcome.
    failure: Option<String>,
}

fn caught(error: rquickjs::CaughtError<'_>) -> String {
    match error {
        rquickjs::CaughtError::Exception(e) => {
            let name: String = e.get("name").unwrap_or_else(|_| "Error".into());
            let mut text = format!("{name}: {}", e.message().unwrap_or_default());
            if let Some(stack) = e.stack().filter(|s| !s.is_empty()) {
                text.push_str(&format!("    at {}", stack.trim()));
            }
            text
        }
        rquickjs::CaughtError::Value(value) => format!("{value:?}"),
        rquickjs::CaughtError::Error(e) => e.to_string(),
    }
}

impl JsTracer {
    /// Compiles `code` (a JavaScript object expression) and runs its `setup` with `config`.
    pub(super) fn new(
        code: &str,
        config: &serde_json::Value,
        spec: SpecId,
        timeout: Duration,
    ) -> Result<Self, String> {
        let runtime = Runtime::new().map_err(|e| e.to_string())?;
        runtime.set_memory_limit(MEMORY_LIMIT);
        let started = Instant::now();
        let deadline = started + timeout;
        runtime.set_interrupt_handler(Some(Box::new(move || Instant::now() > deadline)));
        let context = Context::full(&runtime).map_err(|e| e.to_string())?;
        let precompiles = revm::precompile::Precompiles::new(
            revm::precompile::PrecompileSpecId::from_spec_id(spec),
        )
        .addresses()
        .copied()
        .collect();
        let shared = Rc::new(Shared { precompiles, ..Default::default() });
        let hooks = context.with(|ctx| -> Result<Hooks, String> {
            natives::define(&ctx, &shared).map_err(|e| e.to_string())?;
            ctx.eval::<(), _>(PRELUDE).catch(&ctx).map_err(caught)?;
            let setup = format!(
                "globalThis.__tracer = ({code}\n);\n\
                 if (typeof __tracer !== 'object' || __tracer === null) throw new TypeError('the tracer is not an object');\n\
                 if (typeof __tracer.result !== 'function') throw new TypeError('trace object must expose a function result()');\n\
                 if (typeof __tracer.fault !== 'function') throw new TypeError('trace object must expose a function fault()');\n\
                 if (typeof __tracer.setup === 'function') __tracer.setup({config});"
            );
            ctx.eval::<(), _>(setup).catch(&ctx).map_err(caught)?;
            let defines = |name: &str| -> bool {
                ctx.eval::<bool, _>(format!("typeof __tracer.{name} === 'function'")).unwrap_or(false)
            };
            Ok(Hooks {
                step: defines("step"),
                fault: true,
                enter: defines("enter"),
                exit: defines("exit"),
            })
        })?;
        Ok(Self {
            context,
            _runtime: runtime,
            shared,
            hooks,
            gas_table: gas_table_spec(spec),
            depth: 0,
            memory_taken: None,
            memory_dirty: true,
            inputs: Vec::new(),
            deadline,
            started,
            failure: None,
        })
    }

    /// Calls tracer function `hook` with the named arguments, `db` reading `view`.
    fn call(&mut self, hook: &str, arguments: &str, view: &mut dyn StateView) {
        if self.failure.is_some() {
            return;
        }
        let shared = self.shared.clone();
        let outcome = shared.state.lend(view, || {
            self.context.with(|ctx| {
                ctx.eval::<(), _>(format!("__tracer.{hook}({arguments});"))
                    .catch(&ctx)
                    .map_err(caught)
            })
        });
        if let Err(error) = outcome {
            self.fail(error, hook);
        }
    }

    fn fail(&mut self, error: String, hook: &str) {
        self.failure = Some(if Instant::now() > self.deadline {
            "execution timeout".to_string()
        } else {
            format!("{error} in server-side tracer function '{hook}'")
        });
    }

    /// Runs `result(ctx, db)` over the finished transaction and returns its value as JSON.
    pub(super) fn finish<D: revm::database_interface::DatabaseRef>(
        mut self,
        tx: &TxContext,
        outcome: &revm::context_interface::result::ExecutionResult,
        changes: &EvmState,
        before: D,
    ) -> Result<serde_json::Value, String> {
        if let Some(failure) = self.failure.take() {
            return Err(failure);
        }
        let error = match outcome {
            revm::context_interface::result::ExecutionResult::Success { .. } => None,
            revm::context_interface::result::ExecutionResult::Revert { .. } => {
                Some("execution reverted".to_string())
            }
            revm::context_interface::result::ExecutionResult::Halt { reason, .. } => {
                Some(format!("{reason:?}"))
            }
        };
        let fields = serde_json::json!({
            "type": tx.kind,
            "from": tx.from,
            "to": tx.to,
            "input": tx.input,
            "gas": tx.gas,
            "gasUsed": outcome.tx_gas_used(),
            "gasPrice": tx.gas_price as f64,
            "intrinsicGas": tx.intrinsic_gas,
            "value": natives::word(tx.value),
            "block": tx.block,
            "output": outcome.output().cloned().unwrap_or_default(),
            "time": format!("{:?}", self.started.elapsed()),
            "error": error,
        });
        let mut view = After { changes, before };
        let shared = self.shared.clone();
        let result = shared.state.lend(&mut view, || {
            self.context.with(|ctx| {
                ctx.eval::<Option<String>, _>(format!(
                    "JSON.stringify(__tracer.result(__context({fields}), __db))"
                ))
                .catch(&ctx)
                .map_err(caught)
            })
        });
        match result {
            Ok(text) => Ok(text
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(serde_json::Value::Null)),
            Err(error) if Instant::now() > self.deadline => {
                let _ = error;
                Err("execution timeout".into())
            }
            Err(error) => Err(format!("{error} in server-side tracer function 'result'")),
        }
    }

    fn take_step(&mut self, interp: &Interpreter) {
        let mut step = self.shared.step.borrow_mut();
        step.op = interp.bytecode.opcode();
        step.pc = interp.bytecode.pc();
        step.gas = interp.gas.remaining();
        step.cost = u64::from(self.gas_table[step.op as usize]);
        step.depth = self.depth;
        step.refund = interp.gas.refunded();
        step.error = None;
        step.stack.clear();
        step.stack.extend_from_slice(interp.stack.data());
        let size = interp.memory.size();
        // Memory changes only through the opcodes that write it, sub-calls returning into it,
        // and growth; it is copied again after any of those, or in another frame.
        if self.memory_dirty || self.memory_taken != Some((self.depth, size)) {
            step.memory.clear();
            step.memory.extend_from_slice(&interp.memory.slice(0..size));
            self.memory_taken = Some((self.depth, size));
        }
        self.memory_dirty = matches!(
            step.op,
            0x37 | 0x39 | 0x3c | 0x3e | 0x52 | 0x53 | 0x5e | 0xf1 | 0xf2 | 0xf4 | 0xfa
        );
        step.caller = interp.input.caller_address();
        step.address = interp.input.target_address();
        step.value = interp.input.call_value();
        step.input = self.inputs.last().cloned().unwrap_or_default();
    }

    fn enter(&mut self, frame: Frame, context: &mut impl StateViewSource) {
        self.depth += 1;
        self.inputs.push(frame.input.clone());
        self.memory_dirty = true;
        if self.depth > 1 && self.hooks.enter {
            *self.shared.frame.borrow_mut() = frame;
            context.with_view(|view| self.call("enter", "__frame", view));
        }
    }

    fn exit(
        &mut self,
        gas_limit: u64,
        result: &InterpreterResult,
        context: &mut impl StateViewSource,
    ) {
        if self.depth > 1 && self.hooks.exit {
            {
                let mut frame = self.shared.frame.borrow_mut();
                frame.gas_used = gas_limit.saturating_sub(result.gas.remaining());
                frame.output = result.output.clone();
                frame.error = (!result.is_ok()).then(|| {
                    if result.is_revert() {
                        "execution reverted".to_string()
                    } else {
                        format!("{:?}", result.result)
                    }
                });
            }
            context.with_view(|view| self.call("exit", "__frameResult", view));
        }
        self.inputs.pop();
        self.depth = self.depth.saturating_sub(1);
        self.memory_dirty = true;
    }
}

/// An inspector context that can lend its state as a [`StateView`].
trait StateViewSource {
    fn with_view(&mut self, f: impl FnOnce(&mut dyn StateView));
}

impl<CTX> StateViewSource for CTX
where
    CTX: ContextTr<Journal: JournalTr<State = EvmState>>,
{
    fn with_view(&mut self, f: impl FnOnce(&mut dyn StateView)) {
        f(&mut Live(self))
    }
}

fn call_kind(scheme: CallScheme) -> &'static str {
    match scheme {
        CallScheme::Call => "CALL",
        CallScheme::CallCode => "CALLCODE",
        CallScheme::DelegateCall => "DELEGATECALL",
        CallScheme::StaticCall => "STATICCALL",
    }
}

impl<CTX> Inspector<CTX> for JsTracer
where
    CTX: ContextTr<Journal: JournalTr<State = EvmState>>,
{
    fn step(&mut self, interp: &mut Interpreter, context: &mut CTX) {
        if self.failure.is_some() {
            return;
        }
        self.take_step(interp);
        if self.hooks.step {
            context.with_view(|view| self.call("step", "__log, __db", view));
        }
    }

    fn step_end(&mut self, interp: &mut Interpreter, context: &mut CTX) {
        if self.failure.is_some() || !self.hooks.fault {
            return;
        }
        let failed = interp.bytecode.instruction_result().filter(|result| result.is_halt());
        if let Some(result) = failed {
            self.shared.step.borrow_mut().error = Some(format!("{result:?}"));
            context.with_view(|view| self.call("fault", "__log, __db", view));
        }
    }

    fn call(&mut self, context: &mut CTX, inputs: &mut CallInputs) -> Option<CallOutcome> {
        let value = match inputs.value {
            CallValue::Transfer(value) => Some(value),
            CallValue::Apparent(_) => None,
        };
        let frame = Frame {
            kind: call_kind(inputs.scheme),
            from: inputs.caller,
            to: inputs.bytecode_address,
            input: inputs.input.bytes(context),
            gas: inputs.gas_limit,
            value,
            ..Default::default()
        };
        self.enter(frame, context);
        None
    }

    fn call_end(&mut self, context: &mut CTX, inputs: &CallInputs, outcome: &mut CallOutcome) {
        self.exit(inputs.gas_limit, &outcome.result, context);
    }

    fn create(&mut self, context: &mut CTX, inputs: &mut CreateInputs) -> Option<CreateOutcome> {
        let nonce = context
            .journal_mut()
            .load_account(inputs.caller())
            .map(|account| account.info.nonce)
            .unwrap_or_default();
        let kind = match inputs.scheme() {
            CreateScheme::Create2 { .. } => "CREATE2",
            _ => "CREATE",
        };
        let frame = Frame {
            kind,
            from: inputs.caller(),
            to: inputs.created_address(nonce),
            input: inputs.init_code().clone(),
            gas: inputs.gas_limit(),
            value: Some(inputs.value()),
            ..Default::default()
        };
        self.enter(frame, context);
        None
    }

    fn create_end(
        &mut self,
        context: &mut CTX,
        inputs: &CreateInputs,
        outcome: &mut CreateOutcome,
    ) {
        self.exit(inputs.gas_limit(), &outcome.result, context);
    }
}
