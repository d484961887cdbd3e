//! geth's tracers over one transaction of a simulation: the default struct logger and the
//! built-in `callTracer`, `prestateTracer` (with `diffMode`), `4byteTracer` and `noopTracer`,
//! all from revm-inspectors.

use super::{
    call::{simulation_error, CallSimulation},
    error::{internal_error, invalid_params},
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
        Some(GethDebugTracerType::JsTracer(_)) => Err(invalid_params(
            "JavaScript tracers are not supported yet; use callTracer, prestateTracer, \
             4byteTracer, noopTracer or the default struct logger",
        )),
        Some(other) => Err(invalid_params(format!(
            "tracer {other:?} is not supported; use callTracer, prestateTracer, 4byteTracer, \
             noopTracer or the default struct logger"
        ))),
    }
}
