//! A sender's run of its own private transaction before it is sent (privacy enhancements need
//! the contracts it affects and its execution hash): on the latest states, as the next block.

use super::Chain;
use alloy_primitives::Bytes;
use std::sync::Arc;
use veil_evm::{simulate_private, ExecutionError, PrivateInputs, PrivateSimulation};
use veil_primitives::RecoveredTx;
use veil_storage::StateNamespace;

impl Chain {
    /// Runs private transaction `tx` with its `payload` as a party would in the next block,
    /// keeping nothing.
    pub fn simulate_private(
        &self,
        tx: &RecoveredTx,
        payload: Bytes,
    ) -> Result<PrivateSimulation, ExecutionError> {
        let (parent_hash, parent) = self.head();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(parent.timestamp, |now| now.as_secs());
        let template = super::HeaderTemplate {
            beneficiary: parent.beneficiary,
            timestamp: now,
            mix_hash: parent.mix_hash,
            ..Default::default()
        };
        let context = self.next_context(parent_hash, &parent, &template);
        let number = context.number;
        let inputs = PrivateInputs {
            state: self.state.latest(StateNamespace::PRIVATE),
            public: self.latest_state(),
            payloads: Default::default(),
            enhancements: self.spec.quorum().privacy_enhancements_at(number),
            contracts: Arc::new(crate::contract_privacy::StoredContractPrivacy(self.kv.clone())),
        };
        simulate_private(&self.spec, &context, inputs, self.store.clone(), tx, payload)
    }
}
