//! Genesis fork schedules by EVM version, as solc names them (`--evm-version`): what
//! `veil-sim init --evm-version` and `veil --dev` write into a new chain's genesis.

use crate::Hardfork;
use alloy_eips::{
    eip2935::{HISTORY_STORAGE_ADDRESS, HISTORY_STORAGE_CODE},
    eip7840::BlobParams,
};
use serde_json::{json, Map, Value};

/// solc's EVM version names, oldest first, with the fork each one is.
pub const EVM_VERSIONS: &[(&str, Hardfork)] = &[
    ("homestead", Hardfork::Homestead),
    ("tangerineWhistle", Hardfork::Tangerine),
    ("spuriousDragon", Hardfork::SpuriousDragon),
    ("byzantium", Hardfork::Byzantium),
    ("constantinople", Hardfork::Constantinople),
    ("petersburg", Hardfork::Petersburg),
    ("istanbul", Hardfork::Istanbul),
    ("berlin", Hardfork::Berlin),
    ("london", Hardfork::London),
    ("paris", Hardfork::Paris),
    ("shanghai", Hardfork::Shanghai),
    ("cancun", Hardfork::Cancun),
    ("prague", Hardfork::Prague),
    ("osaka", Hardfork::Osaka),
];

/// The newest fork Veil runs: new local chains start on it.
pub const NEWEST_FORK: Hardfork = Hardfork::Osaka;

/// The fork of a solc EVM version name (case-insensitive), or the list of names.
pub fn fork_of_evm_version(name: &str) -> Result<Hardfork, String> {
    EVM_VERSIONS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, f)| *f).ok_or_else(
        || {
            let names: Vec<&str> = EVM_VERSIONS.iter().map(|(n, _)| *n).collect();
            format!("unknown EVM version {name:?}; one of {}", names.join(", "))
        },
    )
}

/// The genesis `config` entries that activate every fork up to `fork` at genesis: block
/// numbers through London, a zero terminal total difficulty for Paris, times from Shanghai
/// on, and geth's `blobSchedule` from Cancun on.
pub fn genesis_fork_schedule(fork: Hardfork) -> Map<String, Value> {
    let mut config = Map::new();
    let blocks = [
        ("homesteadBlock", Hardfork::Homestead),
        ("eip150Block", Hardfork::Tangerine),
        ("eip155Block", Hardfork::SpuriousDragon),
        ("eip158Block", Hardfork::SpuriousDragon),
        ("byzantiumBlock", Hardfork::Byzantium),
        ("constantinopleBlock", Hardfork::Constantinople),
        ("petersburgBlock", Hardfork::Petersburg),
        ("istanbulBlock", Hardfork::Istanbul),
        ("berlinBlock", Hardfork::Berlin),
        ("londonBlock", Hardfork::London),
    ];
    for (field, from) in blocks {
        if fork >= from {
            config.insert(field.into(), json!(0));
        }
    }
    if fork >= Hardfork::Paris {
        config.insert("terminalTotalDifficulty".into(), json!(0));
        config.insert("terminalTotalDifficultyPassed".into(), json!(true));
    }
    let times = [
        ("shanghaiTime", Hardfork::Shanghai),
        ("cancunTime", Hardfork::Cancun),
        ("pragueTime", Hardfork::Prague),
        ("osakaTime", Hardfork::Osaka),
    ];
    let mut schedule = Map::new();
    for (field, from) in times {
        if fork >= from {
            config.insert(field.into(), json!(0));
        }
    }
    let blobs = [
        ("cancun", Hardfork::Cancun, BlobParams::cancun()),
        ("prague", Hardfork::Prague, BlobParams::prague()),
        ("osaka", Hardfork::Osaka, BlobParams::osaka()),
    ];
    for (name, from, params) in blobs {
        if fork >= from {
            schedule.insert(
                name.into(),
                json!({
                    "target": params.target_blob_count,
                    "max": params.max_blob_count,
                    "baseFeeUpdateFraction": params.update_fraction as u64,
                }),
            );
        }
    }
    if !schedule.is_empty() {
        config.insert("blobSchedule".into(), Value::Object(schedule));
    }
    config
}

/// The system contracts a new chain on `fork` holds at genesis, as `alloc` entries: the
/// EIP-2935 block-hash history contract from Prague on. The EIP-4788 beacon-root contract is
/// left out: a Veil chain has no beacon chain, and the roots it would keep are all zero
/// (`docs/design/forks.md`).
pub fn genesis_system_contracts(fork: Hardfork) -> Map<String, Value> {
    let mut alloc = Map::new();
    if fork >= Hardfork::Prague {
        alloc.insert(
            format!("{HISTORY_STORAGE_ADDRESS:#x}"),
            json!({ "balance": "0x0", "nonce": "0x1", "code": HISTORY_STORAGE_CODE }),
        );
    }
    alloc
}
