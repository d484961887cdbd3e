//! geth's tracers over one transaction of a simulation: the default struct logger and the
//! built-in `callTracer`, `prestateTracer` (with `diffMode`), `4byteTracer` and `noopTracer`,
//! all from revm-inspectors, and JavaScript tracers on QuickJS ([`super::js_tracer`]).

use super::{
    call::{simulation_error, CallSimulation},
    error::{internal_error, invalid_params, server_error},
    js_tracer::{self, JsTracer, TxContext},
    MethodResult,
};
use alloy_rpc_types_trace::geth::{
    FourByteFrame, GethDebugBuiltInTracerType as BuiltIn, GethDebugTracerType,
    GethDebugTracingOptions, GethTrace, NoopFrame,
};
use revm::context::TxEnv;
use revm_inspectors::tracing::{FourByteInspector, TracingInspector, TracingInspectorConfig};

/// Runs `env` on `simulation` under the tracer `options` name and returns its result. The
/// simulation's state is left as it was.
pub(super) fn trace(
    simulation: &mut CallSimulation,
    env: TxEnv,
    options: GethDebugTracingOptions,
) -> MethodResult<GethTrace> {
    let config_error = |tracer: &str, e: serde_json::Error| {
        invalid_params(format!("invalid {tracer} config: {e}"))
    };
    match options.tracer {
        None => {
            let config = TracingInspectorConfig::from_geth_config(&options.config);
            let (outcome, inspector) =
                simulation.inspect(env, TracingInspector::new(config)).map_err(simulation_error)?;
            let result = outcome.result;
            let output = result.output().cloned().unwrap_or_default();
            let frame = inspector.into_geth_builder().geth_traces(
                result.tx_gas_used(),
                output,
                options.config,
            );
            Ok(GethTrace::Default(frame))
        }
        Some(GethDebugTracerType::BuiltInTracer(BuiltIn::CallTracer)) => {
            let call_config = options
                .tracer_config
                .into_call_config()
                .map_err(|e| config_error("callTracer", e))?;
            let config = TracingInspectorConfig::from_geth_call_config(&call_config);
            let (outcome, inspector) =
                simulation.inspect(env, TracingInspector::new(config)).map_err(simulation_error)?;
            let frame = inspector
                .into_geth_builder()
                .geth_call_traces(call_config, outcome.result.tx_gas_used());
            Ok(GethTrace::CallTracer(frame))
        }
        Some(GethDebugTracerType::BuiltInTracer(BuiltIn::PreStateTracer)) => {
            let prestate_config = options
                .tracer_config
                .into_pre_state_config()
                .map_err(|e| config_error("prestateTracer", e))?;
            let config = TracingInspectorConfig::from_geth_prestate_config(&prestate_config);
            let (outcome, inspector) =
                simulation.inspect(env, TracingInspector::new(config)).map_err(simulation_error)?;
            // The simulation's view still holds the state before the transaction.
            let frame = inspector
                .into_geth_builder()
                .geth_prestate_traces(&outcome, &prestate_config, &*simulation.db_mut())
                .map_err(internal_error)?;
            Ok(GethTrace::PreStateTracer(frame))
        }
        Some(GethDebugTracerType::BuiltInTracer(BuiltIn::FourByteTracer)) => {
            let (_, inspector) =
                simulation.inspect(env, FourByteInspector::default()).map_err(simulation_error)?;
            Ok(GethTrace::FourByteTracer(FourByteFrame::from(&inspector)))
        }
        Some(GethDebugTracerType::BuiltInTracer(BuiltIn::NoopTracer)) => {
            simulation.run(env).map_err(simulation_error)?;
            Ok(GethTrace::NoopTracer(NoopFrame::default()))
        }
        Some(GethDebugTracerType::JsTracer(code)) => {
            let timeout = match options.timeout.as_deref() {
                None => js_tracer::DEFAULT_TIMEOUT,
                Some(text) => parse_duration(text)
                    .ok_or_else(|| invalid_params(format!("invalid timeout {text:?}")))?,
            };
            let config = serde_json::to_value(&options.tracer_config).unwrap_or_default();
            let tracer = JsTracer::new(&code, &config, simulation.spec(), timeout)
                .map_err(|e| invalid_params(format!("invalid tracer: {e}")))?;
            let tx = tx_context(simulation, &env);
            let (outcome, tracer) = simulation.inspect(env, tracer).map_err(simulation_error)?;
            let value = tracer
                .finish(&tx, &outcome.result, &outcome.state, &*simulation.db_mut())
                .map_err(server_error)?;
            Ok(GethTrace::JS(value))
        }
        Some(other) => Err(invalid_params(format!(
            "tracer {other:?} is not supported; use callTracer, prestateTracer, 4byteTracer, \
             noopTracer or the default struct logger"
        ))),
    }
}

/// geth's duration syntax for `timeout` ("300ms", "5s", "1m", "1.5s").
fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit {
        "ns" => number / 1e9,
        "us" | "µs" => number / 1e6,
        "ms" => number / 1e3,
        "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => return None,
    };
    (seconds.is_finite() && seconds >= 0.0).then(|| std::time::Duration::from_secs_f64(seconds))
}

/// The top-level call as a JavaScript tracer's `result(ctx)` sees it.
fn tx_context(simulation: &CallSimulation, env: &TxEnv) -> TxContext {
    let block = simulation.block_env();
    let base_fee = u128::from(block.basefee);
    let gas_price = match env.gas_priority_fee {
        Some(tip) => env.gas_price.min(base_fee + tip),
        None => env.gas_price,
    };
    let initial = revm::context_interface::cfg::gas::calculate_initial_tx_gas_for_tx(
        env.clone(),
        simulation.spec(),
        None,
    );
    let (kind, to) = match env.kind {
        revm::primitives::TxKind::Call(to) => ("CALL", to),
        revm::primitives::TxKind::Create => ("CREATE", env.caller.create(env.nonce)),
    };
    TxContext {
        kind,
        from: env.caller,
        to,
        input: env.data.clone(),
        gas: env.gas_limit,
        gas_price,
        intrinsic_gas: initial.initial_regular_gas + initial.initial_state_gas,
        value: env.value,
        block: block.number.saturating_to(),
    }
}
