//! The chain specification: genesis, fork schedule and Quorum settings.

use crate::{
    qbft::QbftConfig,
    quorum::{DEFAULT_TXN_SIZE_LIMIT_KIB, EIP170_CODE_SIZE},
    Hardfork, QuorumConfig,
};
use alloy_consensus::{constants::EMPTY_OMMER_ROOT_HASH, Header};
use alloy_eips::eip7840::BlobParams;
use alloy_genesis::Genesis;
use alloy_primitives::{Bloom, B256, B64};
use alloy_trie::EMPTY_ROOT_HASH;
use std::path::Path;

/// The base fee of the first London block when the genesis names none (EIP-1559).
const INITIAL_BASE_FEE: u64 = 1_000_000_000;

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The JSON is not a geth genesis.
    #[error("invalid genesis JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A value is out of range or inconsistent.
    #[error("invalid genesis config: {0}")]
    Invalid(String),
}

/// A chain: its genesis file, fork schedule and Quorum settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainSpec {
    genesis: Genesis,
    quorum: QuorumConfig,
    qbft: Option<QbftConfig>,
}

impl ChainSpec {
    /// Reads and validates a geth `genesis.json`.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        Self::from_json(&text)
    }

    /// Parses and validates a geth `genesis.json`.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let genesis: Genesis = serde_json::from_str(text)?;
        Self::from_genesis(genesis)
    }

    /// Validates a parsed genesis.
    pub fn from_genesis(genesis: Genesis) -> Result<Self, ConfigError> {
        let extra =
            serde_json::Value::Object(genesis.config.extra_fields.clone().into_iter().collect());
        let quorum: QuorumConfig = serde_json::from_value(extra)
            .map_err(|e| ConfigError::Invalid(format!("GoQuorum fields: {e}")))?;
        let qbft =
            QbftConfig::from_config(&genesis.config.extra_fields.clone().into_iter().collect())?;
        let spec = Self { genesis, quorum, qbft };
        spec.validate()?;
        Ok(spec)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(limit) = self.quorum.txn_size_limit {
            if !(32..=128).contains(&limit) {
                return Err(ConfigError::Invalid(format!(
                    "txnSizeLimit must be between 32 and 128 (KiB), got {limit}"
                )));
            }
        }
        let sizes = &self.quorum.max_code_size_config;
        if sizes.windows(2).any(|w| w[0].block >= w[1].block) {
            return Err(ConfigError::Invalid(
                "maxCodeSizeConfig blocks must be strictly increasing".into(),
            ));
        }
        if sizes.iter().any(|s| s.size == 0) || self.quorum.max_code_size == Some(0) {
            return Err(ConfigError::Invalid("max code size must be above 0 KiB".into()));
        }
        let c = &self.genesis.config;
        let blocks = [
            ("homesteadBlock", c.homestead_block),
            ("eip150Block", c.eip150_block),
            ("eip155Block", c.eip155_block),
            ("eip158Block", c.eip158_block),
            ("byzantiumBlock", c.byzantium_block),
            ("constantinopleBlock", c.constantinople_block),
            ("petersburgBlock", c.petersburg_block),
            ("istanbulBlock", c.istanbul_block),
            ("berlinBlock", c.berlin_block),
            ("londonBlock", c.london_block),
        ];
        let mut previous: Option<(&str, u64)> = None;
        for (name, block) in blocks {
            let Some(block) = block else { continue };
            if let Some((prev_name, prev)) = previous {
                if block < prev {
                    return Err(ConfigError::Invalid(format!(
                        "{name} ({block}) comes before {prev_name} ({prev})"
                    )));
                }
            }
            previous = Some((name, block));
        }
        Ok(())
    }

    /// The chain's QBFT configuration, when its genesis runs QBFT.
    pub fn qbft(&self) -> Option<&QbftConfig> {
        self.qbft.as_ref()
    }

    /// The parsed genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.genesis.config.chain_id
    }

    /// GoQuorum's settings.
    pub fn quorum(&self) -> &QuorumConfig {
        &self.quorum
    }

    /// Whether gas is free on this network (`isQuorum`).
    pub fn is_gas_free(&self) -> bool {
        self.quorum.is_quorum
    }

    /// Largest accepted transaction in bytes: `txnSizeLimit` on Quorum networks (default
    /// 64 KiB), geth's 128 KiB pool limit elsewhere.
    pub fn txn_size_limit(&self) -> usize {
        let kib = match (self.quorum.is_quorum, self.quorum.txn_size_limit) {
            (_, Some(kib)) => kib,
            (true, None) => DEFAULT_TXN_SIZE_LIMIT_KIB,
            (false, None) => 128,
        };
        kib as usize * 1024
    }

    /// Largest contract code in bytes at block `number`.
    pub fn max_code_size(&self, number: u64) -> usize {
        let from_config = self.quorum.max_code_size_config.iter().rev().find(|s| s.block <= number);
        match (from_config, self.quorum.max_code_size) {
            (Some(step), _) => step.size as usize * 1024,
            (None, Some(kib)) => kib as usize * 1024,
            (None, None) => EIP170_CODE_SIZE,
        }
    }

    /// The fork whose rules apply to a block with this number and timestamp.
    pub fn hardfork_at(&self, number: u64, timestamp: u64) -> Hardfork {
        let c = &self.genesis.config;
        let q = &self.quorum;
        let by_time = |t: Option<u64>| t.is_some_and(|t| timestamp >= t);
        let by_block = |b: Option<u64>| b.is_some_and(|b| number >= b);
        let merged = by_block(c.merge_netsplit_block)
            || c.terminal_total_difficulty.is_some_and(|ttd| ttd.is_zero());
        let schedule = [
            (by_time(c.osaka_time) || by_block(q.osaka_block), Hardfork::Osaka),
            (by_time(c.prague_time) || by_block(q.prague_block), Hardfork::Prague),
            (by_time(c.cancun_time) || by_block(q.cancun_block), Hardfork::Cancun),
            (by_time(c.shanghai_time) || by_block(q.shanghai_block), Hardfork::Shanghai),
            (merged, Hardfork::Paris),
            (by_block(c.gray_glacier_block), Hardfork::GrayGlacier),
            (by_block(c.arrow_glacier_block), Hardfork::ArrowGlacier),
            (by_block(c.london_block), Hardfork::London),
            (by_block(c.berlin_block), Hardfork::Berlin),
            (by_block(c.muir_glacier_block), Hardfork::MuirGlacier),
            (by_block(c.istanbul_block), Hardfork::Istanbul),
            (by_block(c.petersburg_block), Hardfork::Petersburg),
            (by_block(c.constantinople_block), Hardfork::Constantinople),
            (by_block(c.byzantium_block), Hardfork::Byzantium),
            (by_block(c.eip158_block), Hardfork::SpuriousDragon),
            (by_block(c.eip150_block), Hardfork::Tangerine),
            (by_block(c.homestead_block), Hardfork::Homestead),
        ];
        schedule.into_iter().find(|(active, _)| *active).map_or(Hardfork::Frontier, |(_, f)| f)
    }

    /// Whether EIP-155 replay protection is active at `number`.
    pub fn is_eip155_active(&self, number: u64) -> bool {
        self.genesis.config.eip155_block.is_some_and(|b| number >= b)
    }

    /// The base fee of the block after `parent` (EIP-1559), or `None` before London. Always zero
    /// on gas-free Quorum networks.
    pub fn next_base_fee(&self, parent: &Header, number: u64, timestamp: u64) -> Option<u64> {
        if self.hardfork_at(number, timestamp) < Hardfork::London {
            return None;
        }
        if self.is_gas_free() {
            return Some(0);
        }
        match parent.base_fee_per_gas {
            None => Some(INITIAL_BASE_FEE),
            Some(_) => Some(
                parent
                    .next_block_base_fee(alloy_eips::eip1559::BaseFeeParams::ethereum())
                    .unwrap_or(0),
            ),
        }
    }

    /// The blob parameters at a block (EIP-4844, EIP-7691, EIP-7918), from the genesis
    /// `blobSchedule` where it names the fork, else the fork's mainnet values; `None` before
    /// Cancun.
    pub fn blob_params(&self, number: u64, timestamp: u64) -> Option<BlobParams> {
        let (name, default) = match self.hardfork_at(number, timestamp) {
            Hardfork::Osaka => ("osaka", BlobParams::osaka()),
            Hardfork::Prague => ("prague", BlobParams::prague()),
            Hardfork::Cancun => ("cancun", BlobParams::cancun()),
            _ => return None,
        };
        let scheduled = self.genesis.config.blob_schedule.get(name).map(|params| {
            params
                .with_blob_base_cost(default.blob_base_cost)
                .with_max_blobs_per_tx(default.max_blobs_per_tx.min(params.max_blob_count))
        });
        Some(scheduled.unwrap_or(default))
    }

    /// The `excessBlobGas` of the block after `parent` (EIP-4844; EIP-7918 from Osaka), or
    /// `None` before Cancun. A parent from before Cancun counts as zero excess and use.
    pub fn next_excess_blob_gas(
        &self,
        parent: &Header,
        number: u64,
        timestamp: u64,
    ) -> Option<u64> {
        let params = self.blob_params(number, timestamp)?;
        Some(match (parent.excess_blob_gas, parent.blob_gas_used) {
            (Some(excess), Some(used)) => params.next_block_excess_blob_gas_osaka(
                excess,
                used,
                parent.base_fee_per_gas.unwrap_or_default(),
            ),
            _ => 0,
        })
    }

    /// The genesis header for a state with root `state_root`, with the optional fields each
    /// fork active at genesis requires.
    pub fn genesis_header(&self, state_root: B256) -> Header {
        let g = &self.genesis;
        let fork = self.hardfork_at(0, g.timestamp);
        let base_fee = if self.is_gas_free() {
            0
        } else {
            g.base_fee_per_gas.map_or(INITIAL_BASE_FEE, |fee| fee as u64)
        };
        let cancun = fork >= Hardfork::Cancun;
        Header {
            parent_hash: g.parent_hash.unwrap_or_default(),
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: g.coinbase,
            state_root,
            transactions_root: EMPTY_ROOT_HASH,
            receipts_root: EMPTY_ROOT_HASH,
            logs_bloom: Bloom::ZERO,
            difficulty: g.difficulty,
            number: g.number.unwrap_or_default(),
            gas_limit: g.gas_limit,
            gas_used: 0,
            timestamp: g.timestamp,
            extra_data: g.extra_data.clone(),
            mix_hash: g.mix_hash,
            nonce: B64::from(g.nonce.to_be_bytes()),
            base_fee_per_gas: (fork >= Hardfork::London).then_some(base_fee),
            withdrawals_root: (fork >= Hardfork::Shanghai).then_some(EMPTY_ROOT_HASH),
            blob_gas_used: cancun.then(|| g.blob_gas_used.unwrap_or_default()),
            excess_blob_gas: cancun.then(|| g.excess_blob_gas.unwrap_or_default()),
            parent_beacon_block_root: cancun.then_some(B256::ZERO),
            requests_hash: (fork >= Hardfork::Prague)
                .then_some(alloy_eips::eip7685::EMPTY_REQUESTS_HASH),
            block_access_list_hash: None,
            slot_number: None,
        }
    }
}
