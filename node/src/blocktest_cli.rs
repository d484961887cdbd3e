//! `veil evm blocktest`: ethereum/tests BlockchainTests (`NoProof`) through Veil's real block
//! import, like geth's `evm blocktest`. Each test's `pre` becomes a genesis with Ethereum's
//! rules (`ethash`, `veil_chain`'s `ethereum_rules`) and the test's fork from block 0; every block
//! is decoded from its RLP and given to [`Chain::import`]; blocks marked with an exception must
//! be refused and leave the head where it was. At the end the head must be `lastblockhash`
//! and the state root that of `postState`.

use crate::{Chain, ImportError};
use alloy_primitives::B256;
use alloy_rlp::Decodable;
use alloy_trie::EMPTY_ROOT_HASH;
use revm_statetest_types::blockchain::{BlockchainTest, BlockchainTestCase, ForkSpec};
use serde_json::{json, Map, Value};
use std::{collections::BTreeMap, path::PathBuf, process::ExitCode, sync::Arc};
use veil_config::{ChainSpec, Hardfork};
use veil_primitives::Block;
use veil_storage::{InMemoryKv, KvStore, StateDb, StateDiff, StateNamespace, WriteBatch};

/// Totals of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Tests that ran.
    pub ran: usize,
    /// Tests whose every block, head and post-state matched.
    pub passed: usize,
    /// Tests that did not, plus files that could not be read.
    pub failed: usize,
    /// Tests not run (or not run to the end), with the reason printed.
    pub skipped: usize,
    /// Blocks imported as valid.
    pub blocks_imported: usize,
    /// Blocks refused as their fixture expects.
    pub blocks_refused: usize,
    /// Passed tests per network.
    pub passed_per_network: BTreeMap<String, usize>,
}

/// How one test went.
enum Outcome {
    Pass { imported: usize, refused: usize },
    Fail(String),
    Skip(String),
}

fn fork_of(network: &ForkSpec) -> Option<Hardfork> {
    Some(match network {
        ForkSpec::Frontier => Hardfork::Frontier,
        ForkSpec::Homestead => Hardfork::Homestead,
        ForkSpec::EIP150 => Hardfork::Tangerine,
        ForkSpec::EIP158 => Hardfork::SpuriousDragon,
        ForkSpec::Byzantium => Hardfork::Byzantium,
        ForkSpec::Constantinople => Hardfork::Constantinople,
        ForkSpec::ConstantinopleFix => Hardfork::Petersburg,
        ForkSpec::Istanbul => Hardfork::Istanbul,
        ForkSpec::Berlin => Hardfork::Berlin,
        ForkSpec::London => Hardfork::London,
        ForkSpec::Paris => Hardfork::Paris,
        ForkSpec::Shanghai => Hardfork::Shanghai,
        ForkSpec::Cancun => Hardfork::Cancun,
        ForkSpec::Prague => Hardfork::Prague,
        ForkSpec::Osaka => Hardfork::Osaka,
        _ => return None,
    })
}

/// The test's genesis as a geth `genesis.json`: its fork from block 0 under Ethereum's rules,
/// chain id 1, the header fields of `genesisBlockHeader` and `pre` as `alloc`.
fn genesis_of(case: &BlockchainTestCase, fork: Hardfork) -> Result<ChainSpec, String> {
    let mut config = veil_config::genesis_fork_schedule(fork);
    config.insert("chainId".into(), json!(1));
    config.insert("ethash".into(), json!({}));
    let mut alloc = Map::new();
    for (address, account) in &case.pre.0 {
        let storage: Map<String, Value> = account
            .storage
            .iter()
            .filter(|(_, v)| !v.is_zero())
            .map(|(k, v)| (format!("{:#066x}", k), json!(format!("{:#066x}", v))))
            .collect();
        alloc.insert(
            format!("{address:#x}"),
            json!({
                "balance": account.balance,
                "nonce": format!("{:#x}", account.nonce),
                "code": account.code,
                "storage": storage,
            }),
        );
    }
    let h = &case.genesis_block_header;
    let mut genesis = json!({
        "config": config,
        "alloc": alloc,
        "coinbase": h.coinbase,
        "difficulty": h.difficulty,
        "extraData": h.extra_data,
        "gasLimit": h.gas_limit,
        "nonce": format!("{:#x}", u64::from_be_bytes(h.nonce.0)),
        "mixHash": h.mix_hash,
        "timestamp": h.timestamp,
        "parentHash": h.parent_hash,
    });
    let fields = [
        ("baseFeePerGas", h.base_fee_per_gas),
        ("excessBlobGas", h.excess_blob_gas),
        ("blobGasUsed", h.blob_gas_used),
    ];
    for (field, value) in fields {
        if let Some(value) = value {
            genesis[field] = json!(value);
        }
    }
    ChainSpec::from_json(&genesis.to_string()).map_err(|e| format!("genesis: {e}"))
}

