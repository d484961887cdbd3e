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
    /// GoQuorum's block-number activation of Shanghai (its chains have no beacon clock); a
    /// fork is active when either its block or its time (`shanghaiTime`) is reached.
    pub shanghai_block: Option<u64>,
    /// Cancun by block number, as `shanghaiBlock`.
    pub cancun_block: Option<u64>,
    /// Prague by block number, as `shanghaiBlock`.
    pub prague_block: Option<u64>,
    /// Osaka by block number, as `shanghaiBlock`.
    pub osaka_block: Option<u64>,
}

/// GoQuorum's default `txnSizeLimit` in KiB.
pub(crate) const DEFAULT_TXN_SIZE_LIMIT_KIB: u64 = 64;
/// EIP-170's code size limit in bytes.
pub(crate) const EIP170_CODE_SIZE: usize = 24_576;
