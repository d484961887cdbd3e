//! Veil's configuration as pure data: the chain specification read from a geth-format
//! `genesis.json` (via alloy-genesis) with GoQuorum's fields, the fork schedule, and the
//! genesis header rules, GoQuorum's QBFT configuration ([`QbftConfig`]), and the transaction manager's Tessera-shaped configuration ([`TmConfig`]).
//!
//! ```
//! let spec = veil_config::ChainSpec::from_json(r#"{
//!   "config": {"chainId": 10, "homesteadBlock": 0, "byzantiumBlock": 0, "isQuorum": true,
//!              "txnSizeLimit": 64, "maxCodeSizeConfig": [{"block": 0, "size": 35}]},
//!   "alloc": {}, "gasLimit": "0xE0000000", "difficulty": "0x0"}"#).unwrap();
//! assert!(spec.quorum().is_quorum);
//! assert_eq!(spec.max_code_size(0), 35 * 1024);
//! assert_eq!(spec.hardfork_at(0, 0), veil_config::Hardfork::Byzantium);
//! ```

mod chain_spec;
mod evm_version;
mod hardfork;
mod qbft;
mod quorum;
mod tm;
mod tm_writer;

pub use chain_spec::{ChainSpec, ConfigError};
pub use evm_version::{
    fork_of_evm_version, genesis_fork_schedule, genesis_system_contracts, EVM_VERSIONS, NEWEST_FORK,
};
pub use hardfork::Hardfork;
pub use qbft::{Beneficiary, ProposerPolicy, QbftConfig, QbftParams, ValidatorSelection};
pub use quorum::{MaxCodeSizeAt, QuorumConfig};
pub use tm::{
    CorsConfig, EnclaveConfig, Features, IdentityConfig, KeyData, KeysConfig, PeerConfig,
    ServerAddress, ServerConfig, SslConfig, StorageConfig, TmApp, TmConfig, TmConfigError,
};
pub use tm_writer::LocalTm;

/// Re-export of alloy-genesis, whose `Genesis` the spec wraps.
pub use alloy_genesis;
