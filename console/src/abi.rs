//! ABI coding for the console's contract objects, through alloy's dyn-abi: arguments arrive
//! as JSON (numbers, strings, arrays) and are coerced to the ABI types; results go back as JSON
//! with integers as decimal strings (the JavaScript side makes BigNumbers of them).

use alloy_dyn_abi::{DynSolType, DynSolValue, EventExt, FunctionExt, JsonAbiExt};
use alloy_json_abi::{Event, JsonAbi};
use alloy_primitives::{hex, keccak256, B256};
use serde_json::{json, Value};

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

fn event<'a>(abi: &'a JsonAbi, name: &str) -> Result<&'a Event, String> {
    abi.event(name).and_then(|events| events.first()).ok_or_else(|| format!("no event {name}"))
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
    Ok(hex::encode(encoded))
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
    Ok(hex::encode_prefixed(encoded))
}

fn json(value: DynSolValue) -> Value {
    match value {
        DynSolValue::Bool(b) => Value::Bool(b),
        DynSolValue::Uint(u, _) => Value::String(u.to_string()),
        DynSolValue::Int(i, _) => Value::String(i.to_string()),
        DynSolValue::Address(a) => Value::String(a.to_checksum(None)),
        DynSolValue::String(s) => Value::String(s),
        DynSolValue::Bytes(b) => Value::String(hex::encode_prefixed(b)),
        DynSolValue::FixedBytes(w, size) => Value::String(hex::encode_prefixed(&w[..size])),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) | DynSolValue::Tuple(items) => {
            Value::Array(items.into_iter().map(json).collect())
        }
        other => Value::String(format!("{other:?}")),
    }
}

/// The outputs of `name` decoded from `data` (0x-hex), as a JSON array.
pub(crate) fn decode_output(abi: &str, name: &str, data: &str) -> Result<String, String> {
    let abi = parse_abi(abi)?;
    let function = abi
        .function(name)
        .and_then(|fs| fs.first())
        .ok_or_else(|| format!("no function {name}"))?;
    let mut bytes = hex::decode(data).map_err(|e| e.to_string())?;
    if bytes.is_empty() {
        // No code at the address (a private contract on a node that is not a party): zero
        // values, as web3 0.20 shows them.
        bytes = vec![0; 64 * function.outputs.len()];
    }
    let values = function.abi_decode_output(&bytes).map_err(|e| e.to_string())?;
    Ok(Value::Array(values.into_iter().map(json).collect()).to_string())
}

/// The topic an indexed argument is matched by: its word, or the keccak of a dynamic value.
fn topic(kind: &str, value: &Value) -> Result<Value, String> {
    let value = argument(kind, value)?;
    let word = value.as_word().unwrap_or_else(|| keccak256(value.abi_encode_packed()));
    Ok(Value::String(word.to_string()))
}

/// The topics of a filter on event `name`: its selector, then for each indexed input the value
/// `indexed` (a JSON object by input name) gives it — an array of values matches any — or null.
pub(crate) fn event_topics(abi: &str, name: &str, indexed: &str) -> Result<String, String> {
    let abi = parse_abi(abi)?;
    let event = event(&abi, name)?;
    let indexed: Value = serde_json::from_str(indexed).map_err(|e| e.to_string())?;
    let mut topics = vec![Value::String(event.selector().to_string())];
    for input in event.inputs.iter().filter(|i| i.indexed) {
        let kind = input.selector_type();
        topics.push(match indexed.get(&input.name) {
            None | Some(Value::Null) => Value::Null,
            Some(Value::Array(any)) if !kind.ends_with(']') => {
                Value::Array(any.iter().map(|v| topic(&kind, v)).collect::<Result<_, _>>()?)
            }
            Some(value) => topic(&kind, value)?,
        });
    }
    while topics.last() == Some(&Value::Null) {
        topics.pop();
    }
    Ok(Value::Array(topics).to_string())
}

/// A log (JSON, as the node gives it) decoded by the ABI event its first topic names:
/// `{"event", "inputs": [{"name", "type", "value"}]}`, or null when no event of the ABI matches.
pub(crate) fn decode_log(abi: &str, log: &str) -> Result<String, String> {
    let abi = parse_abi(abi)?;
    let log: Value = serde_json::from_str(log).map_err(|e| e.to_string())?;
    let topics: Vec<B256> = log["topics"]
        .as_array()
        .map(|topics| topics.iter().filter_map(|t| t.as_str()?.parse::<B256>().ok()).collect())
        .unwrap_or_default();
    let Some(event) = topics
        .first()
        .and_then(|first| abi.events().find(|e| !e.anonymous && e.selector() == *first))
    else {
        return Ok("null".into());
    };
    let data = hex::decode(log["data"].as_str().unwrap_or("0x")).map_err(|e| e.to_string())?;
    let decoded = event.decode_log_parts(topics, &data).map_err(|e| e.to_string())?;
    let (mut indexed, mut body) = (decoded.indexed.into_iter(), decoded.body.into_iter());
    let inputs: Vec<Value> = event
        .inputs
        .iter()
        .map(|input| {
            let value = if input.indexed { indexed.next() } else { body.next() };
            json!({
                "name": input.name,
                "type": input.selector_type(),
                "value": value.map_or(Value::Null, json),
            })
        })
        .collect();
    Ok(json!({ "event": event.name, "inputs": inputs }).to_string())
}
