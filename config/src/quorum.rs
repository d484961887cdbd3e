//! GoQuorum's genesis `config` fields.

use serde::Deserialize;

/// One step of `maxCodeSizeConfig`: from `block` on, contracts may be `size` KiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct MaxCodeSizeAt {
    /// First block the size applies to.
    pub block: u64,
    /// Maximum code size in KiB.
    pub size: u64,
}

/// GoQuorum's additions to the genesis `config`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct QuorumConfig {
    /// A Quorum network: gas is free (gas price 0 accepted, nothing burnt or paid).
    pub is_quorum: bool,
    /// Largest transaction in KiB (GoQuorum: default 64, at most 128).
    pub txn_size_limit: Option<u64>,
    /// Largest contract code in KiB from genesis (superseded by `maxCodeSizeConfig`).
    pub max_code_size: Option<u64>,
    /// Largest contract code in KiB by block.
    pub max_code_size_config: Vec<MaxCodeSizeAt>,
}

/// GoQuorum's default `txnSizeLimit` in KiB.
pub(crate) const DEFAULT_TXN_SIZE_LIMIT_KIB: u64 = 64;
/// EIP-170's code size limit in bytes.
pub(crate) const EIP170_CODE_SIZE: usize = 24_576;
