//! Running ethereum/tests GeneralStateTests through Veil's state layer, like geth's
//! `evm statetest`: the pre-state is written with [`StateDb`], the transaction runs on revm over
//! our [`StateDatabase`], and the post-state root comes from our trie.

use crate::{bundle_to_diff, CollisionGuard, StateDatabase, StateTestBlockHashes};
use alloy_primitives::{keccak256, Log, B256};
use alloy_trie::EMPTY_ROOT_HASH;
use revm::{
    context::CfgEnv,
    database::{states::bundle_state::BundleRetention, State},
    primitives::hardfork::SpecId,
    Context, InspectCommitEvm, MainBuilder, MainContext,
};
use revm_statetest_types::{SpecName, TestSuite, TestUnit};
use std::{path::Path, sync::Arc};
use veil_storage::{
    AccountChange, AccountInfo, AccountUpdate, InMemoryKv, KvStore, StateDb, StateDiff,
    StateNamespace, StorageError, WriteBatch,
};

/// The outcome of one case (one fork, one index).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaseOutcome {
    /// Post-state root and logs hash (or the expected exception) matched.
    Pass,
    /// Something differed.
    Fail(String),
    /// Not run, with the reason.
    Skipped(String),
}

/// One case of a state test file.
#[derive(Clone, Debug)]
pub struct CaseResult {
    /// Test name within the file.
    pub test: String,
    /// Fork name as the fixture spells it.
    pub fork: String,
    /// Index within the fork's list.
    pub index: usize,
    /// What happened.
    pub outcome: CaseOutcome,
}

/// A fixture file that could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum StateTestError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// File.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a state test.
    #[error("{path} is not a state test: {source}")]
    Parse {
        /// File.
        path: String,
        /// Why.
        source: serde_json::Error,
    },
    /// Writing the pre-state failed.
    #[error("pre-state: {0}")]
    Storage(#[from] StorageError),
}

/// Runs every case of one state-test file.
pub fn run_state_test_file(path: &Path) -> Result<Vec<CaseResult>, StateTestError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|source| StateTestError::Read { path: display.clone(), source })?;
    let suite: TestSuite = serde_json::from_str(&text)
        .map_err(|source| StateTestError::Parse { path: display, source })?;
    let mut results = Vec::new();
    for (name, unit) in &suite.0 {
        run_unit(name, unit, &mut results)?;
    }
    Ok(results)
}

/// Tests whose Constantinople results depend on EIP-1283 (their Petersburg ones pass).
const NEEDS_EIP1283: &[&str] = &["sstoreGas", "CREATE_HighNonce", "CREATE2_HighNonce"];

fn pre_state_diff(unit: &TestUnit) -> StateDiff {
    let mut diff = StateDiff::default();
    for (address, account) in &unit.pre {
        let storage = account.storage.iter().map(|(k, v)| (*k, *v));
        crate::push_alloc_account(
            &mut diff,
            *address,
            account.balance,
            account.nonce,
            &account.code,
            storage,
        );
    }
    diff
}

fn logs_hash(logs: &[Log]) -> B256 {
    let mut out = Vec::new();
    alloy_rlp::encode_list(logs, &mut out);
    keccak256(out)
}

fn run_unit(
    name: &str,
    unit: &TestUnit,
    results: &mut Vec<CaseResult>,
) -> Result<(), StateTestError> {
    let kv: Arc<dyn KvStore> = Arc::new(InMemoryKv::new());
    let state_db = StateDb::new(kv.clone());
    let mut batch = WriteBatch::new();
    let pre_root = state_db.apply(
        StateNamespace::PUBLIC,
        EMPTY_ROOT_HASH,
        &pre_state_diff(unit),
        &mut batch,
    )?;
    kv.write(batch)?;

    for (spec_name, cases) in &unit.post {
        let fork = format!("{spec_name:?}");
        let spec = match spec_name {
            SpecName::Unknown => Err("unknown fork name"),
            // Constantinople as first specified differs from Petersburg only by EIP-1283 (net
            // gas metering for SSTORE), which revm does not implement: these cases run under
            // Petersburg, except the few that depend on it.
            SpecName::Constantinople if NEEDS_EIP1283.contains(&name) => Err(
                "depends on EIP-1283 SSTORE metering, which only the never-activated \
                 Constantinople had (revm lacks it; geth runs a Constantinople block as Petersburg)",
            ),
            SpecName::Constantinople => Ok(SpecId::PETERSBURG),
            SpecName::ByzantiumToConstantinopleAt5 => {
                Err("a transition fork needs a chain of blocks, not one transaction")
            }
            other => Ok(other.to_spec_id()),
        };
        for (index, case) in cases.iter().enumerate() {
            let outcome = match spec {
                Err(reason) => CaseOutcome::Skipped(reason.to_string()),
                Ok(spec) => {
                    let rejected_root = rejected_root(unit, spec, &state_db, pre_root)?;
                    run_case(unit, spec, case, &state_db, (pre_root, rejected_root))?
                }
            };
            results.push(CaseResult { test: name.to_string(), fork: fork.clone(), index, outcome });
        }
    }
    Ok(())
}

