//! Running transactions without committing them. `eth_call`, gas estimation, access lists and
//! tracing all execute here, on a copy-on-write view ([`CacheDB`]) of some block's state: what
//! a run changes stays in the view and never reaches the database.

use crate::{
    cfg_env, public_tx_env, BlockContext, BlockHashes, CollisionGuard, StateDatabase, StateError,
};
use revm::{
    context::{BlockEnv, CfgEnv, TxEnv},
    context_interface::result::{EVMError, ExecutionResult, InvalidTransaction, ResultAndState},
    database::CacheDB,
    handler::MainnetContext,
    Context, DatabaseCommit, InspectEvm, Inspector, MainBuilder, MainContext,
};
use veil_config::ChainSpec;
use veil_primitives::RecoveredTx;
use veil_storage::{StateReader, StorageError};

/// The view a simulation reads and writes.
pub type SimulationDb<S, H> = CacheDB<StateDatabase<S, H>>;

/// Why a simulated transaction did not run.
#[derive(Debug, thiserror::Error)]
pub enum SimulationError {
    /// The transaction is invalid in this state (nonce, funds, gas, ...).
    #[error("{0}")]
    Invalid(String),
    /// Reading state failed.
    #[error("state read failed: {0}")]
    State(#[from] StorageError),
}

fn simulation_error(error: EVMError<StateError>) -> SimulationError {
    match error {
        EVMError::Database(StateError(e)) => SimulationError::State(e),
        EVMError::Transaction(InvalidTransaction::LackOfFundForMaxFee { fee, balance }) => {
            SimulationError::Invalid(format!(
                "insufficient funds for gas * price + value: have {balance} want {fee}"
            ))
        }
        EVMError::Transaction(InvalidTransaction::CallGasCostMoreThanGasLimit {
            initial_gas,
            gas_limit,
        }) => SimulationError::Invalid(format!(
            "intrinsic gas too low: have {gas_limit}, want {initial_gas}"
        )),
        EVMError::Transaction(invalid) => SimulationError::Invalid(invalid.to_string()),
        EVMError::Header(invalid) => SimulationError::Invalid(invalid.to_string()),
        other => SimulationError::Invalid(other.to_string()),
    }
}

/// Transactions run one after another on the state after some block (or within one, after
/// [`Simulation::replay`] of the transactions before).
pub struct Simulation<S, H> {
    db: SimulationDb<S, H>,
    cfg: CfgEnv,
    block: BlockEnv,
    /// Whether geth's call rules apply ([`Simulation::for_calls`]).
    call_rules: bool,
}

impl<S: StateReader, H: BlockHashes> Simulation<S, H> {
    /// A simulation under the rules of `chain` for `block`, reading `db`.
    pub fn new(chain: &ChainSpec, block: &BlockContext, db: StateDatabase<S, H>) -> Self {
        Self {
            db: CacheDB::new(db),
            cfg: cfg_env(chain, block.number, block.timestamp),
            block: block.block_env(chain),
            call_rules: false,
        }
    }

    /// Moves on to `block` (a simulated next block), keeping what the view holds and the
    /// call rules.
    pub fn enter_block(&mut self, chain: &ChainSpec, block: &BlockContext) {
        self.cfg = cfg_env(chain, block.number, block.timestamp);
        self.block = block.block_env(chain);
        if self.call_rules {
            self.apply_call_rules();
        }
    }

    /// geth's rules for calls: no nonce check, no base-fee floor, senders with code allowed and
    /// gas up to the caller's cap even above the block gas limit.
    pub fn for_calls(mut self) -> Self {
        self.call_rules = true;
        self.apply_call_rules();
        self
    }

    fn apply_call_rules(&mut self) {
        self.cfg.disable_nonce_check = true;
        self.cfg.disable_base_fee = true;
        self.cfg.disable_eip3607 = true;
        self.cfg.disable_block_gas_limit = true;
        // Nor EIP-7825's per-transaction cap (Osaka): a call may use what its caller allows.
        self.cfg.tx_gas_limit_cap = Some(u64::MAX);
    }

