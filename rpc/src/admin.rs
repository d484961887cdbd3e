//! `web3_*`, `net_*`, `admin_*` and `rpc_modules`.

use super::{error::server_error, method, network::Peers, Api, Module, RpcContext};
use alloy_primitives::{keccak256, Bytes, U64};
use jsonrpsee::{core::RegisterMethodError, types::ErrorObjectOwned, RpcModule};
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

/// `net_*`. A node without p2p has no peers.
pub(super) fn net_module(context: Arc<RpcContext>) -> Result<Module, RegisterMethodError> {
    let mut m = Module::from_arc(context);
    method(&mut m, "net_version", |c, _| Ok(c.chain.spec().chain_id().to_string()))?;
    method(&mut m, "net_listening", |_, _| Ok(true))?;
    method(&mut m, "net_peerCount", |c, _| {
        Ok(U64::from(c.peers.as_ref().map_or(0, |p| p.connected().len())))
    })?;
    Ok(m)
}

fn peers(context: &RpcContext) -> Result<&Arc<dyn Peers>, ErrorObjectOwned> {
    context
        .peers
        .as_ref()
        .ok_or_else(|| server_error("this node has no p2p (start it with --raft)"))
}

fn enode_arg(args: &super::Args) -> Result<String, ErrorObjectOwned> {
    args.at_most(1)?.required(0)
}

/// `admin_*`.
pub(super) fn admin_module(context: Arc<RpcContext>) -> Result<Module, RegisterMethodError> {
    let mut m = Module::from_arc(context);
    method(&mut m, "admin_datadir", |c, _| Ok(c.datadir.display().to_string()))?;
    method(&mut m, "admin_peers", |c, _| {
        let connected = c.peers.as_ref().map(|p| p.connected()).unwrap_or_default();
        Ok(connected.into_iter().map(|id| json!({ "id": id })).collect::<Vec<_>>())
    })?;
    method(&mut m, "admin_addPeer", |c, a| {
        peers(c)?.add(&enode_arg(a)?)?;
        Ok(true)
    })?;
    method(&mut m, "admin_removePeer", |c, a| {
        peers(c)?.remove(&enode_arg(a)?)?;
        Ok(true)
    })?;
    method(&mut m, "admin_nodeInfo", |c, _| {
        let (head_hash, head) = c.chain.head();
        let genesis = c.chain.store().canonical_hash(0).ok().flatten().unwrap_or_default();
        let (enode, id) = c.peers.as_ref().and_then(|p| p.enode()).unzip();
        Ok(json!({
            "enode": enode,
            "id": id,
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