fn run_case(
    unit: &TestUnit,
    spec: SpecId,
    case: &revm_statetest_types::Test,
    state_db: &StateDb,
    (pre_root, rejected_root): (B256, B256),
) -> Result<CaseOutcome, StateTestError> {
    let mut cfg = CfgEnv::default();
    cfg.chain_id = unit.env.current_chain_id.map_or(1, |id| id.to());
    cfg.set_spec_and_mainnet_gas_params(spec);
    cfg.set_max_blobs_per_tx(
        if spec.is_enabled_in(SpecId::PRAGUE) && !spec.is_enabled_in(SpecId::OSAKA) {
            9
        } else {
            6
        },
    );
    let block = unit.block_env(&mut cfg);
    let tx = match case.tx_env(unit) {
        Ok(tx) => tx,
        Err(e) if case.expect_exception.is_some() => {
            return Ok(check_root(
                rejected_root,
                case.hash,
                "exception while building the tx",
                &e.to_string(),
            ))
        }
        Err(e) => return Ok(CaseOutcome::Fail(format!("cannot build transaction: {e}"))),
    };
    let db = StateDatabase::new(state_db.latest(StateNamespace::PUBLIC), StateTestBlockHashes);
    let mut state = State::builder().with_database_ref(db).with_bundle_update().build();
    let result = {
        let mut evm = Context::mainnet()
            .with_block(block)
            .with_cfg(cfg)
            .with_db(&mut state)
            .build_mainnet_with_inspector(CollisionGuard);
        evm.inspect_tx_commit(tx)
    };
    let (logs, post_root) = match (&result, &case.expect_exception) {
        (Err(e), Some(_)) => {
            return Ok(check_root(rejected_root, case.hash, "expected exception", &e.to_string()))
        }
        (Err(e), None) => return Ok(CaseOutcome::Fail(format!("unexpected exception: {e}"))),
        (Ok(_), Some(expected)) => {
            return Ok(CaseOutcome::Fail(format!(
                "expected exception {expected}, execution succeeded"
            )))
        }
        (Ok(outcome), None) => {
            state.merge_transitions(BundleRetention::PlainState);
            let diff = bundle_to_diff(&state.take_bundle());
            let mut scratch = WriteBatch::new();
            let root = state_db.apply(StateNamespace::PUBLIC, pre_root, &diff, &mut scratch)?;
            (outcome.logs().to_vec(), root)
        }
    };
    let got_logs = logs_hash(&logs);
    Ok(if got_logs != case.logs {
        CaseOutcome::Fail(format!("logs hash {got_logs}, expected {}", case.logs))
    } else if post_root != case.hash {
        CaseOutcome::Fail(format!("state root {post_root}, expected {}", case.hash))
    } else {
        CaseOutcome::Pass
    })
}

/// The state root after a rejected transaction: the pre-state, with the coinbase touched by the
/// block's (zero) reward as geth's state-test runner does. Before EIP-161 that creates the
/// coinbase as an empty account when it does not exist; after it, an empty coinbase is removed.
fn rejected_root(
    unit: &TestUnit,
    spec: SpecId,
    state_db: &StateDb,
    pre_root: B256,
) -> Result<B256, StateTestError> {
    let coinbase = unit.env.current_coinbase;
    let existing = unit.pre.get(&coinbase);
    let update = match existing {
        None if !spec.is_enabled_in(SpecId::SPURIOUS_DRAGON) => {
            AccountUpdate::Updated(AccountInfo::default())
        }
        Some(account)
            if spec.is_enabled_in(SpecId::SPURIOUS_DRAGON)
                && account.nonce == 0
                && account.balance.is_zero()
                && account.code.is_empty() =>
        {
            AccountUpdate::Destroyed
        }
        _ => return Ok(pre_root),
    };
    let diff = StateDiff {
        accounts: vec![AccountChange {
            address: coinbase,
            update,
            wipe_storage: false,
            storage: vec![],
        }],
        ..Default::default()
    };
    Ok(state_db.apply(StateNamespace::PUBLIC, pre_root, &diff, &mut WriteBatch::new())?)
}

fn check_root(root: B256, expected: B256, what: &str, detail: &str) -> CaseOutcome {
    if root == expected {
        CaseOutcome::Pass
    } else {
        CaseOutcome::Fail(format!("{what} ({detail}) but state root {root} != expected {expected}"))
    }
}
