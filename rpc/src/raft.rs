//! `raft_*`, in GoQuorum's shapes: `raft_role`, `raft_leader`, `raft_cluster`, and the
//! membership changes `raft_addPeer`, `raft_addLearner`, `raft_promoteToPeer`,
//! `raft_removePeer`, which wait for the cluster's answer without holding a thread.

use super::{async_method, error::server_error, method, network::RaftApi, Module, RpcContext};
use jsonrpsee::core::RegisterMethodError;
use serde_json::json;
use std::sync::Arc;

fn raft(context: &RpcContext) -> Result<&Arc<dyn RaftApi>, jsonrpsee::types::ErrorObjectOwned> {
    context.raft.as_ref().ok_or_else(|| {
        server_error(if context.bft.is_some() {
            "raft is not the consensus of this node: its genesis runs QBFT (see istanbul_* and qbft_*)"
        } else {
            "raft is not enabled on this node (start it with --raft)"
        })
    })
}

/// `raft_*`.
pub(super) fn module(context: Arc<RpcContext>) -> Result<Module, RegisterMethodError> {
    let mut m = Module::from_arc(context);
    method(&mut m, "raft_role", |c, _| Ok(raft(c)?.view().role))?;
    method(&mut m, "raft_leader", |c, _| {
        let view = raft(c)?.view();
        view.members
            .into_iter()
            .find(|member| member.id == view.leader)
            .map(|leader| leader.node_id)
            .ok_or_else(|| server_error("no leader is currently elected"))
    })?;
    method(&mut m, "raft_cluster", |c, _| {
        let view = raft(c)?.view();
        Ok(view
            .members
            .iter()
            .map(|member| {
                let role = if member.id == view.leader {
                    "minter"
                } else if member.learner {
                    "learner"
                } else {
                    "verifier"
                };
                json!({
                    "raftId": member.id,
                    "nodeId": member.node_id,
                    "hostname": member.host,
                    "p2pPort": member.p2p_port,
                    "raftPort": member.raft_port,
                    "role": role,
                    "nodeActive": member.connected,
                    // Veil's addition, on the leader: the member answered raft within the
                    // last election timeout.
                    "raftActive": member.recently_active,
                })
            })
            .collect::<Vec<_>>())
    })?;
    async_method(&mut m, "raft_addPeer", |c, a| async move {
        let enode: String = a.at_most(1)?.required(0)?;
        raft(&c)?.add(enode, false).await.map_err(Into::into)
    })?;
    async_method(&mut m, "raft_addLearner", |c, a| async move {
        let enode: String = a.at_most(1)?.required(0)?;
        raft(&c)?.add(enode, true).await.map_err(Into::into)
    })?;
    async_method(&mut m, "raft_promoteToPeer", |c, a| async move {
        let id: u64 = a.at_most(1)?.required(0)?;
        raft(&c)?.promote(id).await.map_err(Into::into)
    })?;
    async_method(&mut m, "raft_removePeer", |c, a| async move {
        let id: u64 = a.at_most(1)?.required(0)?;
        raft(&c)?.remove(id).await.map_err(Into::into).map(|()| serde_json::Value::Null)
    })?;
    Ok(m)
}
