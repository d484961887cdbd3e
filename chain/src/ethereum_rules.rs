//! Ethereum's own header rules and block reward, for chains whose genesis names `ethash` (proof
//! of work, then the beacon chain from Paris): what geth's ethash and beacon engines check with
//! the seal left out (ethereum/tests' `NoProof`). Veil's own chains (Raft, dev) have no `ethash`
//! and none of these rules: their blocks share timestamps, carry seals in `extraData` and pay
//! no reward. `veil evm blocktest` imports Ethereum's fixtures through them.

use alloy_consensus::{constants::EMPTY_OMMER_ROOT_HASH, Header};
use alloy_primitives::{B64, U256};
use veil_config::{ChainSpec, Hardfork};

/// Largest `extraData` (geth's `MaximumExtraDataSize`).
const MAX_EXTRA_DATA: usize = 32;
/// Smallest gas limit.
const MIN_GAS_LIMIT: u64 = 5_000;
/// Largest gas limit (2^63 - 1).
const MAX_GAS_LIMIT: u64 = 0x7fff_ffff_ffff_ffff;
/// A block may move the gas limit by less than 1/1024 of its parent's.
const GAS_LIMIT_BOUND_DIVISOR: u64 = 1024;
/// Smallest difficulty.
const MIN_DIFFICULTY: u64 = 131_072;
const ETHER: u128 = 1_000_000_000_000_000_000;

/// Whether `spec` runs Ethereum's own rules.
pub(crate) fn applies(spec: &ChainSpec) -> bool {
    spec.genesis().config.ethash.is_some()
}

/// Checks `header` against its parent under Ethereum's rules; the reason when it breaks one.
pub(crate) fn check_header(
    spec: &ChainSpec,
    header: &Header,
    parent: &Header,
) -> Result<(), String> {
    let fork = spec.hardfork_at(header.number, header.timestamp);
    if header.extra_data.len() > MAX_EXTRA_DATA {
        return Err(format!(
            "extra data is {} bytes, more than {MAX_EXTRA_DATA}",
            header.extra_data.len()
        ));
    }
    if header.timestamp <= parent.timestamp {
        return Err(format!(
            "timestamp {} is not after its parent's {}",
            header.timestamp, parent.timestamp
        ));
    }
    check_gas_limit(spec, header, parent)?;
    if header.ommers_hash != EMPTY_OMMER_ROOT_HASH {
        return Err(if fork >= Hardfork::Paris {
            "uncles after the merge".into()
        } else {
            "uncles are not supported: Veil imports blocks without them".into()
        });
    }
    if fork >= Hardfork::Paris {
        if !header.difficulty.is_zero() {
            return Err(format!("difficulty {} after the merge, must be 0", header.difficulty));
        }
        if header.nonce != B64::ZERO {
            return Err("nonce after the merge must be 0".into());
        }
    } else {
        let expected = difficulty(spec, header, parent);
        if header.difficulty != expected {
            return Err(format!("difficulty {}, expected {expected}", header.difficulty));
        }
    }
    Ok(())
}

fn check_gas_limit(spec: &ChainSpec, header: &Header, parent: &Header) -> Result<(), String> {
    let limit = header.gas_limit;
    if limit > MAX_GAS_LIMIT {
        return Err(format!("gas limit {limit} is above {MAX_GAS_LIMIT}"));
    }
    if limit < MIN_GAS_LIMIT {
        return Err(format!("gas limit {limit} is below {MIN_GAS_LIMIT}"));
    }
    // At London's first block the target moves to half the limit: the parent's limit doubles.
    let london = |h: &Header| spec.hardfork_at(h.number, h.timestamp) >= Hardfork::London;
    let parent_limit = if london(header) && !london(parent) {
        parent.gas_limit.saturating_mul(2)
    } else {
        parent.gas_limit
    };
    if limit.abs_diff(parent_limit) >= parent_limit / GAS_LIMIT_BOUND_DIVISOR {
        return Err(format!(
            "gas limit {limit} moves too far from its parent's {parent_limit} (by 1/{GAS_LIMIT_BOUND_DIVISOR} at most)"
        ));
    }
    Ok(())
}

/// Ethash's difficulty for `header` after `parent`: Frontier's, Homestead's (EIP-2) or
/// Byzantium's (EIP-100) adjustment, and the difficulty bomb with its delays.
fn difficulty(spec: &ChainSpec, header: &Header, parent: &Header) -> U256 {
    let fork = spec.hardfork_at(header.number, header.timestamp);
    let elapsed = header.timestamp - parent.timestamp;
    let step = parent.difficulty / U256::from(2048);
    let adjustment: i64 = if fork >= Hardfork::Byzantium {
        let uncles = if parent.ommers_hash == EMPTY_OMMER_ROOT_HASH { 1 } else { 2 };
        (uncles - (elapsed / 9) as i64).max(-99)
    } else if fork >= Hardfork::Homestead {
        (1 - (elapsed / 10) as i64).max(-99)
    } else if elapsed < 13 {
        1
    } else {
        -1
    };
    let mut value = if adjustment >= 0 {
        parent.difficulty + step * U256::from(adjustment as u64)
    } else {
        parent.difficulty.saturating_sub(step * U256::from(adjustment.unsigned_abs()))
    };
    value = value.max(U256::from(MIN_DIFFICULTY));
    let delay = match fork {
        f if f >= Hardfork::GrayGlacier => 11_400_000,
        Hardfork::ArrowGlacier => 10_700_000,
        Hardfork::London => 9_700_000,
        Hardfork::MuirGlacier | Hardfork::Berlin => 9_000_000,
        Hardfork::Constantinople | Hardfork::Petersburg | Hardfork::Istanbul => 5_000_000,
        Hardfork::Byzantium => 3_000_000,
        _ => 0,
    };
    let periods = header.number.saturating_sub(delay) / 100_000;
    if periods > 1 {
        value += U256::from(1) << (periods - 2);
    }
    value
}

/// The proof-of-work block reward of block `number` at `timestamp` under `spec`, before Paris.
pub(crate) fn block_reward(spec: &ChainSpec, number: u64, timestamp: u64) -> Option<u128> {
    if !applies(spec) {
        return None;
    }
    match spec.hardfork_at(number, timestamp) {
        f if f >= Hardfork::Paris => None,
        f if f >= Hardfork::Constantinople => Some(2 * ETHER),
        f if f >= Hardfork::Byzantium => Some(3 * ETHER),
        _ => Some(5 * ETHER),
    }
}
