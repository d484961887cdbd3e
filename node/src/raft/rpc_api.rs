//! The Raft member and its p2p service as the RPC layer sees them: [`RaftHandle`] implements
//! [`veil_rpc::network::Peers`] (`admin_*`, `net_peerCount`) and
//! [`veil_rpc::network::RaftApi`] (`raft_*`).

use super::{RaftCommand, RaftHandle};
use futures::future::BoxFuture;
use tokio::sync::{mpsc::error::TrySendError, oneshot};
use veil_p2p::Enode;
use veil_rpc::network::{Peers, RaftApi, RaftMember, RaftView, Refusal};

fn parse(enode: &str) -> Result<Enode, Refusal> {
    enode.parse().map_err(Refusal::BadArgument)
}

fn peer_of(enode: &str) -> Result<veil_p2p::PeerId, Refusal> {
    parse(enode)?.peer_id().map_err(Refusal::BadArgument)
}

impl Peers for RaftHandle {
    fn connected(&self) -> Vec<String> {
        self.status.borrow().peers.iter().map(ToString::to_string).collect()
    }

    fn enode(&self) -> Option<(String, String)> {
        self.status.borrow().enode.as_ref().map(|enode| (enode.to_string(), enode.id()))
    }

    fn add(&self, enode: &str) -> Result<(), Refusal> {
        self.p2p.add_peer(parse(enode)?);
        Ok(())
    }

    fn remove(&self, enode: &str) -> Result<(), Refusal> {
        self.p2p.remove_peer(peer_of(enode)?);
        Ok(())
    }
}

impl RaftHandle {
    /// Sends a membership command; the answer comes when the raft task has one.
    fn ask<T: Send + 'static>(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<T, String>>) -> RaftCommand,
    ) -> BoxFuture<'static, Result<T, Refusal>> {
        let (reply, answer) = oneshot::channel();
        let sent = self.commands.try_send(command(reply)).map_err(|e| {
            Refusal::Refused(match e {
                TrySendError::Full(_) => {
                    "raft is busy: too many membership commands waiting; retry".into()
                }
                TrySendError::Closed(_) => "raft has stopped".into(),
            })
        });
        Box::pin(async move {
            sent?;
            answer
                .await
                .map_err(|_| Refusal::Refused("raft has stopped".into()))?
                .map_err(Refusal::Refused)
        })
    }
}

impl RaftApi for RaftHandle {
    fn view(&self) -> RaftView {
        let status = self.status.borrow();
        let on_leader = status.id == status.leader;
        let members = status
            .members
            .iter()
            .filter(|(id, _)| status.voters.contains(id) || status.learners.contains(id))
            .map(|(id, enode)| RaftMember {
                id: *id,
                node_id: alloy_primitives::hex::encode(enode.public),
                host: enode.host.clone(),
                p2p_port: enode.port,
                raft_port: enode.raft_port.unwrap_or(enode.port),
                learner: status.learners.contains(id),
                connected: *id == status.id
                    || status.peers.iter().any(|p| enode.peer_id().is_ok_and(|e| e == *p)),
                recently_active: on_leader
                    .then(|| *id == status.id || status.recently_active.contains(id)),
            })
            .collect();
        RaftView { id: status.id, role: status.role, leader: status.leader, members }
    }

    fn add(&self, enode: String, learner: bool) -> BoxFuture<'static, Result<u64, Refusal>> {
        match parse(&enode) {
            Ok(enode) => self.ask(|reply| RaftCommand::Add { enode, learner, reply }),
            Err(refusal) => Box::pin(async move { Err(refusal) }),
        }
    }

    fn promote(&self, id: u64) -> BoxFuture<'static, Result<bool, Refusal>> {
        self.ask(|reply| RaftCommand::Promote { id, reply })
    }

    fn remove(&self, id: u64) -> BoxFuture<'static, Result<(), Refusal>> {
        self.ask(|reply| RaftCommand::Remove { id, reply })
    }
}
