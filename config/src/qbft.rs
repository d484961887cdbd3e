//! GoQuorum's QBFT configuration in the genesis: `config.qbft` (or the older `config.istanbul`
//! with `testQBFTBlock: 0`, as 7nodes' `qbft-genesis.json` has it) and `config.transitions`.
//!
//! Keys are read case-insensitively, as Go's `encoding/json` reads them. A value applies from
//! its transition's `block` on ([`QbftConfig::params_at`]). Defaults are GoQuorum's: epoch
//! 30,000, a 5 s block period and a 10 s request timeout (the `istanbul` object takes both
//! from the command line, `--istanbul.blockperiod` and `--istanbul.requesttimeout`).

use crate::ConfigError;
use alloy_primitives::{Address, U256};
use serde::Deserialize;
use serde_json::{Map, Value};

/// How the proposer of a round is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProposerPolicy {
    /// `policy: 0`: the next validator after the last block's proposer, plus the round.
    RoundRobin,
    /// `policy: 1`: the last block's proposer again, plus the round.
    Sticky,
}

/// Where the validators of a block come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValidatorSelection {
    /// The header's validator list, changed by header votes.
    BlockHeader,
    /// `getValidators()` of the contract at this address, on the parent's state.
    Contract(Address),
}

/// Who receives the block reward.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Beneficiary {
    /// No reward is paid.
    None,
    /// `beneficiaryMode: "fixed"` or `miningBeneficiary`: this address.
    Fixed(Address),
    /// `beneficiaryMode: "validator"`: the block's proposer.
    Validator,
}

/// The QBFT parameters in force at one block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QbftParams {
    /// Votes are cleared on blocks whose number is a multiple of this.
    pub epoch_length: u64,
    /// Least time between a block and its parent, in seconds.
    pub block_period_seconds: u64,
    /// When above the block period, how long a proposer waits before an empty block.
    pub empty_block_period_seconds: u64,
    /// Round 0's timeout, in milliseconds; round r waits `2^r` times as long.
    pub request_timeout_ms: u64,
    /// The cap on a round's timeout, in seconds (none when 0).
    pub max_request_timeout_seconds: u64,
    /// Proposer rotation.
    pub policy: ProposerPolicy,
    /// Whether the quorum is 2F+1 (`true`) or ⌈2N/3⌉.
    pub two_f_plus_one: bool,
    /// Validators from headers or from a contract.
    pub selection: ValidatorSelection,
    /// A transition's list that replaces the validators after its block.
    pub validators: Option<Vec<Address>>,
    /// Wei credited per block.
    pub block_reward: U256,
    /// Who gets it.
    pub beneficiary: Beneficiary,
}

impl QbftParams {
    /// F, the validators that may be faulty among `n`: ⌈n/3⌉ − 1.
    pub fn faulty(n: usize) -> usize {
        n.div_ceil(3).saturating_sub(1)
    }

    /// The quorum among `n` validators.
    pub fn quorum(&self, n: usize) -> usize {
        if self.two_f_plus_one {
            2 * Self::faulty(n) + 1
        } else {
            (2 * n).div_ceil(3)
        }
    }
}

/// The keys of `config.qbft` and of a transition, every one optional; names are lowercase
/// because keys are matched without case.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
struct Overrides {
    block: Option<u64>,
    algorithm: Option<String>,
    epochlength: Option<u64>,
    blockperiodseconds: Option<u64>,
    emptyblockperiodseconds: Option<u64>,
    requesttimeoutseconds: Option<u64>,
    maxrequesttimeoutseconds: Option<u64>,
    policy: Option<u64>,
    ceil2nby3block: Option<u64>,
    #[serde(rename = "2fplus1enabled")]
    two_f_plus_one: Option<bool>,
    validatorcontractaddress: Option<Address>,
    validatorselectionmode: Option<String>,
    validators: Option<Vec<Address>>,
    blockreward: Option<Value>,
    beneficiarymode: Option<String>,
    miningbeneficiary: Option<Address>,
}

/// A chain's QBFT configuration: the genesis values and the transitions after them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QbftConfig {
    genesis: Overrides,
    transitions: Vec<Overrides>,
    /// From the legacy `istanbul` object: the block period and the timeout come from flags.
    legacy: bool,
}

/// Lowercases an object's keys (Go's case-insensitive JSON).
fn lowercase_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.to_lowercase(), v.clone())).collect())
        }
        other => other.clone(),
    }
}

fn overrides(value: &Value, what: &str) -> Result<Overrides, ConfigError> {
    serde_json::from_value(lowercase_keys(value))
        .map_err(|e| ConfigError::Invalid(format!("{what}: {e}")))
}

