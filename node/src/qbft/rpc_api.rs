//! The QBFT engine and its p2p service as the RPC layer sees them: [`QbftRpc`] implements
//! [`veil_rpc::network::BftApi`] (`istanbul_*`, `qbft_*`) and [`veil_rpc::network::Peers`]
//! (`admin_*`, `net_peerCount`).

use super::{validators::Validators, QbftStatus};
use alloy_primitives::Address;
use parking_lot::Mutex;
use std::{collections::BTreeMap, sync::Arc};
use tokio::sync::watch;
use veil_p2p::{Enode, P2pHandle};
use veil_rpc::network::{BftApi, BftView, Peers, Refusal};

/// This proposer's pending votes (`istanbul_propose`): address → add.
pub type Proposals = Arc<Mutex<BTreeMap<Address, bool>>>;

/// What RPC reaches of a running QBFT engine.
#[derive(Clone, Debug)]
pub struct QbftRpc {
    pub(super) status: watch::Receiver<QbftStatus>,
    pub(super) validators: Arc<Mutex<Validators>>,
    pub(super) proposals: Proposals,
    pub(super) p2p: P2pHandle,
    pub(super) enode: Enode,
}

impl BftApi for QbftRpc {
    fn view(&self) -> BftView {
        let status = self.status.borrow();
        BftView { address: status.address, round: status.view }
    }

    fn validators_after(&self, number: u64) -> Result<Vec<Address>, Refusal> {
        self.validators
            .lock()
            .after(number)
            .map(|s| s.validators)
            .map_err(|e| Refusal::Refused(e.to_string()))
    }

    fn pending_votes(&self) -> BTreeMap<Address, bool> {
        self.proposals.lock().clone()
    }

    fn propose(&self, address: Address, add: bool) {
        self.proposals.lock().insert(address, add);
    }

    fn discard(&self, address: Address) {
        self.proposals.lock().remove(&address);
    }
}

impl Peers for QbftRpc {
    fn connected(&self) -> Vec<String> {
        self.p2p.connected().borrow().iter().map(ToString::to_string).collect()
    }

    fn enode(&self) -> Option<(String, String)> {
        Some((self.enode.to_string(), self.enode.id()))
    }

    fn add(&self, enode: &str) -> Result<(), Refusal> {
        self.p2p.add_peer(enode.parse().map_err(Refusal::BadArgument)?);
        Ok(())
    }

    fn remove(&self, enode: &str) -> Result<(), Refusal> {
        let enode: Enode = enode.parse().map_err(Refusal::BadArgument)?;
        self.p2p.remove_peer(enode.peer_id().map_err(Refusal::BadArgument)?);
        Ok(())
    }
}