    /// The view, to apply state overrides before running.
    pub fn db_mut(&mut self) -> &mut SimulationDb<S, H> {
        &mut self.db
    }

    /// The EVM rules calls run under.
    pub fn spec(&self) -> revm::primitives::hardfork::SpecId {
        self.cfg.spec
    }

    /// The block environment calls run in.
    pub fn block_env(&self) -> &BlockEnv {
        &self.block
    }

    fn context(&mut self) -> MainnetContext<&mut SimulationDb<S, H>> {
        Context::mainnet()
            .with_block(self.block.clone())
            .with_cfg(self.cfg.clone())
            .with_db(&mut self.db)
    }

    /// Runs a transaction of the block being replayed and keeps its changes in the view.
    pub fn replay(&mut self, tx: &RecoveredTx) -> Result<ExecutionResult, SimulationError> {
        self.replay_env(public_tx_env(tx))
    }

    /// [`Simulation::replay`] of a transaction given as revm's environment (a private run).
    pub fn replay_env(&mut self, tx: TxEnv) -> Result<ExecutionResult, SimulationError> {
        self.keep_inspected(tx, revm::inspector::NoOpInspector)
    }

    /// Runs `tx` under `inspector` and keeps its changes in the view (a simulated block's
    /// transaction; an inspector may add logs, as geth's transfer tracing does).
    pub fn keep_inspected<I>(
        &mut self,
        tx: TxEnv,
        inspector: I,
    ) -> Result<ExecutionResult, SimulationError>
    where
        I: for<'a> Inspector<MainnetContext<&'a mut SimulationDb<S, H>>>,
    {
        let mut evm = self.context().build_mainnet_with_inspector((CollisionGuard, inspector));
        let outcome = evm.inspect_tx(tx).map_err(simulation_error)?;
        drop(evm);
        self.db.commit(outcome.state);
        Ok(outcome.result)
    }

    /// A read-only call of `to` with `data` from the zero address, as an `eth_call` with no
    /// more than that: its output, or why it did not succeed.
    pub fn call(
        &mut self,
        to: alloy_primitives::Address,
        data: alloy_primitives::Bytes,
        gas_limit: u64,
    ) -> Result<alloy_primitives::Bytes, SimulationError> {
        let tx = TxEnv {
            kind: alloy_primitives::TxKind::Call(to),
            data,
            gas_limit,
            chain_id: Some(self.cfg.chain_id),
            ..Default::default()
        };
        match self.run(tx)? {
            ExecutionResult::Success { output, .. } => Ok(output.into_data()),
            ExecutionResult::Revert { .. } => {
                Err(SimulationError::Invalid("the call reverted".into()))
            }
            ExecutionResult::Halt { reason, .. } => {
                Err(SimulationError::Invalid(format!("the call halted: {reason:?}")))
            }
        }
    }

    /// Runs `tx` and discards its changes.
    pub fn run(&mut self, tx: TxEnv) -> Result<ExecutionResult, SimulationError> {
        let mut evm = self.context().build_mainnet_with_inspector(CollisionGuard);
        Ok(evm.inspect_tx(tx).map_err(simulation_error)?.result)
    }

    /// Runs `tx` under `inspector`, discards its changes, and hands back its outcome with the
    /// state it would write, and the inspector.
    pub fn inspect<I>(
        &mut self,
        tx: TxEnv,
        inspector: I,
    ) -> Result<(ResultAndState, I), SimulationError>
    where
        I: for<'a> Inspector<MainnetContext<&'a mut SimulationDb<S, H>>>,
    {
        let mut evm = self.context().build_mainnet_with_inspector((CollisionGuard, inspector));
        let outcome = evm.inspect_tx(tx).map_err(simulation_error)?;
        Ok((outcome, evm.inspector.1))
    }
}