/// The state root of `postState`, computed by Veil's trie.
fn post_state_root(case: &BlockchainTestCase) -> Option<Result<B256, String>> {
    let post = case.post_state.as_ref()?;
    let mut diff = StateDiff::default();
    for (address, account) in post {
        let storage = account.storage.iter().map(|(k, v)| (*k, *v));
        veil_evm::push_alloc_account(
            &mut diff,
            *address,
            account.balance,
            account.nonce.saturating_to(),
            &account.code,
            storage,
        );
    }
    let kv: Arc<dyn KvStore> = Arc::new(InMemoryKv::new());
    let root = StateDb::new(kv).apply(
        StateNamespace::PUBLIC,
        EMPTY_ROOT_HASH,
        &diff,
        &mut WriteBatch::new(),
    );
    Some(root.map_err(|e| e.to_string()))
}

fn run_case(case: &BlockchainTestCase) -> Outcome {
    let Some(fork) = fork_of(&case.network) else {
        return Outcome::Skip(format!(
            "network {:?}: transition networks are not run",
            case.network
        ));
    };
    let spec = match genesis_of(case, fork) {
        Ok(spec) => spec,
        Err(e) => return Outcome::Fail(e),
    };
    let kv: Arc<dyn KvStore> = Arc::new(InMemoryKv::new());
    let genesis = match Chain::init(&kv, &spec) {
        Ok(hash) => hash,
        Err(e) => return Outcome::Fail(format!("genesis: {e}")),
    };
    if genesis != case.genesis_block_header.hash {
        return Outcome::Fail(format!(
            "genesis hash {genesis}, expected {}",
            case.genesis_block_header.hash
        ));
    }
    let chain = match Chain::open(kv) {
        Ok(chain) => chain,
        Err(e) => return Outcome::Fail(format!("opening the chain: {e}")),
    };
    let (mut imported, mut refused) = (0, 0);
    for (index, fixture) in case.blocks.iter().enumerate() {
        let expected = fixture.expect_exception.as_deref();
        let head_before = chain.head().0;
        let result = Block::decode(&mut fixture.rlp.as_ref())
            .map_err(|e| format!("undecodable block: {e}"))
            .and_then(|block| {
                chain.import(block, &Default::default()).map_err(|e| match e {
                    // A competing branch: Veil's chains are final and keep none.
                    ImportError::NotOnHead { .. } => format!("side:{e}"),
                    other => other.to_string(),
                })
            });
        match (result, expected) {
            (Err(reason), _) if reason.starts_with("side:") => {
                return Outcome::Skip(format!(
                    "block {index} builds on another branch: Veil's chains are final (Raft, \
                     QBFT) and keep no fork choice between branches"
                ))
            }
            (Ok(_), None) => imported += 1,
            (Err(_), Some(_)) => {
                if chain.head().0 != head_before {
                    return Outcome::Fail(format!("block {index} was refused but moved the head"));
                }
                refused += 1;
            }
            (Ok(block), Some(exception)) => {
                return Outcome::Fail(format!(
                    "block {index} ({}) was imported but must be refused ({exception})",
                    block.hash
                ))
            }
            (Err(reason), None) if reason.contains("blob transaction (type 3)") => {
                return Outcome::Skip(format!(
                    "block {index} holds a blob transaction, which Veil refuses: {reason}"
                ))
            }
            (Err(reason), None) => {
                return Outcome::Fail(format!("block {index} was refused: {reason}"))
            }
        }
    }
    let (head, header) = chain.head();
    if head != case.lastblockhash {
        return Outcome::Fail(format!(
            "head {head}, expected lastblockhash {}",
            case.lastblockhash
        ));
    }
    match post_state_root(case) {
        Some(Ok(root)) if root != header.state_root => {
            return Outcome::Fail(format!(
                "state root {} differs from postState's {root}",
                header.state_root
            ))
        }
        Some(Err(e)) => return Outcome::Fail(format!("postState: {e}")),
        _ => {}
    }
    Outcome::Pass { imported, refused }
}

