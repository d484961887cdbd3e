//! `raft_*`, in GoQuorum's shapes: `raft_role`, `raft_leader`, `raft_cluster`.

use super::{error::server_error, method, Module, RpcContext};
use crate::raft::RaftStatus;
use jsonrpsee::core::RegisterMethodError;
use serde_json::json;
use std::sync::Arc;

fn status(context: &RpcContext) -> Result<RaftStatus, jsonrpsee::types::ErrorObjectOwned> {
    context
        .raft
        .as_ref()
        .map(|r| r.status.borrow().clone())
        .ok_or_else(|| server_error("raft is not enabled on this node (start it with --raft)"))
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
                })
            })
            .collect::<Vec<_>>())
    })?;
    Ok(m)
}