impl QbftConfig {
    /// The QBFT configuration of a genesis `config` object's GoQuorum fields, if the chain
    /// runs QBFT from block 0; an error for a configuration Veil cannot run (IBFT first).
    pub fn from_config(fields: &Map<String, Value>) -> Result<Option<Self>, ConfigError> {
        let lower: Map<String, Value> =
            fields.iter().map(|(k, v)| (k.to_lowercase(), v.clone())).collect();
        let transitions = match lower.get("transitions") {
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(i, t)| overrides(t, &format!("transitions[{i}]")))
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(ConfigError::Invalid("transitions must be an array".into())),
            None => Vec::new(),
        };
        let qbft_at_zero = transitions
            .iter()
            .any(|t| t.block == Some(0) && t.algorithm.as_deref() == Some("qbft"));
        let (genesis, legacy) = if let Some(qbft) = lower.get("qbft") {
            (overrides(qbft, "config.qbft")?, false)
        } else if let Some(istanbul) = lower.get("istanbul") {
            let istanbul = lowercase_keys(istanbul);
            match istanbul.get("testqbftblock").and_then(Value::as_u64) {
                Some(0) => {}
                Some(n) => {
                    return Err(ConfigError::Invalid(format!(
                        "istanbul.testQBFTBlock {n}: IBFT before QBFT is not supported; start with testQBFTBlock 0"
                    )))
                }
                None => {
                    return Err(ConfigError::Invalid(
                        "istanbul without testQBFTBlock is IBFT, which is not supported; use qbft".into(),
                    ))
                }
            }
            let mut genesis = Overrides {
                epochlength: istanbul.get("epoch").and_then(Value::as_u64),
                policy: istanbul.get("policy").and_then(Value::as_u64),
                ceil2nby3block: istanbul.get("ceil2nby3block").and_then(Value::as_u64),
                ..Default::default()
            };
            // The legacy object's quorum is 2F+1 unless ceil2Nby3Block is set.
            genesis.two_f_plus_one = Some(genesis.ceil2nby3block.is_none());
            (genesis, true)
        } else if qbft_at_zero {
            (Overrides::default(), false)
        } else {
            return Ok(None);
        };
        let config = Self { genesis, transitions, legacy };
        config.validate()?;
        Ok(Some(config))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let mut last = None;
        for (i, t) in self.transitions.iter().enumerate() {
            let block = t.block.ok_or_else(|| {
                ConfigError::Invalid(format!("transitions[{i}]: `block` is required"))
            })?;
            if last.is_some_and(|last| block < last) {
                return Err(ConfigError::Invalid(format!(
                    "transitions[{i}]: blocks must be in ascending order"
                )));
            }
            last = Some(block);
            match t.algorithm.as_deref() {
                None | Some("qbft") => {}
                Some(other) => {
                    return Err(ConfigError::Invalid(format!(
                        "transitions[{i}]: algorithm {other:?} is not supported (only qbft)"
                    )))
                }
            }
        }
        for (what, o) in std::iter::once(("config.qbft", &self.genesis))
            .chain(self.transitions.iter().map(|t| ("a transition", t)))
        {
            if o.validatorcontractaddress.is_some()
                && o.validatorselectionmode.as_deref() != Some("contract")
            {
                return Err(ConfigError::Invalid(format!(
                    "{what}: validatorcontractaddress needs validatorselectionmode \"contract\""
                )));
            }
            if let Some(mode) = o.validatorselectionmode.as_deref() {
                if !["blockheader", "contract"].contains(&mode) {
                    return Err(ConfigError::Invalid(format!(
                        "{what}: validatorselectionmode {mode:?} is neither \"blockheader\" nor \"contract\""
                    )));
                }
            }
            if let Some(policy) = o.policy {
                if policy > 1 {
                    return Err(ConfigError::Invalid(format!(
                        "{what}: policy {policy} is neither 0 (round robin) nor 1 (sticky)"
                    )));
                }
            }
            if let Some(reward) = &o.blockreward {
                block_reward(reward).map_err(|e| ConfigError::Invalid(format!("{what}: {e}")))?;
            }
            if o.blockperiodseconds == Some(0) {
                return Err(ConfigError::Invalid(format!(
                    "{what}: blockperiodseconds must be above 0"
                )));
            }
        }
        Ok(())
    }

    /// Whether the block period and request timeout come from the command line (the legacy
    /// `istanbul` object).
    pub fn is_legacy(&self) -> bool {
        self.legacy
    }

    /// The parameters in force at block `number`, with `flags` (`--istanbul.blockperiod`
    /// seconds, `--istanbul.requesttimeout` milliseconds) for what the genesis leaves to them.
    pub fn params_at(&self, number: u64, flags: (u64, u64)) -> QbftParams {
        let mut p = QbftParams {
            epoch_length: 30_000,
            block_period_seconds: flags.0,
            empty_block_period_seconds: 0,
            request_timeout_ms: flags.1,
            max_request_timeout_seconds: 0,
            policy: ProposerPolicy::RoundRobin,
            // GoQuorum's `qbft` defaults ceil2Nby3Block to 0: ⌈2N/3⌉ from genesis.
            two_f_plus_one: false,
            selection: ValidatorSelection::BlockHeader,
            validators: None,
            block_reward: U256::ZERO,
            beneficiary: Beneficiary::None,
        };
        let applying = std::iter::once(&self.genesis)
            .chain(self.transitions.iter().filter(|t| t.block.is_some_and(|b| b <= number)));
        for o in applying {
            set(&mut p.epoch_length, o.epochlength);
            set(&mut p.block_period_seconds, o.blockperiodseconds);
            set(&mut p.empty_block_period_seconds, o.emptyblockperiodseconds);
            set(&mut p.request_timeout_ms, o.requesttimeoutseconds.map(|s| s.saturating_mul(1000)));
            set(&mut p.max_request_timeout_seconds, o.maxrequesttimeoutseconds);
            if let Some(policy) = o.policy {
                p.policy =
                    if policy == 1 { ProposerPolicy::Sticky } else { ProposerPolicy::RoundRobin };
            }
            if let Some(from) = o.ceil2nby3block {
                p.two_f_plus_one = number < from;
            }
            set(&mut p.two_f_plus_one, o.two_f_plus_one);
            match (o.validatorselectionmode.as_deref(), o.validatorcontractaddress) {
                (Some("contract"), Some(address)) => {
                    p.selection = ValidatorSelection::Contract(address)
                }
                (Some("blockheader"), _) => p.selection = ValidatorSelection::BlockHeader,
                _ => {}
            }
            // A transition's validators replace the set after its own block only.
            p.validators = o.validators.clone().filter(|_| o.block.is_some_and(|b| b == number));
            if let Some(reward) = &o.blockreward {
                p.block_reward = block_reward(reward).unwrap_or_default();
            }
            if let Some(address) = o.miningbeneficiary {
                p.beneficiary = Beneficiary::Fixed(address);
            }
            match o.beneficiarymode.as_deref() {
                Some("validator") => p.beneficiary = Beneficiary::Validator,
                Some("fixed") | None => {}
                // GoQuorum pays an unknown mode's reward to the zero address.
                Some(_) => p.beneficiary = Beneficiary::Fixed(Address::ZERO),
            }
        }
        p
    }
}

