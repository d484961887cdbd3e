//! The natives behind `prelude.js`'s objects, on `__veil`: the step's copy, the frame of
//! `enter`/`exit`, the lent state for `db`, and address helpers. Out-of-range reads throw as
//! geth's do.

use super::Shared;
use alloy_primitives::{hex, Address, B256, U256};
use revm::bytecode::OpCode;
use rquickjs::{Ctx, Function, Object};
use std::rc::Rc;

fn thrown(message: impl Into<String>) -> rquickjs::Error {
    rquickjs::Error::new_from_js_message("native", "value", message.into())
}

fn parse_address(text: &str) -> rquickjs::Result<Address> {
    text.parse().map_err(|_| thrown(format!("not an address: {text}")))
}

pub(super) fn word(value: U256) -> String {
    format!("{value:#x}")
}

/// Defines the natives on `__veil`.
pub(super) fn define(ctx: &Ctx<'_>, shared: &Rc<Shared>) -> rquickjs::Result<()> {
    let veil = Object::new(ctx.clone())?;
    macro_rules! step_field {
        ($name:literal, |$step:ident| $body:expr) => {{
            let shared = shared.clone();
            veil.set(
                $name,
                Function::new(ctx.clone(), move || {
                    let $step = shared.step.borrow();
                    $body
                })?,
            )?;
        }};
    }
    macro_rules! frame_field {
        ($name:literal, |$frame:ident| $body:expr) => {{
            let shared = shared.clone();
            veil.set(
                $name,
                Function::new(ctx.clone(), move || {
                    let $frame = shared.frame.borrow();
                    $body
                })?,
            )?;
        }};
    }
    step_field!("op", |s| s.op);
    step_field!("opName", |s| OpCode::new(s.op)
        .map_or_else(|| format!("opcode {:#x} not defined", s.op), |o| o.as_str().to_string()));
    step_field!("pc", |s| s.pc as u64);
    step_field!("gas", |s| s.gas);
    step_field!("cost", |s| s.cost);
    step_field!("depth", |s| s.depth as u64);
    step_field!("refund", |s| s.refund.max(0) as u64);
    step_field!("error", |s| s.error.clone());
    step_field!("stackLength", |s| s.stack.len() as u64);
    step_field!("memoryLength", |s| s.memory.len() as u64);
    step_field!("caller", |s| format!("{:#x}", s.caller));
    step_field!("address", |s| format!("{:#x}", s.address));
    step_field!("value", |s| word(s.value));
    step_field!("input", |s| hex::encode_prefixed(&s.input));
    {
        let shared = shared.clone();
        veil.set(
            "stackPeek",
            Function::new(ctx.clone(), move |index: i64| -> rquickjs::Result<String> {
                let step = shared.step.borrow();
                let len = step.stack.len() as i64;
                if index < 0 || index >= len {
                    return Err(thrown(format!(
                        "tracer accessed out of bound stack: size {len}, index {index}"
                    )));
                }
                Ok(word(step.stack[(len - 1 - index) as usize]))
            })?,
        )?;
    }
    {
        let shared = shared.clone();
        veil.set(
            "memorySlice",
            Function::new(ctx.clone(), move |begin: i64, end: i64| -> rquickjs::Result<String> {
                let step = shared.step.borrow();
                let len = step.memory.len() as i64;
                if begin < 0 || end < begin || end > len {
                    return Err(thrown(format!(
                        "tracer accessed out of bound memory: available {len}, offset {begin}, size {}",
                        end - begin
                    )));
                }
                Ok(hex::encode_prefixed(&step.memory[begin as usize..end as usize]))
            })?,
        )?;
    }
    {
        let shared = shared.clone();
        veil.set(
            "memoryWord",
            Function::new(ctx.clone(), move |offset: i64| -> rquickjs::Result<String> {
                let step = shared.step.borrow();
                let len = step.memory.len() as i64;
                if offset < 0 || offset + 32 > len {
                    return Err(thrown(format!(
                        "tracer accessed out of bound memory: available {len}, offset {offset}, size 32"
                    )));
                }
                let at = offset as usize;
                Ok(word(U256::from_be_slice(&step.memory[at..at + 32])))
            })?,
        )?;
    }
    frame_field!("frameType", |f| f.kind.to_string());
    frame_field!("frameFrom", |f| format!("{:#x}", f.from));
    frame_field!("frameTo", |f| format!("{:#x}", f.to));
    frame_field!("frameInput", |f| hex::encode_prefixed(&f.input));
    frame_field!("frameGas", |f| f.gas);
    frame_field!("frameValue", |f| f.value.map(word));
    frame_field!("exitGasUsed", |f| f.gas_used);
    frame_field!("exitOutput", |f| hex::encode_prefixed(&f.output));
    frame_field!("exitError", |f| f.error.clone());
    let outside = || thrown("db is only available inside a tracer hook");
    {
        let shared = shared.clone();
        veil.set(
            "balance",
            Function::new(ctx.clone(), move |address: String| -> rquickjs::Result<String> {
                let address = parse_address(&address)?;
                let account = shared.state.with(|s| s.account(address)).ok_or_else(outside)?;
                Ok(word(account.map_or(U256::ZERO, |a| a.balance)))
            })?,
        )?;
    }
    {
        let shared = shared.clone();
        veil.set(
            "nonce",
            Function::new(ctx.clone(), move |address: String| -> rquickjs::Result<u64> {
                let address = parse_address(&address)?;
                let account = shared.state.with(|s| s.account(address)).ok_or_else(outside)?;
                Ok(account.map_or(0, |a| a.nonce))
            })?,
        )?;
    }
    {
        let shared = shared.clone();
        veil.set(
            "code",
            Function::new(ctx.clone(), move |address: String| -> rquickjs::Result<String> {
                let address = parse_address(&address)?;
                let account = shared.state.with(|s| s.account(address)).ok_or_else(outside)?;
                Ok(hex::encode_prefixed(account.map(|a| a.code).unwrap_or_default()))
            })?,
        )?;
    }
    {
        let shared = shared.clone();
        veil.set(
            "exists",
            Function::new(ctx.clone(), move |address: String| -> rquickjs::Result<bool> {
                let address = parse_address(&address)?;
                let account = shared.state.with(|s| s.account(address)).ok_or_else(outside)?;
                Ok(account.is_some())
            })?,
        )?;
    }
    {
        let shared = shared.clone();
        veil.set(
            "storage",
            Function::new(
                ctx.clone(),
                move |address: String, slot: String| -> rquickjs::Result<String> {
                    let address = parse_address(&address)?;
                    let slot: B256 =
                        slot.parse().map_err(|_| thrown(format!("not a 32-byte slot: {slot}")))?;
                    let value = shared
                        .state
                        .with(|s| s.storage(address, U256::from_be_bytes(slot.0)))
                        .ok_or_else(outside)?;
                    Ok(hex::encode_prefixed(B256::from(value)))
                },
            )?,
        )?;
    }
    {
        let shared = shared.clone();
        veil.set(
            "isPrecompiled",
            Function::new(ctx.clone(), move |address: String| -> rquickjs::Result<bool> {
                Ok(shared.precompiles.contains(&parse_address(&address)?))
            })?,
        )?;
    }
    veil.set(
        "createAddress",
        Function::new(ctx.clone(), |from: String, nonce: f64| -> rquickjs::Result<String> {
            Ok(format!("{:#x}", parse_address(&from)?.create(nonce as u64)))
        })?,
    )?;
    veil.set(
        "create2Address",
        Function::new(
            ctx.clone(),
            |from: String, salt: String, code: String| -> rquickjs::Result<String> {
                let salt: B256 =
                    salt.parse().map_err(|_| thrown(format!("not a 32-byte salt: {salt}")))?;
                let code = hex::decode(&code).map_err(|_| thrown("init code is not hex"))?;
                Ok(format!("{:#x}", parse_address(&from)?.create2_from_code(salt, code)))
            },
        )?,
    )?;
    ctx.globals().set("__veil", veil)
}
