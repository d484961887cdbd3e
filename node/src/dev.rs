//! `--dev`: a throw-away chain with well-known funded accounts, like geth's and anvil's.
//!
//! THE DEV KEYS ARE PUBLIC (keccak256 of "veil dev account N"). Never use them for anything
//! of value.

use alloy_genesis::{ChainConfig, Genesis, GenesisAccount};
use alloy_primitives::{keccak256, Address, U256};
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

/// The dev chain: a gas-free Quorum-style chain with every fork through London from genesis
/// and the dev accounts holding 10^9 ether each.
pub fn dev_chain_spec() -> ChainSpec {
    let mut config = ChainConfig {
        chain_id: DEV_CHAIN_ID,
        homestead_block: Some(0),
        eip150_block: Some(0),
        eip155_block: Some(0),
        eip158_block: Some(0),
        byzantium_block: Some(0),
        constantinople_block: Some(0),
        petersburg_block: Some(0),
        istanbul_block: Some(0),
        berlin_block: Some(0),
        london_block: Some(0),
        ..Default::default()
    };
    config.extra_fields.insert("isQuorum".into(), serde_json::Value::Bool(true));
    let balance = U256::from(10u64).pow(U256::from(27));
    let alloc = dev_addresses()
        .into_iter()
        .map(|a| (a, GenesisAccount { balance, ..Default::default() }))
        .collect();
    let genesis = Genesis { config, alloc, gas_limit: 0xE000_0000, ..Default::default() };
    ChainSpec::from_genesis(genesis).unwrap_or_else(|e| panic!("dev chain spec is valid: {e}"))
}
