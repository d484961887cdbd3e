//! ABI coding for the console's contract objects, through alloy's dyn-abi: arguments arrive
//! as JSON (numbers, strings, arrays) and are coerced to the ABI types; results go back as JSON.

use alloy_dyn_abi::{DynSolType, DynSolValue, FunctionExt, JsonAbiExt};
use alloy_json_abi::JsonAbi;
use serde_json::Value;

fn parse_abi(abi: &str) -> Result<JsonAbi, String> {
    serde_json::from_str(abi).map_err(|e| format!("invalid ABI: {e}"))
}

fn argument(kind: &str, value: &Value) -> Result<DynSolValue, String> {
    let ty = DynSolType::parse(kind).map_err(|e| e.to_string())?;
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    ty.coerce_str(&text).map_err(|e| format!("argument {text} for {kind}: {e}"))
}

fn arguments(params: &[alloy_json_abi::Param], args: &Value) -> Result<Vec<DynSolValue>, String> {
    let args = args.as_array().cloned().unwrap_or_default();
    if args.len() != params.len() {
        return Err(format!("expected {} arguments, got {}", params.len(), args.len()));
    }
    params.iter().zip(&args).map(|(p, a)| argument(&p.selector_type(), a)).collect()
}

/// Constructor arguments, ABI-encoded (hex without 0x), to append to the bytecode.
pub(crate) fn encode_constructor(abi: &str, args: &str) -> Result<String, String> {
    let abi = parse_abi(abi)?;
    let args: Value = serde_json::from_str(args).map_err(|e| e.to_string())?;
    let Some(constructor) = abi.constructor() else {
        return if args.as_array().is_none_or(Vec::is_empty) {
            Ok(String::new())
        } else {
            Err("the ABI has no constructor taking arguments".into())
        };
    };
    let values = arguments(&constructor.inputs, &args)?;
    let encoded = constructor.abi_encode_input(&values).map_err(|e| e.to_string())?;
    Ok(alloy_primitives::hex::encode(encoded))
}

/// A call of `name` with `args` (JSON array): selector and arguments, 0x-hex.
pub(crate) fn encode_call(abi: &str, name: &str, args: &str) -> Result<String, String> {
    let abi = parse_abi(abi)?;
    let args: Value = serde_json::from_str(args).map_err(|e| e.to_string())?;
    let count = args.as_array().map_or(0, Vec::len);
    let function = abi
        .function(name)
        .and_then(|fs| fs.iter().find(|f| f.inputs.len() == count))
        .ok_or_else(|| format!("no function {name} taking {count} arguments"))?;
    let values = arguments(&function.inputs, &args)?;
    let encoded = function.abi_encode_input(&values).map_err(|e| e.to_string())?;
    Ok(format!("0x{}", alloy_primitives::hex::encode(encoded)))
}

fn json(value: DynSolValue) -> Value {
    match value {
        DynSolValue::Bool(b) => Value::Bool(b),
        DynSolValue::Uint(u, _) => match u64::try_from(u) {
            Ok(small) if small <= (1 << 53) => Value::from(small),
            _ => Value::String(u.to_string()),
        },
        DynSolValue::Int(i, _) => match i64::try_from(i) {
            Ok(small) if small.unsigned_abs() <= (1 << 53) => Value::from(small),
            _ => Value::String(i.to_string()),
        },
        DynSolValue::Address(a) => Value::String(a.to_checksum(None)),
        DynSolValue::String(s) => Value::String(s),
        DynSolValue::Bytes(b) => Value::String(format!("0x{}", alloy_primitives::hex::encode(b))),
        DynSolValue::FixedBytes(w, size) => {
            Value::String(format!("0x{}", alloy_primitives::hex::encode(&w[..size])))
        }
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) | DynSolValue::Tuple(items) => {
            Value::Array(items.into_iter().map(json).collect())
        }
        other => Value::String(format!("{other:?}")),
    }
}

/// The outputs of `name` decoded from `data` (0x-hex): one value, or an array of several.
pub(crate) fn decode_output(abi: &str, name: &str, data: &str) -> Result<String, String> {
    let abi = parse_abi(abi)?;
    let function = abi
        .function(name)
        .and_then(|fs| fs.first())
        .ok_or_else(|| format!("no function {name}"))?;
    let mut bytes = alloy_primitives::hex::decode(data).map_err(|e| e.to_string())?;
    if bytes.is_empty() {
        // No code at the address (a private contract on a node that is not a party): zero
        // values, as web3 0.20 shows them.
        bytes = vec![0; 64 * function.outputs.len()];
    }
    let mut values = function.abi_decode_output(&bytes).map_err(|e| e.to_string())?;
    let value = if values.len() == 1 {
        json(values.remove(0))
    } else {
        Value::Array(values.into_iter().map(json).collect())
    };
    Ok(value.to_string())
}
