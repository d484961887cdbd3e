//! QBFT's RPC in both clients' names: GoQuorum's `istanbul_*` and Besu's `qbft_*`, in their
//! shapes (`../shared/reference/qbft.md` §6). Block parameters take a tag, a hex quantity or a
//! plain number, as GoQuorum's documentation writes them. Validators *of* block N
//! (`qbft_getValidatorsByBlockNumber`) are those after block N − 1; `istanbul_getValidators`
//! answers those *after* N, as GoQuorum does.

use super::{
    error::{invalid_params, server_error},
    method,
    network::BftApi,
    Module, RpcContext,
};
use alloy_primitives::{Address, B256};
use jsonrpsee::{core::RegisterMethodError, types::ErrorObjectOwned};
use serde_json::{json, Value};
use std::{collections::BTreeMap, sync::Arc};
use veil_primitives::istanbul::{seal_hash, seal_signer, QbftExtra};

fn bft(context: &RpcContext) -> Result<&Arc<dyn BftApi>, ErrorObjectOwned> {
    context.bft.as_ref().ok_or_else(|| {
        server_error("QBFT is not the consensus of this node (its genesis has no qbft config)")
    })
}

/// A block parameter: `latest`/`pending`/`earliest`, a hex quantity or a JSON number; `None`
/// (absent) is the head.
fn block_number(context: &RpcContext, value: Option<Value>) -> Result<u64, ErrorObjectOwned> {
    let head = context.chain.head().1.number;
    let number = match value {
        None | Some(Value::Null) => head,
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| invalid_params("bad block number"))?,
        Some(Value::String(s)) => match s.as_str() {
            "latest" | "pending" | "safe" | "finalized" => head,
            "earliest" => 0,
            hex => u64::from_str_radix(hex.trim_start_matches("0x"), 16)
                .map_err(|_| invalid_params(format!("bad block number {hex:?}")))?,
        },
        Some(other) => return Err(invalid_params(format!("bad block number {other}"))),
    };
    if number > head && number != head + 1 {
        return Err(server_error(format!("block {number} is not known")));
    }
    Ok(number)
}

/// The validators of block `number` (for the block after the head: those after the head).
fn validators_of(context: &RpcContext, number: u64) -> Result<Vec<Address>, ErrorObjectOwned> {
    Ok(bft(context)?.validators_after(number.saturating_sub(1))?)
}

fn number_of_hash(context: &RpcContext, hash: B256) -> Result<Option<u64>, ErrorObjectOwned> {
    let store = context.chain.store();
    let header = store.header(hash).map_err(|e| server_error(e.to_string()))?;
    Ok(header
        .filter(|h| store.canonical_hash(h.number).ok().flatten() == Some(hash))
        .map(|h| h.number))
}

/// Who proposed each block of [`from`, `to`), by address.
fn proposers(
    context: &RpcContext,
    from: u64,
    to: u64,
) -> Result<BTreeMap<Address, (u64, u64)>, ErrorObjectOwned> {
    let store = context.chain.store();
    let mut counts: BTreeMap<Address, (u64, u64)> = BTreeMap::new();
    for number in from.max(1)..to {
        let Some(hash) = store.canonical_hash(number).map_err(|e| server_error(e.to_string()))?
        else {
            break;
        };
        if let Some(header) = store.header(hash).map_err(|e| server_error(e.to_string()))? {
            let entry = counts.entry(header.beneficiary).or_default();
            entry.0 += 1;
            entry.1 = number;
        }
    }
    Ok(counts)
}

/// `{Number, Hash, Author, Committers}` of a block, with GoQuorum's capitalised keys.
fn signers(context: &RpcContext, number: u64) -> Result<Value, ErrorObjectOwned> {
    let store = context.chain.store();
    let hash = store
        .canonical_hash(number)
        .map_err(|e| server_error(e.to_string()))?
        .ok_or_else(|| server_error(format!("block {number} is not known")))?;
    let header = store
        .header(hash)
        .map_err(|e| server_error(e.to_string()))?
        .ok_or_else(|| server_error(format!("block {number} is not known")))?;
    let extra = QbftExtra::decode(&header.extra_data).map_err(|e| server_error(e.to_string()))?;
    let sealed = seal_hash(&header, &extra, extra.round);
    let committers: Vec<Address> =
        extra.committed_seals.iter().filter_map(|seal| seal_signer(seal, sealed).ok()).collect();
    Ok(
        json!({ "Number": number, "Hash": hash, "Author": header.beneficiary, "Committers": committers }),
    )
}

