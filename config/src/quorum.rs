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
    /// Privacy enhancements (party protection, private state validation, mandatory
    /// recipients) from this block on.
    pub privacy_enhancements_block: Option<u64>,
    /// GoQuorum's `transitions`; only `privacyEnhancementsEnabled` is read here (QBFT's keys
    /// are read by [`crate::QbftConfig`]).
    pub transitions: Vec<QuorumTransition>,
}

/// A `transitions` entry's GoQuorum switches.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct QuorumTransition {
    /// The first block it applies to.
    pub block: Option<u64>,
    /// Privacy enhancements on (or off) from `block` on.
    pub privacy_enhancements_enabled: Option<bool>,
}

impl QuorumConfig {
    /// Whether privacy enhancements apply at block `number`: the last transition at or
    /// before it that names `privacyEnhancementsEnabled` decides; without one,
    /// `privacyEnhancementsBlock`.
    pub fn privacy_enhancements_at(&self, number: u64) -> bool {
        let from_transitions = self
            .transitions
            .iter()
            .filter(|t| t.block.is_some_and(|b| b <= number))
            .filter_map(|t| t.privacy_enhancements_enabled)
            .next_back();
        from_transitions
            .unwrap_or_else(|| self.privacy_enhancements_block.is_some_and(|b| b <= number))
    }

    /// Whether the chain turns privacy enhancements on at some block (so its TM must have
    /// them enabled).
    pub fn privacy_enhancements_configured(&self) -> bool {
        self.privacy_enhancements_block.is_some()
            || self.transitions.iter().any(|t| t.privacy_enhancements_enabled == Some(true))
    }
}

/// GoQuorum's default `txnSizeLimit` in KiB.
pub(crate) const DEFAULT_TXN_SIZE_LIMIT_KIB: u64 = 64;
/// EIP-170's code size limit in bytes.
pub(crate) const EIP170_CODE_SIZE: usize = 24_576;

#[cfg(test)]
mod privacy_enhancement_tests {
    use crate::ChainSpec;

    fn spec(config: serde_json::Value) -> ChainSpec {
        let mut genesis = serde_json::json!({
            "config": { "chainId": 1337, "isQuorum": true },
            "difficulty": "0x1", "gasLimit": "0xe0000000", "alloc": {}
        });
        for (key, value) in config.as_object().unwrap() {
            genesis["config"][key] = value.clone();
        }
        ChainSpec::from_json(&genesis.to_string()).unwrap()
    }

    /// The keys as quorum-dev-quickstart's QBFT genesis has them: both the block and a
    /// transition at 0, next to QBFT's own transition keys.
    #[test]
    fn quickstarts_genesis_turns_them_on_from_block_zero() {
        let quickstart = spec(serde_json::json!({
            "privacyEnhancementsBlock": 0,
            "qbft": { "epochLength": 30000, "blockPeriodSeconds": 5 },
            "transitions": [{ "block": 0, "transactionSizeLimit": 64, "contractSizeLimit": 64,
                              "privacyEnhancementsEnabled": true }]
        }));
        assert!(quickstart.quorum().privacy_enhancements_at(0));
        assert!(quickstart.quorum().privacy_enhancements_configured());
    }

    #[test]
    fn the_block_and_the_transitions_decide_from_their_block_on() {
        let by_block = spec(serde_json::json!({ "privacyEnhancementsBlock": 10 }));
        assert!(!by_block.quorum().privacy_enhancements_at(9));
        assert!(by_block.quorum().privacy_enhancements_at(10));
        let by_transition = spec(serde_json::json!({ "transitions": [
            { "block": 5, "privacyEnhancementsEnabled": true },
            { "block": 20, "privacyEnhancementsEnabled": false }
        ] }));
        let q = by_transition.quorum();
        assert!(!q.privacy_enhancements_at(4));
        assert!(q.privacy_enhancements_at(5) && q.privacy_enhancements_at(19));
        assert!(!q.privacy_enhancements_at(20));
        assert!(q.privacy_enhancements_configured());
        let off = spec(serde_json::json!({}));
        assert!(
            !off.quorum().privacy_enhancements_at(1_000)
                && !off.quorum().privacy_enhancements_configured()
        );
    }
}
