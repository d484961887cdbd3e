//! From Veil's chain spec to revm's configuration.

use revm::{context::CfgEnv, primitives::hardfork::SpecId};
use veil_config::{ChainSpec, Hardfork};

/// revm's spec for a hard fork.
pub fn spec_id(fork: Hardfork) -> SpecId {
    match fork {
        Hardfork::Frontier => SpecId::FRONTIER,
        Hardfork::Homestead => SpecId::HOMESTEAD,
        Hardfork::Tangerine => SpecId::TANGERINE,
        Hardfork::SpuriousDragon => SpecId::SPURIOUS_DRAGON,
        Hardfork::Byzantium => SpecId::BYZANTIUM,
        // revm has no spec of its own for Constantinople: chains run Petersburg
        // (ConstantinopleFix), which removed Constantinople's EIP-1283.
        Hardfork::Constantinople | Hardfork::Petersburg => SpecId::PETERSBURG,
        // The glacier forks only moved the difficulty bomb: same EVM rules as before them.
        Hardfork::Istanbul | Hardfork::MuirGlacier => SpecId::ISTANBUL,
        Hardfork::Berlin => SpecId::BERLIN,
        Hardfork::London | Hardfork::ArrowGlacier | Hardfork::GrayGlacier => SpecId::LONDON,
        Hardfork::Paris => SpecId::MERGE,
        Hardfork::Shanghai => SpecId::SHANGHAI,
        Hardfork::Cancun => SpecId::CANCUN,
        Hardfork::Prague => SpecId::PRAGUE,
        Hardfork::Osaka => SpecId::OSAKA,
    }
}

/// revm's configuration for a block: spec by fork, chain id, and the contract size limit from
/// the genesis (`maxCodeSize`/`maxCodeSizeConfig`; init code may be twice that, as EIP-3860).
pub fn cfg_env(chain: &ChainSpec, number: u64, timestamp: u64) -> CfgEnv {
    let mut cfg = CfgEnv::default();
    cfg.chain_id = chain.chain_id();
    cfg.set_spec_and_mainnet_gas_params(spec_id(chain.hardfork_at(number, timestamp)));
    let code_size = chain.max_code_size(number);
    cfg.limit_contract_code_size = Some(code_size);
    cfg.limit_contract_initcode_size = Some(code_size * 2);
    cfg
}