/// Runs the fixtures, writing a line per test to `out`.
pub fn run_files(paths: &[PathBuf], out: &mut impl std::io::Write) -> std::io::Result<Summary> {
    let mut summary = Summary::default();
    for file in crate::fixture_run::fixture_files(paths) {
        let name = file
            .file_name()
            .map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
        let suite = std::fs::read_to_string(&file).map_err(|e| e.to_string()).and_then(|text| {
            serde_json::from_str::<BlockchainTest>(&text).map_err(|e| e.to_string())
        });
        let suite = match suite {
            Ok(suite) => suite,
            Err(e) => {
                summary.failed += 1;
                writeln!(out, "FAIL {name}: not a blockchain test: {e}")?;
                continue;
            }
        };
        for (test, case) in &suite.0 {
            let network = format!("{:?}", case.network);
            match run_case(case) {
                Outcome::Pass { imported, refused } => {
                    summary.ran += 1;
                    summary.passed += 1;
                    summary.blocks_imported += imported;
                    summary.blocks_refused += refused;
                    *summary.passed_per_network.entry(network).or_default() += 1;
                    writeln!(out, "PASS {name} {test} ({imported} imported, {refused} refused)")?;
                }
                Outcome::Fail(reason) => {
                    summary.ran += 1;
                    summary.failed += 1;
                    writeln!(out, "FAIL {name} {test}: {reason}")?;
                }
                Outcome::Skip(reason) => {
                    summary.skipped += 1;
                    writeln!(out, "SKIP {name} {test}: {reason}")?;
                }
            }
        }
    }
    let networks: Vec<String> =
        summary.passed_per_network.iter().map(|(n, c)| format!("{n} {c}")).collect();
    writeln!(out, "passed per network: {}", networks.join(", "))?;
    writeln!(
        out,
        "blocktest: {} ran, {} passed, {} failed, {} skipped; {} blocks imported, {} refused as expected",
        summary.ran,
        summary.passed,
        summary.failed,
        summary.skipped,
        summary.blocks_imported,
        summary.blocks_refused
    )?;
    Ok(summary)
}

/// The command: exit status 1 when anything failed.
pub fn run(paths: &[PathBuf]) -> ExitCode {
    let stdout = std::io::stdout();
    crate::fixture_run::exit_code(run_files(paths, &mut stdout.lock()).map(|s| s.failed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_file_fails_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.json");
        std::fs::write(&file, "{").unwrap();
        let mut out = Vec::new();
        let summary = run_files(&[file], &mut out).unwrap();
        assert_eq!(summary.failed, 1);
        assert!(String::from_utf8(out).unwrap().contains("FAIL bad.json: not a blockchain test"));
    }

    #[test]
    fn the_path_of_a_missing_file_is_itself() {
        let missing = std::path::Path::new("/nonexistent/x.json").to_path_buf();
        assert_eq!(
            crate::fixture_run::fixture_files(std::slice::from_ref(&missing)),
            vec![missing]
        );
    }
}