impl QbftConfig {
    /// GoQuorum's block reward for block `number` proposed by `proposer`: who is credited and
    /// how much (`blockReward` with `beneficiaryMode` / `miningBeneficiary`), if anything.
    pub fn block_reward(&self, number: u64, proposer: Address) -> Option<(Address, U256)> {
        let params = self.params_at(number, (1, 1));
        let to = match params.beneficiary {
            Beneficiary::None => return None,
            Beneficiary::Fixed(address) => address,
            Beneficiary::Validator => proposer,
        };
        (!params.block_reward.is_zero()).then_some((to, params.block_reward))
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

/// `blockReward`: wei as a number, a decimal string or a `0x` hex string.
fn block_reward(value: &Value) -> Result<U256, String> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => return Err(format!("blockReward {other} is not an amount of wei")),
    };
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => U256::from_str_radix(hex, 16),
        None => U256::from_str_radix(&text, 10),
    };
    parsed.map_err(|_| format!("blockReward {text:?} is not an amount of wei"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(value: Value) -> Result<Option<QbftConfig>, ConfigError> {
        QbftConfig::from_config(value.as_object().unwrap())
    }

    #[test]
    fn quorum_is_ceil_two_thirds_or_two_f_plus_one() {
        let ceil = QbftParams { two_f_plus_one: false, ..test_params() };
        let two_f = QbftParams { two_f_plus_one: true, ..test_params() };
        // (n, F, ⌈2n/3⌉, 2F+1): the two differ when n is not 1 mod 3.
        for (n, f, ceil_q, two_f_q) in
            [(1, 0, 1, 1), (4, 1, 3, 3), (6, 1, 4, 3), (7, 2, 5, 5), (8, 2, 6, 5)]
        {
            assert_eq!(QbftParams::faulty(n), f, "{n}");
            assert_eq!(ceil.quorum(n), ceil_q, "{n}");
            assert_eq!(two_f.quorum(n), two_f_q, "{n}");
        }
    }

    fn test_params() -> QbftParams {
        config(json!({"qbft": {}})).unwrap().unwrap().params_at(0, (5, 10_000))
    }

    #[test]
    fn keys_are_read_without_case_and_transitions_apply_from_their_block() {
        let c = config(json!({
            "qbft": {"EpochLength": 100, "BlockPeriodSeconds": 2, "requestTimeoutSeconds": 4},
            "transitions": [
                {"block": 10, "blockperiodseconds": 1, "blockReward": "0x10", "beneficiaryMode": "validator"},
                {"block": 20, "validatorselectionmode": "contract",
                 "validatorcontractaddress": "0x0000000000000000000000000000000000008888"},
                {"block": 30, "validatorselectionmode": "blockheader",
                 "validators": ["0x0000000000000000000000000000000000000001"]}
            ]
        }))
        .unwrap()
        .unwrap();
        let at = |n| c.params_at(n, (5, 10_000));
        assert_eq!(
            (at(0).epoch_length, at(0).block_period_seconds, at(0).request_timeout_ms),
            (100, 2, 4000)
        );
        assert_eq!((at(9).block_period_seconds, at(10).block_period_seconds), (2, 1));
        assert_eq!(
            (at(10).block_reward, at(10).beneficiary),
            (U256::from(16), Beneficiary::Validator)
        );
        assert_eq!(at(19).selection, ValidatorSelection::BlockHeader);
        let contract: Address = "0x0000000000000000000000000000000000008888".parse().unwrap();
        assert_eq!(at(20).selection, ValidatorSelection::Contract(contract));
        assert_eq!(at(30).selection, ValidatorSelection::BlockHeader);
        assert_eq!(at(30).validators, Some(vec![Address::with_last_byte(1)]));
        assert_eq!(at(31).validators, None, "a transition's list seeds the set once");
        assert!(!at(0).two_f_plus_one, "qbft: ⌈2N/3⌉ from genesis");
    }

    #[test]
    fn block_rewards_go_to_the_fixed_beneficiary_or_the_proposer_from_their_block() {
        let fixed: Address = "0x00000000000000000000000000000000000000fe".parse().unwrap();
        let c = config(json!({
            "qbft": {"blockReward": "1000", "miningBeneficiary": fixed},
            "transitions": [{"block": 5, "blockReward": "0x10", "beneficiaryMode": "validator"}]
        }))
        .unwrap()
        .unwrap();
        let proposer = Address::with_last_byte(7);
        assert_eq!(c.block_reward(1, proposer), Some((fixed, U256::from(1000))));
        assert_eq!(c.block_reward(5, proposer), Some((proposer, U256::from(16))));
        let none = config(json!({"qbft": {"blockReward": "1000"}})).unwrap().unwrap();
        assert_eq!(none.block_reward(1, proposer), None, "no beneficiary: nothing paid");
    }

    #[test]
    fn the_legacy_istanbul_object_takes_period_and_timeout_from_flags() {
        let c = config(json!({"istanbul": {"epoch": 30000, "policy": 0, "ceil2Nby3Block": 0, "testQBFTBlock": 0}}))
            .unwrap()
            .unwrap();
        assert!(c.is_legacy());
        let p = c.params_at(0, (5, 10_000));
        assert_eq!(
            (p.block_period_seconds, p.request_timeout_ms, p.two_f_plus_one),
            (5, 10_000, false)
        );
        let no_ceil = config(json!({"istanbul": {"testQBFTBlock": 0}})).unwrap().unwrap();
        assert!(no_ceil.params_at(0, (1, 1)).two_f_plus_one, "2F+1 unless ceil2Nby3Block is set");
    }

    #[test]
    fn what_veil_cannot_run_or_goquorum_refuses_is_an_error() {
        assert!(config(json!({})).unwrap().is_none(), "no QBFT keys: another engine");
        for bad in [
            json!({"istanbul": {"epoch": 30000}}),
            json!({"istanbul": {"testQBFTBlock": 5}}),
            json!({"qbft": {}, "transitions": [{"block": 5, "algorithm": "ibft"}]}),
            json!({"qbft": {}, "transitions": [{"block": 5}, {"block": 4}]}),
            json!({"qbft": {}, "transitions": [{"epochlength": 5}]}),
            json!({"qbft": {"validatorcontractaddress": "0x0000000000000000000000000000000000008888"}}),
            json!({"qbft": {"policy": 2}}),
            json!({"qbft": {"blockReward": "lots"}}),
            json!({"qbft": {"blockperiodseconds": 0}}),
            json!({"qbft": {"epochlength": "x"}}),
        ] {
            assert!(config(bad.clone()).is_err(), "{bad}");
        }
        let only_transition = config(json!({"transitions": [{"block": 0, "algorithm": "qbft"}]}));
        assert!(
            only_transition.unwrap().is_some(),
            "GoQuorum #1500: a block-0 transition is the base"
        );
    }
}