/// `istanbul_*`, GoQuorum's names.
pub(super) fn istanbul_module(context: Arc<RpcContext>) -> Result<Module, RegisterMethodError> {
    let mut m = Module::from_arc(context);
    method(&mut m, "istanbul_getValidators", |c, a| {
        let number = block_number(c, a.at_most(1)?.optional(0)?)?;
        Ok(bft(c)?.validators_after(number)?)
    })?;
    method(&mut m, "istanbul_getValidatorsAtHash", |c, a| {
        let hash: B256 = a.at_most(1)?.required(0)?;
        let number = number_of_hash(c, hash)?.ok_or_else(|| server_error("unknown block"))?;
        Ok(bft(c)?.validators_after(number)?)
    })?;
    method(&mut m, "istanbul_candidates", |c, _| Ok(bft(c)?.pending_votes()))?;
    method(&mut m, "istanbul_propose", |c, a| {
        let args = a.at_most(2)?;
        bft(c)?.propose(args.required(0)?, args.required(1)?);
        Ok(Value::Null)
    })?;
    method(&mut m, "istanbul_discard", |c, a| {
        bft(c)?.discard(a.at_most(1)?.required(0)?);
        Ok(Value::Null)
    })?;
    method(&mut m, "istanbul_nodeAddress", |c, _| Ok(bft(c)?.view().address))?;
    method(&mut m, "istanbul_isValidator", |c, a| {
        let number = block_number(c, a.at_most(1)?.optional(0)?)?;
        let me = bft(c)?.view().address;
        Ok(bft(c)?.validators_after(number)?.contains(&me))
    })?;
    method(&mut m, "istanbul_getSignersFromBlock", |c, a| {
        let number = block_number(c, a.at_most(1)?.optional(0)?)?;
        signers(c, number)
    })?;
    method(&mut m, "istanbul_getSignersFromBlockByHash", |c, a| {
        let hash: B256 = a.at_most(1)?.required(0)?;
        let number = number_of_hash(c, hash)?.ok_or_else(|| server_error("unknown block"))?;
        signers(c, number)
    })?;
    method(&mut m, "istanbul_status", |c, a| {
        let args = a.at_most(2)?;
        let head = c.chain.head().1.number;
        let (start, end) = match (args.optional::<Value>(0)?, args.optional::<Value>(1)?) {
            (None, None) => (head.saturating_sub(64), head),
            (Some(start), Some(end)) => {
                (block_number(c, Some(start))?, block_number(c, Some(end))?)
            }
            _ => return Err(invalid_params("give both the start and the end block, or neither")),
        };
        if start > end {
            return Err(invalid_params("the start block is after the end block"));
        }
        bft(c)?;
        let activity: BTreeMap<Address, u64> =
            proposers(c, start, end)?.into_iter().map(|(a, (n, _))| (a, n)).collect();
        Ok(json!({ "numBlocks": end - start, "sealerActivity": activity }))
    })?;
    Ok(m)
}

/// `qbft_*`, Besu's names.
pub(super) fn qbft_module(context: Arc<RpcContext>) -> Result<Module, RegisterMethodError> {
    let mut m = Module::from_arc(context);
    method(&mut m, "qbft_getValidatorsByBlockNumber", |c, a| {
        let args = a.at_most(1)?;
        let pending =
            matches!(args.optional::<Value>(0)?, Some(Value::String(ref s)) if s == "pending");
        let number = block_number(c, args.optional(0)?)?;
        validators_of(c, if pending { number + 1 } else { number })
    })?;
    method(&mut m, "qbft_getValidatorsByBlockHash", |c, a| {
        let hash: B256 = a.at_most(1)?.required(0)?;
        match number_of_hash(c, hash)? {
            Some(number) => Ok(Some(validators_of(c, number)?)),
            None => Ok(None),
        }
    })?;
    method(&mut m, "qbft_getPendingVotes", |c, _| Ok(bft(c)?.pending_votes()))?;
    method(&mut m, "qbft_proposeValidatorVote", |c, a| {
        let args = a.at_most(2)?;
        bft(c)?.propose(args.required(0)?, args.required(1)?);
        Ok(true)
    })?;
    method(&mut m, "qbft_discardValidatorVote", |c, a| {
        bft(c)?.discard(a.at_most(1)?.required(0)?);
        Ok(true)
    })?;
    method(&mut m, "qbft_getSignerMetrics", |c, a| {
        let args = a.at_most(2)?;
        let head = c.chain.head().1.number;
        let from = match args.optional::<Value>(0)? {
            Some(v) => block_number(c, Some(v))?,
            None => head.saturating_sub(100),
        };
        let to = match args.optional::<Value>(1)? {
            Some(v) => block_number(c, Some(v))?.min(head + 1),
            None => head + 1,
        };
        let counts = proposers(c, from, to)?;
        let mut metrics: BTreeMap<Address, (u64, u64)> = counts;
        for validator in bft(c)?.validators_after(to.saturating_sub(1).min(head))? {
            metrics.entry(validator).or_default();
        }
        Ok(metrics
            .into_iter()
            .map(|(address, (count, last))| {
                json!({
                    "address": address,
                    "proposedBlockCount": format!("{count:#x}"),
                    "lastProposedBlockNumber": format!("{last:#x}"),
                })
            })
            .collect::<Vec<_>>())
    })?;
    // Veil's own: where this validator stands in the height being decided.
    method(&mut m, "qbft_getRoundStatus", |c, _| {
        let view = bft(c)?.view();
        let head = c.chain.head().1.number;
        let validator = bft(c)?.validators_after(head)?.contains(&view.address);
        Ok(match view.round {
            Some((height, round, proposer)) => json!({
                "address": view.address, "validator": validator,
                "height": height, "round": round, "proposer": proposer,
            }),
            None => json!({ "address": view.address, "validator": validator }),
        })
    })?;
    Ok(m)
}
