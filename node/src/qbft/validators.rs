//! The validators after each committed block, kept over the chain's headers: the genesis
//! extra's list, changed by header votes ([`Snapshot::apply`]) and by transitions' `validators`
//! lists — or, in validator-contract mode, the contract's `getValidators()` on the state after
//! the block (never header replay: GoQuorum #1728). The engine asks it for the set of the height it decides, and block sync for the set a
//! synced block's seals must come from. Snapshots are kept for recent blocks only; an older
//! one is rebuilt from the nearest kept one (from genesis at worst) by replaying headers.

use alloy_consensus::Header;
use alloy_primitives::Address;
use std::{collections::BTreeMap, sync::Arc};
use veil_chain::Chain;
use veil_config::{QbftConfig, QbftParams, ValidatorSelection};
use veil_consensus::qbft::Snapshot;
use veil_primitives::istanbul::QbftExtra;

/// Snapshots kept in memory (GoQuorum keeps 128).
const KEPT: usize = 256;
/// The selector of `getValidators()`.
const GET_VALIDATORS: [u8; 4] = [0xb7, 0xab, 0x4d, 0xb5];

/// The chain's validator sets.
#[derive(Debug)]
pub struct Validators {
    chain: Arc<Chain>,
    config: QbftConfig,
    flags: (u64, u64),
    snapshots: BTreeMap<u64, Snapshot>,
}

impl Validators {
    /// Reads the genesis validators of `chain` (its extra's, or in validator-contract mode
    /// the contract's).
    pub fn new(chain: Arc<Chain>, config: QbftConfig, flags: (u64, u64)) -> eyre::Result<Self> {
        let genesis = header_at(&chain, 0)?;
        let extra = QbftExtra::decode(&genesis.extra_data)
            .map_err(|e| eyre::eyre!("the genesis extraData is not a QBFT extra: {e}"))?;
        let mut validators = Self { chain, config, flags, snapshots: BTreeMap::new() };
        let first = match validators.params(1).selection {
            ValidatorSelection::Contract(address) => validators.contract_validators(address, 0)?,
            ValidatorSelection::BlockHeader => extra.validators,
        };
        validators.snapshots.insert(0, Snapshot::new(0, first));
        Ok(validators)
    }

    /// The parameters in force at block `number`.
    pub fn params(&self, number: u64) -> QbftParams {
        self.config.params_at(number, self.flags)
    }

    /// The snapshot after block `number` (the validators of block `number + 1`). In
    /// validator-contract mode (for block `number + 1`) the set is the contract's
    /// `getValidators()` on the state after block `number` — never header replay (GoQuorum
    /// #1728) — and carries no votes. Either is kept for later asks.
    pub fn after(&mut self, number: u64) -> eyre::Result<Snapshot> {
        if let Some(snapshot) = self.snapshots.get(&number) {
            return Ok(snapshot.clone());
        }
        let snapshot = match self.params(number + 1).selection {
            ValidatorSelection::Contract(address) => {
                Snapshot::new(number, self.contract_validators(address, number)?)
            }
            ValidatorSelection::BlockHeader => self.replay_to(number)?,
        };
        self.snapshots.insert(number, snapshot.clone());
        while self.snapshots.len() > KEPT {
            // Keep genesis; drop the oldest after it.
            let Some(&oldest) = self.snapshots.keys().nth(1) else { break };
            self.snapshots.remove(&oldest);
        }
        Ok(snapshot)
    }

    /// The header-mode snapshot after block `number`, replayed from the nearest kept one.
    fn replay_to(&self, number: u64) -> eyre::Result<Snapshot> {
        let (&from, start) = self
            .snapshots
            .range(..number)
            .next_back()
            .ok_or_else(|| eyre::eyre!("no validator snapshot below block {number}"))?;
        let mut snapshot = start.clone();
        for n in from + 1..=number {
            let header = header_at(&self.chain, n)?;
            let params = self.params(n);
            if let ValidatorSelection::Contract(address) = params.selection {
                // A block of contract mode carries no votes: the set after it is the
                // contract's (what a later switch back to header votes starts from).
                snapshot = Snapshot::new(n, self.contract_validators(address, n)?);
                continue;
            }
            snapshot = snapshot.apply(&header, params.epoch_length).map_err(|e| eyre::eyre!(e))?;
            // A transition's list replaces the set after its block.
            if let Some(list) = params.validators {
                snapshot = Snapshot::new(n, list);
            }
        }
        Ok(snapshot)
    }

    /// `getValidators()` of `contract` on the state after block `number`.
    fn contract_validators(&self, contract: Address, number: u64) -> eyre::Result<Vec<Address>> {
        let header = header_at(&self.chain, number)?;
        let state = self.chain.state().at_root(header.state_root);
        let db = veil_evm::StateDatabase::new(state, self.chain.store().clone());
        let mut simulation = veil_evm::Simulation::new(
            self.chain.spec(),
            &veil_evm::BlockContext::from_header(&header),
            db,
        )
        .for_calls();
        let output = simulation
            .call(contract, GET_VALIDATORS.into(), 50_000_000)
            .map_err(|e| eyre::eyre!("getValidators() of {contract} after block {number}: {e}"))?;
        let decoded =
            alloy_dyn_abi::DynSolType::Array(Box::new(alloy_dyn_abi::DynSolType::Address))
                .abi_decode(&output)
                .map_err(|e| {
                    eyre::eyre!("getValidators() of {contract} answered no address[]: {e}")
                })?;
        let mut validators: Vec<Address> = decoded
            .as_array()
            .unwrap_or_default()
            .iter()
            .filter_map(|value| value.as_address())
            .collect();
        validators.sort();
        validators.dedup();
        Ok(validators)
    }

    /// Whether block `number` takes its validators from a contract.
    pub fn contract_mode(&self, number: u64) -> bool {
        matches!(self.params(number).selection, ValidatorSelection::Contract(_))
    }

    /// The validators of block `number`.
    pub fn of_block(&mut self, number: u64) -> eyre::Result<Vec<Address>> {
        Ok(self.after(number.saturating_sub(1))?.validators)
    }

    /// The import rule for a block from elsewhere: its proposer and at least a quorum of its
    /// committed seals are validators after its parent.
    pub fn check_sealed(&mut self, header: &Header) -> Result<(), String> {
        let validators = self.of_block(header.number).map_err(|e| e.to_string())?;
        if validators.binary_search(&header.beneficiary).is_err() {
            return Err(format!(
                "block {} by {}, not a validator",
                header.number, header.beneficiary
            ));
        }
        let quorum = self.params(header.number).quorum(validators.len());
        veil_consensus::qbft::check_committed_seals(header, &validators, quorum).map(|_| ())
    }
}

fn header_at(chain: &Chain, number: u64) -> eyre::Result<Header> {
    let store = chain.store();
    let hash = store
        .canonical_hash(number)?
        .ok_or_else(|| eyre::eyre!("no block {number} in the chain"))?;
    store.header(hash)?.ok_or_else(|| eyre::eyre!("no header for block {number}"))
}
