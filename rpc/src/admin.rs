//! `web3_*`, `net_*`, `admin_*` and `rpc_modules`.

use super::{error::server_error, method, network::Peers, Api, Module, NodeIdentity, RpcContext};
use alloy_primitives::{keccak256, Bytes, U64};
use jsonrpsee::{core::RegisterMethodError, types::ErrorObjectOwned, RpcModule};
use serde_json::json;
use std::{collections::BTreeMap, sync::Arc};

/// `veil[/NAME]/v<version>/<os>-<arch>/rust`, in geth's `Geth/NAME/v…/linux-amd64/go…`
/// pattern (`NAME` from `--identity`).
pub(crate) fn client_version(identity: &NodeIdentity) -> String {
    let name = identity.name.as_ref().map(|n| format!("/{n}")).unwrap_or_default();
    format!(
        "veil{name}/v{}/{}-{}/rust",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// The network id: `--networkid`, else the chain id.
fn network_id(c: &RpcContext) -> u64 {
    c.identity.network_id.unwrap_or_else(|| c.chain.spec().chain_id())
}

/// `enode` with its host replaced by `--nat extip:IP`'s address.
fn with_external_ip(enode: String, identity: &NodeIdentity) -> String {
    let Some(ip) = identity.external_ip else { return enode };
    match (enode.find('@'), enode.rfind(':')) {
        (Some(at), Some(colon)) if colon > at => {
            format!("{}{ip}{}", &enode[..=at], &enode[colon..])
        }
        _ => enode,
    }
}

/// `web3_*`.
pub(super) fn web3_module(context: Arc<RpcContext>) -> Result<Module, RegisterMethodError> {
    let mut m = Module::from_arc(context);
    method(&mut m, "web3_clientVersion", |c, _| Ok(client_version(&c.identity)))?;
    method(&mut m, "web3_sha3", |_, a| Ok(keccak256(a.at_most(1)?.required::<Bytes>(0)?)))?;
    Ok(m)
}

/// `net_*`. A node without p2p has no peers.
pub(super) fn net_module(context: Arc<RpcContext>) -> Result<Module, RegisterMethodError> {
    let mut m = Module::from_arc(context);
    method(&mut m, "net_version", |c, _| Ok(network_id(c).to_string()))?;
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
        let enode = enode.map(|e| with_external_ip(e, &c.identity));
        Ok(json!({
            "enode": enode,
            "id": id,
            "name": client_version(&c.identity),
            "protocols": {
                "eth": {
                    "network": network_id(c),
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
