//! `raft_*`, in GoQuorum's shapes: `raft_role`, `raft_leader`, `raft_cluster`.

use super::{blocking, error::server_error, method, Module, RpcContext};
use crate::raft::{RaftCommand, RaftHandle, RaftStatus};
use jsonrpsee::core::RegisterMethodError;
use serde_json::json;
use std::sync::Arc;

fn status(context: &RpcContext) -> Result<RaftStatus, jsonrpsee::types::ErrorObjectOwned> {
    Ok(handle(context)?.status.borrow().clone())
}

pub(super) fn handle(
    context: &RpcContext,
) -> Result<&RaftHandle, jsonrpsee::types::ErrorObjectOwned> {
    context
        .raft
        .as_ref()
        .ok_or_else(|| server_error("raft is not enabled on this node (start it with --raft)"))
}

/// Sends a membership command and waits for the raft task's answer.
fn ask<T>(
    context: &RpcContext,
    command: impl FnOnce(tokio::sync::oneshot::Sender<Result<T, String>>) -> RaftCommand,
) -> Result<T, jsonrpsee::types::ErrorObjectOwned> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    handle(context)?.commands.try_send(command(reply)).map_err(|e| match e {
        tokio::sync::mpsc::error::TrySendError::Full(_) => {
            server_error("raft is busy: too many membership commands waiting; retry")
        }
        tokio::sync::mpsc::error::TrySendError::Closed(_) => server_error("raft has stopped"),
    })?;
    answer.blocking_recv().map_err(|_| server_error("raft has stopped"))?.map_err(server_error)
}

pub(super) fn enode_arg(
    args: &super::Args,
) -> Result<veil_p2p::Enode, jsonrpsee::types::ErrorObjectOwned> {
    let text: String = args.at_most(1)?.required(0)?;
    text.parse().map_err(|e: String| super::error::invalid_params(e))
}

/// `raft_*`.
pub(super) fn module(context: Arc<RpcContext>) -> Result<Module, RegisterMethodError> {
    let mut m = Module::from_arc(context);
    method(&mut m, "raft_role", |c, _| Ok(status(c)?.role))?;
    method(&mut m, "raft_leader", |c, _| {
        let status = status(c)?;
        status
            .members
            .get(&status.leader)
            .map(|e| alloy_primitives::hex::encode(e.public))
            .ok_or_else(|| server_error("no leader is currently elected"))
    })?;
    method(&mut m, "raft_cluster", |c, _| {
        let status = status(c)?;
        Ok(status
            .members
            .iter()
            .filter(|(id, _)| status.voters.contains(id) || status.learners.contains(id))
            .map(|(id, enode)| {
                let role = if *id == status.leader {
                    "minter"
                } else if status.learners.contains(id) {
                    "learner"
                } else {
                    "verifier"
                };
                json!({
                    "raftId": id,
                    "nodeId": alloy_primitives::hex::encode(enode.public),
                    "hostname": enode.host,
                    "p2pPort": enode.port,
                    "raftPort": enode.raft_port.unwrap_or(enode.port),
                    "role": role,
                    "nodeActive": *id == status.id || status.peers.iter().any(|p| enode.peer_id().is_ok_and(|e| e == *p)),
                    // Veil's addition, on the leader: the member answered raft within the
                    // last election timeout.
                    "raftActive": (status.id == status.leader)
                        .then(|| *id == status.id || status.recently_active.contains(id)),
                })
            })
            .collect::<Vec<_>>())
    })?;
    blocking(&mut m, "raft_addPeer", |c, a| {
        let enode = enode_arg(a)?;
        ask(c, |reply| RaftCommand::Add { enode, learner: false, reply })
    })?;
    blocking(&mut m, "raft_addLearner", |c, a| {
        let enode = enode_arg(a)?;
        ask(c, |reply| RaftCommand::Add { enode, learner: true, reply })
    })?;
    blocking(&mut m, "raft_promoteToPeer", |c, a| {
        let id: u64 = a.at_most(1)?.required(0)?;
        ask(c, |reply| RaftCommand::Promote { id, reply })
    })?;
    blocking(&mut m, "raft_removePeer", |c, a| {
        let id: u64 = a.at_most(1)?.required(0)?;
        ask(c, |reply| RaftCommand::Remove { id, reply }).map(|()| serde_json::Value::Null)
    })?;
    Ok(m)
}
