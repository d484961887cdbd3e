//! `--dev`: a throw-away chain with well-known funded accounts, like geth's and anvil's.
//!
//! THE DEV KEYS ARE PUBLIC (keccak256 of "veil dev account N"). Never use them for anything
//! of value.

use alloy_primitives::{keccak256, Address};
use veil_config::ChainSpec;

/// Chain id of dev chains (geth's `--dev` uses 1337).
pub const DEV_CHAIN_ID: u64 = 1337;
/// How many dev accounts are funded.
pub const DEV_ACCOUNTS: usize = 10;

/// The secret key of dev account `index`.
pub fn dev_key(index: usize) -> secp256k1::SecretKey {
    let seed = keccak256(format!("veil dev account {index}"));
    secp256k1::SecretKey::from_slice(seed.as_slice()).expect("the dev seeds hash to valid keys")
}

/// The dev accounts' addresses.
pub fn dev_addresses() -> Vec<Address> {
    (0..DEV_ACCOUNTS).map(|i| veil_primitives::address_of(&dev_key(i))).collect()
}

/// The dev chain: a gas-free Quorum-style chain with every fork through the newest Veil runs
/// ([`veil_config::NEWEST_FORK`]) from genesis, so contracts compiled for solc's default
/// target deploy, and the dev accounts holding 10^9 ether each.
pub fn dev_chain_spec() -> ChainSpec {
    let mut config = veil_config::genesis_fork_schedule(veil_config::NEWEST_FORK);
    config.insert("chainId".into(), DEV_CHAIN_ID.into());
    config.insert("isQuorum".into(), true.into());
    let mut alloc = veil_config::genesis_system_contracts(veil_config::NEWEST_FORK);
    for address in dev_addresses() {
        alloc.insert(
            format!("{address:#x}"),
            serde_json::json!({ "balance": "0x33b2e3c9fd0803ce8000000" }),
        );
    }
    let genesis = serde_json::json!({
        "config": config,
        "alloc": alloc,
        "gasLimit": "0xE0000000",
        "difficulty": "0x0",
    });
    ChainSpec::from_json(&genesis.to_string())
        .unwrap_or_else(|e| panic!("dev chain spec is valid: {e}"))
}
