//! `web3_*`, `net_*`, `admin_*` and `rpc_modules`.

use super::{method, Api, Module, RpcContext};
use alloy_primitives::{keccak256, Bytes, U64};
use jsonrpsee::{core::RegisterMethodError, RpcModule};
use serde_json::json;
use std::{collections::BTreeMap, sync::Arc};

/// `veil/v<version>/<os>-<arch>/rust`, in geth's `Geth/v…/linux-amd64/go…` pattern.
pub(crate) fn client_version() -> String {
    format!(
        "veil/v{}/{}-{}/rust",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// `web3_*`.
pub(super) fn web3_module(context: Arc<RpcContext>) -> Result<Module, RegisterMethodError> {
    let mut m = Module::from_arc(context);
    method(&mut m, "web3_clientVersion", |_, _| Ok(client_version()))?;
    method(&mut m, "web3_sha3", |_, a| Ok(keccak256(a.at_most(1)?.required::<Bytes>(0)?)))?;
    Ok(m)
}

/// `net_*`. A node without raft has no peers.
pub(super) fn net_module(context: Arc<RpcContext>) -> Result<Module, RegisterMethodError> {
    let mut m = Module::from_arc(context);
    method(&mut m, "net_version", |c, _| Ok(c.chain.spec().chain_id().to_string()))?;
    method(&mut m, "net_listening", |_, _| Ok(true))?;
    method(&mut m, "net_peerCount", |c, _| {
        Ok(U64::from(c.raft.as_ref().map_or(0, |r| r.status.borrow().peers.len())))
    })?;
    Ok(m)
}

/// `admin_*`.
pub(super) fn admin_module(context: Arc<RpcContext>) -> Result<Module, RegisterMethodError> {
    let mut m = Module::from_arc(context);
    method(&mut m, "admin_datadir", |c, _| Ok(c.datadir.display().to_string()))?;
    method(&mut m, "admin_peers", |c, _| {
        let peers = c.raft.as_ref().map(|r| r.status.borrow().peers.clone()).unwrap_or_default();
        Ok(peers.iter().map(|p| json!({ "id": p.to_string() })).collect::<Vec<_>>())
    })?;
    // The tests' fault switch: cut or restore p2p traffic with peers. Only when the node was
    // started with VEIL_TEST_FAULTS=1 in its environment.
    method(&mut m, "admin_testPartition", |c, a| {
        if std::env::var("VEIL_TEST_FAULTS").as_deref() != Ok("1") {
            return Err(super::error::server_error("the fault switch needs VEIL_TEST_FAULTS=1"));
        }
        let raft =
            c.raft.as_ref().ok_or_else(|| super::error::server_error("no p2p without --raft"))?;
        let args = a.at_most(2)?;
        let enodes: Vec<String> = args.required(0)?;
        let cut: bool = args.required(1)?;
        for text in enodes {
            let enode: veil_p2p::Enode =
                text.parse().map_err(|e: String| super::error::invalid_params(e))?;
            let peer = enode.peer_id().map_err(super::error::invalid_params)?;
            raft.p2p.set_blocked(peer, cut);
        }
        Ok(true)
    })?;
    method(&mut m, "admin_addPeer", |c, a| {
        let (raft, enode) = (super::raft::handle(c)?, super::raft::enode_arg(a)?);
        raft.p2p.add_peer(enode);
        Ok(true)
    })?;
    method(&mut m, "admin_removePeer", |c, a| {
        let (raft, enode) = (super::raft::handle(c)?, super::raft::enode_arg(a)?);
        raft.p2p.remove_peer(enode.peer_id().map_err(super::error::invalid_params)?);
        Ok(true)
    })?;
    method(&mut m, "admin_nodeInfo", |c, _| {
        let (head_hash, head) = c.chain.head();
        let genesis = c.chain.store().canonical_hash(0).ok().flatten().unwrap_or_default();
        let enode = c.raft.as_ref().and_then(|r| r.status.borrow().enode.clone());
        Ok(json!({
            "enode": enode.as_ref().map(ToString::to_string),
            "id": enode.as_ref().map(veil_p2p::Enode::id),
            "name": client_version(),
            "protocols": {
                "eth": {
                    "network": c.chain.spec().chain_id(),
                    "genesis": genesis,
                    "head": head_hash,
                    "number": head.number,
                    "config": c.chain.spec().genesis().config,
                }
            }
        }))
    })?;
    Ok(m)
}

/// `rpc_modules`: the namespaces this transport serves, with geth's version "1.0".
pub(super) fn rpc_modules_module(apis: &[Api]) -> Result<RpcModule<()>, RegisterMethodError> {
    let mut m = RpcModule::new(());
    let mut served: BTreeMap<&'static str, &'static str> =
        apis.iter().map(|api| (api.name(), "1.0")).collect();
    served.insert(Api::Rpc.name(), "1.0");
    let served = json!(served);
    m.register_method("rpc_modules", move |_, _, _| served.clone())?;
    Ok(m)
}
